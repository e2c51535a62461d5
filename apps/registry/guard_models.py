"""Models that keep the verified list from shrinking unnoticed (issue 11, section 1).

- ``ListSnapshot`` / ``ListSnapshotEntry``: the signed daily statement of which numbers were
  exempt, held as keyed references (apps/audit/references.py) so that no clear number leaves
  the registry's own table. Append-only (database triggers, migration 0007).
- ``ListAlarm``: an unexplained drop between two snapshots. Never deleted; only its
  acknowledgement may be filled in, once.
- ``BulkChange``: an import, or a clerk's revocations past the daily limit, waiting for a
  second registry clerk (``decided_by <> proposed_by`` in the database).

Imported by ``apps.registry.models`` so Django registers them with the registry app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ListSnapshot(models.Model):
    """ "On ``day`` the verified list held ``count`` numbers whose sorted E.164 forms hash to
    ``numbers_sha256``", signed with the audit checkpoint key (Ed25519).

    ``entries_sha256`` covers the entries (keyed reference, registration and scope of each
    number), so the signature also vouches for what a later comparison explains drops against.
    ``entries_version`` says what the entries hold: 1 (before migration 0009) reference and
    registration only; 2 also the scope, so a narrowed scope counts as a drop.
    """

    day = models.DateField(unique=True)
    taken_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    numbers_sha256 = models.CharField(max_length=64)
    entries_sha256 = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)
    entries_version = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"list snapshot {self.day} ({self.count} numbers)"


class ListSnapshotEntry(models.Model):
    """One exempt number of a snapshot: its keyed reference, the registration that covered it
    and that registration's scope (plain ids, not foreign keys: the snapshot must outlive
    whatever happens to the rows)."""

    snapshot = models.ForeignKey(ListSnapshot, on_delete=models.PROTECT, related_name="entries")
    number_ref = models.CharField(max_length=48)
    registration_id = models.BigIntegerField()
    # The facility the registration was scoped to; NULL = every facility (a global one). Only
    # meaningful in a snapshot of entries_version >= 2 (older entries left it NULL, unknown).
    facility_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "number_ref"], name="list_snapshot_entry_unique_ref")
        ]

    def __str__(self) -> str:
        return f"{self.number_ref} (registration {self.registration_id})"


class ListAlarmKind(models.TextChoices):
    # Numbers left the verified list without an audited revocation, expiry or rejection.
    UNEXPLAINED_DROP = "unexplained_drop"
    # The nightly assurance run (issue 11, section 3) found numbers whose call setup would be
    # recorded, or whose synthetic upload the gate did not refuse.
    ASSURANCE_FAILURE = "assurance_failure"
    # A switch has held a decision list older than DECISION_LIST_MAX_STALENESS (section 2;
    # apps/registry/drift.py). One per switch and stale episode.
    SWITCH_DRIFT = "switch_drift"


class ListAlarm(models.Model):
    """An alarm about the list itself, shown on the clerk and admin dashboards until a person
    acknowledges it (``open_list_alarms``).

    - ``unexplained_drop``: raised once per snapshot comparison; the snapshot and count fields.
    - ``switch_drift``: a switch's decision list is stale past the allowed age (section 2);
      ``switch``, ``held_version`` (None: it never reported one), ``current_version`` and
      ``stale_since`` (when its copy first missed a change of its facility's list).

    The compliance report (issue 11, section 8) counts these per period (``list_alarms_between``).
    """

    kind = models.CharField(max_length=32, choices=ListAlarmKind.choices)
    detected_at = models.DateTimeField()
    # An unexplained drop names the two snapshots compared; an assurance failure names its
    # run; a drift alarm names its switch (below).
    snapshot = models.ForeignKey(
        ListSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms"
    )
    previous_snapshot = models.ForeignKey(
        ListSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assurance_run = models.ForeignKey(
        "registry.AssuranceRun", null=True, blank=True, on_delete=models.PROTECT, related_name="alarms"
    )
    # For an assurance failure: previous_count = current_count = numbers checked,
    # dropped_count = 0, unexplained_count = numbers that failed. Unused (0) by drift alarms.
    previous_count = models.PositiveIntegerField(default=0)
    current_count = models.PositiveIntegerField(default=0)
    dropped_count = models.PositiveIntegerField(default=0)
    unexplained_count = models.PositiveIntegerField(default=0)
    # Keyed references only (``number_ref:...``) with the registration each one had (and, for
    # an assurance failure, the facility and the stage that failed).
    unexplained = models.JSONField(default=list)
    # Facilities of the facility-scoped registrations among them (empty: all global); for a
    # drift alarm, the switch's facility.
    facility_ids = models.JSONField(default=list)
    # Drift alarms only. PROTECT: an alarm outlives the switch account (deactivate, not delete).
    switch = models.ForeignKey(
        "facilities.SwitchAccount", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    held_version = models.PositiveIntegerField(null=True, blank=True)
    current_version = models.PositiveIntegerField(null=True, blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement = models.TextField(blank=True)

    class Meta:
        ordering = ["-detected_at"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "snapshot"], name="list_alarm_one_per_snapshot"),
            models.UniqueConstraint(fields=["assurance_run"], name="list_alarm_one_per_assurance_run"),
            # One drift alarm per switch and stale episode (an episode starts at stale_since).
            models.UniqueConstraint(
                fields=["switch", "stale_since"],
                condition=models.Q(kind="switch_drift"),
                name="list_alarm_one_per_drift_episode",
            ),
            models.CheckConstraint(
                name="list_alarm_kind_has_its_fields",
                condition=(
                    models.Q(kind="unexplained_drop", snapshot__isnull=False, previous_snapshot__isnull=False)
                    | models.Q(kind="assurance_failure", assurance_run__isnull=False)
                    | models.Q(kind="switch_drift", switch__isnull=False, stale_since__isnull=False)
                ),
            ),
            models.CheckConstraint(
                name="list_alarm_acknowledged_has_who_and_when",
                condition=models.Q(acknowledged_by__isnull=True, acknowledged_at__isnull=True)
                | models.Q(acknowledged_by__isnull=False, acknowledged_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(
                fields=["detected_at"],
                name="list_alarm_open_idx",
                condition=models.Q(acknowledged_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        if self.kind == ListAlarmKind.SWITCH_DRIFT:
            return f"list alarm {self.pk} (switch_drift, switch {self.switch_id} holds v{self.held_version})"
        return f"list alarm {self.pk} ({self.kind}, {self.unexplained_count} unexplained)"


class BulkChangeKind(models.TextChoices):
    IMPORT = "import"
    REVOCATIONS = "revocations"


class BulkChangeStatus(models.TextChoices):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"


class BulkChange(models.Model):
    """A change to many registrations at once, held until a second registry clerk approves.

    ``payload`` is what approval applies: for an import the file (text and format), re-planned
    against the registry as it is at approval; for revocations the registration ids. ``preview``
    is the dry-run report the approver sees; ``result`` what approval did.
    """

    kind = models.CharField(max_length=16, choices=BulkChangeKind.choices)
    status = models.CharField(
        max_length=16, choices=BulkChangeStatus.choices, default=BulkChangeStatus.PENDING
    )
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    preview = models.JSONField(default=dict)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_reason = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        constraints = [
            models.CheckConstraint(
                name="bulk_change_decided_by_another_clerk",
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("proposed_by")),
            ),
            models.CheckConstraint(
                name="bulk_change_decided_has_decider",
                condition=models.Q(status="pending")
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
            # A clerk's revocations past the limit collect in one open batch.
            models.UniqueConstraint(
                fields=["proposed_by"],
                condition=models.Q(status="pending", kind="revocations"),
                name="bulk_change_one_open_revocation_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"bulk change {self.pk} ({self.kind}, {self.status})"
