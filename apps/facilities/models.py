from __future__ import annotations

import zoneinfo
from typing import ClassVar, TypeVar

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from guardian.managers import UserObjectPermissionManager
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.common.querysets import Action, RestrictedQuerySet, granted_object_ids

M = TypeVar("M", bound=models.Model)


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known time zone.")


def validate_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"'{value}' is not a supported phone region (e.g. US).")


# What each action needs on a facility. Everything scoped by facility (inmates, calls,
# recordings, grants, staff) reads its facility permission from this one table.
FACILITY_PERMISSION = {
    Action.VIEW: "view_facility",
    Action.VIEW_CALLS: "view_facility_calls",
    Action.PLAY: "play_facility_recordings",
    Action.MANAGE: "manage_facility",
    Action.APPROVE_EXPORTS: "approve_facility_exports",
}


def facility_ids(user: User | AnonymousUser, action: Action) -> list[int]:
    """Ids of the facilities where ``user`` may do ``action``, directly or through a group."""
    return granted_object_ids(
        user,
        app_label="facilities",
        codename=FACILITY_PERMISSION[action],
        user_table=FacilityUserObjectPermission,
        group_table=FacilityGroupObjectPermission,
    )


class FacilityScopedQuerySet(RestrictedQuerySet[M]):
    """Rows that belong to one facility (``facility_field``): each action is allowed where the
    user holds that action's facility permission, unless the model narrows it further."""

    facility_field = "facility_id"
    actions: frozenset[Action] = frozenset(Action)

    def in_facilities(self, user: User | AnonymousUser, action: Action) -> Q:
        return Q(**{f"{self.facility_field}__in": facility_ids(user, action)})

    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        if action not in self.actions:
            raise self.unsupported(action)
        return self.in_facilities(user, action)


class FacilityQuerySet(FacilityScopedQuerySet["Facility"]):
    facility_field = "pk"


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


class PromptKind(models.TextChoices):
    """What the switch plays before a call connects: the caller is told whether it is recorded."""

    RECORDING_NOTICE = "recording_notice"
    PRIVATE_CALL_NOTICE = "private_call_notice"


class PromptTextQuerySet(FacilityScopedQuerySet["PromptText"]):
    """A facility's prompt texts: seen by its staff (``view``), published by its admins (``manage``)."""

    actions = frozenset({Action.VIEW, Action.MANAGE})


class PromptText(models.Model):
    """One version of one prompt a facility's switches play (issue 11, section 7).

    Append-only (a database trigger refuses UPDATE and DELETE, migration 0003): a change is a
    new version, so a call's ``prompt`` keeps pointing at the exact words the caller was told.
    The current prompt of a kind is its highest version. Every facility has version 1 of each
    kind from the moment it exists (an INSERT trigger on the facility, migration 0002), so call
    setup always has a prompt to name. Published through
    apps.facilities.prompts.prompt_text_publish (audited) only.
    """

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="prompt_texts")
    kind = models.CharField(max_length=24, choices=PromptKind.choices)
    version = models.PositiveIntegerField()
    text = models.TextField()
    # Null for the defaults the database writes when the facility is created.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PromptTextQuerySet.as_manager()

    class Meta:
        ordering = ["facility", "kind", "-version"]
        constraints = [
            # Also the index call setup reads the current version from (highest version first).
            models.UniqueConstraint(
                fields=["facility", "kind", "version"], name="prompt_text_version_unique"
            ),
            models.CheckConstraint(name="prompt_text_version_positive", condition=models.Q(version__gte=1)),
            models.CheckConstraint(
                name="prompt_text_kind_known",
                condition=models.Q(kind__in=[k.value for k in PromptKind]),
            ),
            models.CheckConstraint(name="prompt_text_not_blank", condition=~models.Q(text="")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.version} @ {self.facility_id}"


class StaffAssignmentQuerySet(FacilityScopedQuerySet["FacilityUserObjectPermission"]):
    """A facility's staff assignments (its permission rows), seen by those who manage it."""

    facility_field = "content_object_id"
    actions = frozenset({Action.MANAGE})


StaffAssignmentManager = UserObjectPermissionManager.from_queryset(StaffAssignmentQuerySet)


class FacilityUserObjectPermission(UserObjectPermissionBase):
    """Direct-FK guardian table: grants join on an indexed integer, not a generic text id."""

    content_object = models.ForeignKey(Facility, on_delete=models.CASCADE)

    objects: ClassVar[StaffAssignmentManager] = StaffAssignmentManager()


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


# The stored form of a station (apps.facilities.stations.normalize_station): E.164 for a
# station given as a phone number, else an opaque id upper-cased. Doubled in the database.
STATION_ID_FORMAT = r"^(\+[1-9][0-9]{1,14}|[A-Z0-9._:-]{1,64})$"


class PrivilegedStationQuerySet(FacilityScopedQuerySet["PrivilegedStation"]):
    """A facility's privileged stations: seen and changed by those who manage it."""

    actions = frozenset({Action.MANAGE})


class PrivilegedStation(models.Model):
    """A phone or station inside a facility whose calls are never recorded (issue 11, section 6):
    an attorney booth, a visit room. The switch names the station at call setup; a call from a
    *live* (not retired) station of the call's own facility is exempt, whatever number it dials.

    Registered and retired only through apps.actions.stations (audited; registering quarantines
    what was already stored from the station). Retired rows are kept as the history: the
    partial unique index allows one live row per (facility, station), and it is the index call
    setup reads.
    """

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="privileged_stations")
    station_id = models.CharField(max_length=64)
    label = models.CharField(max_length=100)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retire_reason = models.TextField(blank=True)

    objects = PrivilegedStationQuerySet.as_manager()

    class Meta:
        ordering = ["facility_id", "station_id", "-registered_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "station_id"],
                condition=models.Q(retired_at__isnull=True),
                name="privileged_station_one_live",
            ),
            models.CheckConstraint(
                name="privileged_station_id_format", condition=models.Q(station_id__regex=STATION_ID_FORMAT)
            ),
            models.CheckConstraint(name="privileged_station_label_not_blank", condition=~models.Q(label="")),
            models.CheckConstraint(
                name="privileged_station_retired_with_reason",
                condition=models.Q(retired_at__isnull=True, retired_by__isnull=True, retire_reason="")
                | (
                    models.Q(retired_at__isnull=False, retired_by__isnull=False) & ~models.Q(retire_reason="")
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.station_id}) @ {self.facility_id}"

    @property
    def live(self) -> bool:
        return self.retired_at is None
