from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.models import UserObjectPermissionBase

from apps.calls.models import Call
from apps.common.querysets import Action, granted_object_ids
from apps.facilities.models import FacilityScopedQuerySet
from apps.inmates.models import granted_inmate_ids


class RecordingState(models.TextChoices):
    STORED = "stored"
    QUARANTINED = "quarantined"
    PURGED = "purged"


class RecordingQuerySet(FacilityScopedQuerySet["Recording"]):
    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        """Recordings ``user`` may ``view`` (metadata) or ``play`` (audio), as one SQL filter.

        Play = the deny layer (state "stored") AND (a facility-wide play permission OR an
        unexpired grant on the inmate OR, rarely, on the recording itself). The deny layer
        overrides every grant, for superusers too. "stored" is enough: a recording of a
        privileged call is quarantined in the transaction that makes it privileged, and the
        database refuses a stored one (trigger from migration 0002).
        """
        sees_calls = self.in_facilities(user, Action.VIEW_CALLS)
        if action is Action.VIEW:
            return sees_calls
        if action is Action.PLAY:
            granted = (
                self.in_facilities(user, Action.PLAY)
                | Q(inmate_id__in=granted_inmate_ids(user))
                | Q(pk__in=granted_recording_ids(user))
            )
            # A grant works only while its holder is still assigned to the facility.
            return sees_calls & Q(state=RecordingState.STORED) & granted
        raise self.unsupported(action)


class Recording(models.Model):
    """The encrypted audio of one call (at most one per call, enforced by the database).

    The audio key is random per recording and kept only wrapped by the master key; purging
    destroys the wrapped key (crypto-shredding), so backups and old object versions become
    unreadable too. ``sha256`` is of the plaintext (the switch's own digest) and is checked on
    every full read, on top of the per-chunk authentication that also covers Range reads. A
    quarantined recording stays in storage but no one can read it until every reason holding it
    (``QuarantineHold``) has been decided; ``quarantine_reason`` is only a readable summary of
    the open ones.
    """

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="recording")
    # Copies of the call's facility and inmate (which never change), so that scoped lists are
    # served from (facility, id) and (inmate, id) indexes of this table alone.
    facility = models.ForeignKey(
        "facilities.Facility", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    inmate = models.ForeignKey("inmates.Inmate", on_delete=models.PROTECT, related_name="+", db_index=False)
    storage_backend = models.CharField(max_length=8)
    # Random; reveals nothing about the inmate, the facility or the number.
    storage_key = models.CharField(max_length=128, unique=True)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=64)
    # The stored object's format: "aes-256-gcm-stream-v2" (disk) / "sse-c+aes-256-gcm-stream-v2"
    # (S3) are chunked and verified per chunk; "aes-256-gcm" / "sse-c-aes256" are v1 (before
    # issue 13), read through apps.recordings.legacy until reencrypt_recordings rewrites them.
    encryption = models.CharField(max_length=32)
    wrapped_key = models.BinaryField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=RecordingState.choices, default=RecordingState.STORED)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_reason = models.CharField(max_length=200, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    retention_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RecordingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("review_quarantine", "Can review quarantined recordings and privileged calls"),
            ("play_recording", "Can play this recording (per-recording exception grant)"),
        ]
        indexes = [
            models.Index(fields=["state", "created_at"]),
            # INCLUDE lets scoped pages be found by an index-only scan (ids first, rows after).
            models.Index(
                fields=["facility", "-id"], name="recording_facility_id_idx", include=["state", "inmate"]
            ),
            models.Index(
                fields=["inmate", "-id"], name="recording_inmate_id_idx", include=["state", "facility"]
            ),
        ]
        constraints = [
            models.CheckConstraint(name="recording_size_positive", condition=models.Q(size_bytes__gt=0)),
            models.CheckConstraint(
                name="recording_sha256_hex", condition=models.Q(sha256__regex=r"^[0-9a-f]{64}$")
            ),
            models.CheckConstraint(
                name="recording_key_destroyed_iff_purged",
                condition=(models.Q(state="purged") & models.Q(wrapped_key__isnull=True))
                | (~models.Q(state="purged") & models.Q(wrapped_key__isnull=False)),
            ),
            models.CheckConstraint(
                name="recording_quarantine_has_time",
                condition=~models.Q(state="quarantined") | models.Q(quarantined_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"recording {self.pk} of call {self.call_id} ({self.state})"

    @property
    def is_accessible(self) -> bool:
        return self.state == RecordingState.STORED


class HoldKind(models.TextChoices):
    # An inmate's claim on the number is pending: the registry clerk's claim decision lifts it.
    CLAIM = "claim"
    # The number became privileged (verified registration or verified claim), or the hold was
    # made before holds were recorded: only the two-officer privilege review lifts it.
    PRIVILEGED = "privileged"
    # An attorney flagged the call: only the two-officer privilege review lifts it.
    FLAG = "flag"
    # Someone playing it pressed "This sounds privileged - stop" (a StopPress row says who and
    # how much had been heard): only the two-officer privilege review lifts it.
    STOP_BUTTON = "stop_button"


class HoldOutcome(models.TextChoices):
    RELEASED = "released"
    PURGED = "purged"
    CLAIM_REJECTED = "claim_rejected"
    CLAIM_VERIFIED = "claim_verified"


class QuarantineHold(models.Model):
    """One reason a recording is quarantined. Reasons accumulate and never overwrite each
    other: the recording is released only when none is open (apps.recordings.quarantine), and
    the database refuses a ``stored`` recording with an open hold (migration 0008)."""

    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="holds")
    kind = models.CharField(max_length=16, choices=HoldKind.choices)
    claim = models.ForeignKey(
        "registry.InmateClaim", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    flag = models.ForeignKey(
        "registry.PrivilegeFlag", null=True, blank=True, on_delete=models.PROTECT, related_name="holds"
    )
    exempt_number = models.ForeignKey(
        "registry.ExemptNumber", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=200)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=HoldOutcome.choices, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="hold_closed_has_time_and_outcome",
                condition=models.Q(closed_at__isnull=True, outcome="")
                | (models.Q(closed_at__isnull=False) & ~models.Q(outcome="")),
            ),
            models.CheckConstraint(
                name="hold_kind_names_its_source",
                condition=~models.Q(kind="claim") | models.Q(claim__isnull=False),
            ),
            models.CheckConstraint(
                name="hold_flag_names_its_flag",
                condition=~models.Q(kind="flag") | models.Q(flag__isnull=False),
            ),
            # The same reason twice is one reason: repeating an act does not stack holds.
            models.UniqueConstraint(
                fields=["recording", "claim"],
                condition=models.Q(closed_at__isnull=True, kind="claim"),
                name="hold_one_open_per_claim",
            ),
            models.UniqueConstraint(
                fields=["recording", "flag"],
                condition=models.Q(closed_at__isnull=True, kind="flag"),
                name="hold_one_open_per_flag",
            ),
            models.UniqueConstraint(
                fields=["recording"],
                condition=models.Q(closed_at__isnull=True, kind="privileged"),
                name="hold_one_open_privileged",
            ),
            # Two presses (a double click, two listeners at once) are one stop, one review item.
            models.UniqueConstraint(
                fields=["recording"],
                condition=models.Q(closed_at__isnull=True, kind="stop_button"),
                name="hold_one_open_stop_button",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recording"], condition=models.Q(closed_at__isnull=True), name="hold_open_idx"
            ),
        ]

    def __str__(self) -> str:
        state = "open" if self.closed_at is None else self.outcome
        return f"{self.kind} hold on recording {self.recording_id} ({state})"


class StopPress(models.Model):
    """A press of "This sounds privileged - stop" that quarantined a recording
    (apps.actions.privilege_stop): who pressed, when, how much of the audio had been served
    (from the ranges the stream audited), and what the press pulled and told. One per stop
    hold; a second press while that hold is open answers with this row."""

    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="stop_presses")
    hold = models.OneToOneField(QuarantineHold, on_delete=models.PROTECT, related_name="stop_press")
    pressed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    pressed_at = models.DateTimeField(default=timezone.now)
    # Every byte the stream served (re-fetches counted again) / the distinct bytes among them.
    bytes_served = models.BigIntegerField(default=0)
    bytes_heard = models.BigIntegerField(default=0)
    # bytes_heard / (size / duration); NULL when the call's duration is unknown.
    seconds_heard = models.FloatField(null=True, blank=True)
    listeners = models.PositiveIntegerField(default=0)
    exports_pulled = models.JSONField(default=list, blank=True)
    exports_already_downloaded = models.JSONField(default=list, blank=True)
    officers_notified = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-pressed_at", "-id"]
        indexes = [models.Index(fields=["pressed_by", "pressed_at"])]

    def __str__(self) -> str:
        return f"stop of recording {self.recording_id} by {self.pressed_by_id}"


