from __future__ import annotations

import zoneinfo

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known time zone.")


def validate_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"'{value}' is not a supported phone region (e.g. US).")


def facility_ids_with_perm(user: User | AnonymousUser, codename: str) -> list[int]:
    """Ids of the facilities on which ``user`` holds ``facilities.<codename>``, directly or
    through a group. Superusers get no shortcut: a superuser is not a back door (I2).

    Resolved to a short list first, so that the query using it gets a literal ``IN (...)``
    the planner can serve from an index, instead of a correlated subplan run for every row.
    """
    if not user.is_authenticated or not user.is_active:
        return []
    perm = {"permission__codename": codename, "permission__content_type__app_label": "facilities"}
    direct = FacilityUserObjectPermission.objects.filter(user_id=user.pk, **perm)
    via_group = FacilityGroupObjectPermission.objects.filter(group__user=user.pk, **perm)
    ids = set(direct.values_list("content_object_id", flat=True))
    ids.update(via_group.values_list("content_object_id", flat=True))
    return sorted(ids)


def facility_perm_q(user: User | AnonymousUser, codename: str, field: str = "pk") -> Q:
    """Rows whose facility (``field``) ``user`` holds ``facilities.<codename>`` on."""
    return Q(**{f"{field}__in": facility_ids_with_perm(user, codename)})


class FacilityQuerySet(models.QuerySet["Facility"]):
    def restrict(self, user: User | AnonymousUser, codename: str = "view_facility") -> FacilityQuerySet:
        return self.filter(facility_perm_q(user, codename))


class Facility(models.Model):
    """A prison or jail. Its region is the default for national-format numbers dialed there."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="America/New_York", validators=[validate_timezone])
    phone_region = models.CharField(max_length=2, default="US", validators=[validate_region])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "facilities"
        ordering = ["code"]
        permissions = [
            ("view_facility_calls", "Can view call metadata of the facility"),
            ("play_facility_recordings", "Can play every recording of the facility"),
            ("manage_facility", "Can manage staff, inmates and grants of the facility"),
            ("approve_facility_exports", "Can approve exports of the facility"),
        ]
        constraints = [
            models.CheckConstraint(
                name="facility_region_two_upper_letters",
                condition=models.Q(phone_region__regex=r"^[A-Z]{2}$"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"


class FacilityUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian table: grants join on an indexed integer, not a generic text id."""

    content_object = models.ForeignKey(Facility, on_delete=models.CASCADE)


class FacilityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Facility, on_delete=models.CASCADE)


class SwitchAccount(models.Model):
    """The service account a facility's telephone switch authenticates as.

    Bound to exactly one facility: the switch can set up calls and upload audio there only.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="switch_account"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="switches")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"switch {self.user} @ {self.facility.code}"
