from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.managers import UserObjectPermissionManager
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.common.querysets import Action, granted_object_ids, may_hold_grants
from apps.facilities.models import Facility, FacilityScopedQuerySet

# The nightly assurance run's stand-in caller in each facility (apps/actions/assurance.py):
# not a person, so it is in no one's scope (no directory, search or grant shows it).
SYNTHETIC_BOOKING_NUMBER = "ZZ-ASSURANCE-SYNTHETIC"


class InmateQuerySet(FacilityScopedQuerySet["Inmate"]):
    """Inmates of the facilities where the user may ``view`` (the directory), ``view_calls`` or
    ``manage``; an inmate's recordings are scoped by RecordingQuerySet, not here."""

    actions = frozenset({Action.VIEW, Action.VIEW_CALLS, Action.MANAGE})

    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        return super().scope(user, action) & ~Q(booking_number=SYNTHETIC_BOOKING_NUMBER)


class Inmate(models.Model):
    """A person in custody. The booking number is unique within a facility only."""

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="inmates")
    booking_number = models.CharField(max_length=32)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    account_number = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # "Do not record" for this person (issue 11, section 6; e.g. a court order): set and cleared
    # only by apps.inmates.services.inmate_do_not_record_set / _clear (audited, with a reason).
    # While set, call setup exempts every call of the inmate and the storage gate and the
    # database refuse new audio. It looks forward only: audio stored before it was set stays.
    do_not_record_since = models.DateTimeField(null=True, blank=True)
    do_not_record_reason = models.TextField(blank=True, db_default="")  # raw bulk loads too
    do_not_record_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = InmateQuerySet.as_manager()

    class Meta:
        ordering = ["facility_id", "booking_number"]
        permissions = [("play_inmate_recordings", "Can play recordings of the inmate")]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "booking_number"], name="inmate_booking_unique_per_facility"
            ),
            models.CheckConstraint(name="inmate_booking_not_blank", condition=~models.Q(booking_number="")),
            models.CheckConstraint(
                name="inmate_do_not_record_has_reason",
                condition=models.Q(do_not_record_since__isnull=True, do_not_record_reason="")
                | (models.Q(do_not_record_since__isnull=False) & ~models.Q(do_not_record_reason="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking_number} {self.last_name}, {self.first_name}"


class GrantQuerySet(FacilityScopedQuerySet["InmateUserObjectPermission"]):
    """Case grants: ``manage`` those of the facilities one manages; ``view`` those too, plus
    one's own (an investigator sees what they were given, but holding is not managing)."""

    facility_field = "content_object__facility_id"
    actions = frozenset({Action.VIEW, Action.MANAGE})

    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        if action not in self.actions:
            raise self.unsupported(action)
        managed = self.in_facilities(user, Action.MANAGE)
        if action is Action.VIEW and may_hold_grants(user):
            return managed | Q(user_id=user.pk)
        return managed


GrantManager = UserObjectPermissionManager.from_queryset(GrantQuerySet)


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

    objects: ClassVar[GrantManager] = GrantManager()

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "content_object", "expires_at"])]


class InmateGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Inmate, on_delete=models.CASCADE)


def granted_inmate_ids(user: User | AnonymousUser) -> list[int]:
    """Inmates ``user`` holds an unexpired play grant on (a case grant to an investigator)."""
    return granted_object_ids(
        user,
        app_label="inmates",
        codename="play_inmate_recordings",
        user_table=InmateUserObjectPermission,
        expiring=True,
    )
