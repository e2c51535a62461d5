from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.facilities.models import Facility, facility_perm_q


class InmateQuerySet(models.QuerySet["Inmate"]):
    def restrict(self, user: User | AnonymousUser, codename: str = "view_facility") -> InmateQuerySet:
        """Inmates of the facilities where ``user`` holds ``facilities.<codename>``."""
        return self.filter(facility_perm_q(user, codename, field="facility_id"))


class Inmate(models.Model):
    """A person in custody. The booking number is unique within a facility only."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="inmates")
    booking_number = models.CharField(max_length=32)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    account_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InmateQuerySet.as_manager()

    class Meta:
        ordering = ["facility_id", "booking_number"]
        permissions = [("play_inmate_recordings", "Can play recordings of the inmate")]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "booking_number"], name="inmate_booking_unique_per_facility"
            ),
            models.CheckConstraint(name="inmate_booking_not_blank", condition=~models.Q(booking_number="")),
        ]

    def __str__(self) -> str:
        return f"{self.booking_number} {self.last_name}, {self.first_name}"


class InmateUserObjectPermission(UserObjectPermissionBase):
    """An investigator's grant on one inmate: a guardian row with the facts an auditor needs.

    The expiry is part of every scoped query (``expires_at > now()``), so an expired grant
    stops working without any job having to run. guardian's own ``has_perm`` does not know
    about ``expires_at``: never use it for inmate grants, use the restrict() querysets.
    """

    content_object = models.ForeignKey(Inmate, on_delete=models.CASCADE)
    case_reference = models.CharField(max_length=64, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "content_object", "expires_at"])]


class InmateGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Inmate, on_delete=models.CASCADE)


def inmate_grant_q(user: User | AnonymousUser, codename: str, field: str = "pk") -> Q:
    """Rows whose inmate (``field``) ``user`` holds an unexpired ``inmates.<codename>`` grant on.

    The grant ids are resolved first (an indexed lookup on user, permission, expiry), so the
    main query gets an index-friendly literal list; the expiry is checked at query time.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(**{f"{field}__in": []})
    grants = InmateUserObjectPermission.objects.filter(
        user_id=user.pk,
        permission__codename=codename,
        permission__content_type__app_label="inmates",
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
    return Q(**{f"{field}__in": list(grants.values_list("content_object_id", flat=True))})