class RecordingUserObjectPermission(UserObjectPermissionBase):
    """A grant on one recording: the rare exception (normal work uses inmate grants)."""

    content_object = models.ForeignKey(Recording, on_delete=models.CASCADE)
    case_reference = models.CharField(max_length=64, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


def granted_recording_ids(user: User | AnonymousUser) -> list[int]:
    """Recordings ``user`` holds an unexpired grant on, one by one (rare: most grants are per
    inmate)."""
    return granted_object_ids(
        user,
        app_label="recordings",
        codename="play_recording",
        user_table=RecordingUserObjectPermission,
        expiring=True,
    )


class Tombstone(models.Model):
    """What remains of a purged recording: enough to prove what was destroyed, by whom and why,
    and nothing that could restore it (the wrapped key and the object are gone)."""

    recording = models.OneToOneField(Recording, on_delete=models.PROTECT, related_name="tombstone")
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    purged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purged_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()

    def __str__(self) -> str:
        return f"tombstone of recording {self.recording_id}"


class ReviewAction(models.TextChoices):
    RELEASE = "release"
    PURGE = "purge"


class ReviewDecision(models.Model):
    """A privilege officer's proposal to release or purge a quarantined recording; it takes
    effect only when a *different* officer confirms it (checked by the database)."""

    recording = models.ForeignKey(Recording, on_delete=models.PROTECT, related_name="review_decisions")
    action = models.CharField(max_length=8, choices=ReviewAction.choices)
    reason = models.TextField()
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.CheckConstraint(
                name="review_confirmed_by_another_officer",
                condition=models.Q(confirmed_by__isnull=True)
                | ~models.Q(confirmed_by=models.F("proposed_by")),
            ),
            models.UniqueConstraint(
                fields=["recording"],
                condition=models.Q(confirmed_by__isnull=True),
                name="review_one_open_decision_per_recording",
            ),
        ]

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_by_id else "proposed"
        return f"{self.action} of recording {self.recording_id} ({state})"


class PlaybackRedemption(models.Model):
    """A playback link that has been used. A link is single-use: its first fetch trades it for
    a short cookie (apps.recordings.playback), so the URL an access log keeps is spent. Rows
    are only needed while a link could still be live and are swept as new links are used."""

    link = models.CharField(max_length=64, unique=True)  # SHA-256 of the link token
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="+")
    redeemed_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"link {self.link[:16]} for recording {self.recording_id}"
