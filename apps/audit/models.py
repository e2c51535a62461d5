from __future__ import annotations

from django.conf import settings
from django.db import models


class Outcome(models.TextChoices):
    SUCCESS = "success"
    DENIED = "denied"
    REFUSED = "refused"
    FAILED = "failed"


class AuditEvent(models.Model):
    """One act on protected data, written in the same transaction as the act (outbox row).

    ``id`` is the capture order. Sealing (a Celery task) later assigns ``sequence`` and the
    hash chain fields; until then ``sequence`` is NULL. Rows are append-only: the application
    never updates an event except to seal it once (a PostgreSQL trigger enforces this).

    ``actor`` is DO_NOTHING without a database constraint: deleting a user must neither fail
    nor rewrite sealed history (the actor id is part of the hash); ``actor_label`` keeps the
    name.
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the (actor, created_at) index serves every lookup by actor
    )
    # The actor's username at the time of the act, kept because users can be renamed.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    facility_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)

    sequence = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["actor", "created_at"]),
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["id"], name="audit_unsealed_idx", condition=models.Q(sequence__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(
                name="audit_sealed_has_hash",
                condition=models.Q(sequence__isnull=True) | ~models.Q(hash=""),
            ),
        ]
        permissions = [("export_auditevent", "Can export the audit trail")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_label or '-'}"


class ChainHead(models.Model):
    """The singleton row (pk=1) every sealer locks, so only one sealer extends the chain.

    A row lock (SELECT ... FOR UPDATE) rather than an advisory lock because it also serialises
    sealers on SQLite (the first UPDATE takes the database write lock). The sealed events
    themselves stay the source of truth for the tip; these columns are informational.
    """

    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chain head at {self.last_sequence}"


class Checkpoint(models.Model):
    """A signed statement "the chain had hash H at sequence N at time T" (Ed25519).

    Checkpoints are what catches a truncated tail: removing the newest events leaves a chain
    that is internally valid, but no longer reaches a signed (sequence, hash).
    """

    sequence = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=128)

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"checkpoint {self.sequence}"


class ExportStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AuditExport(models.Model):
    """An auditor's request for a compliance export of the trail, built by a Celery job."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="audit_exports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    total = models.BigIntegerField(null=True, blank=True)
    written = models.BigIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"audit export {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        if self.status == ExportStatus.DONE:
            return 1.0
        if not self.total:
            return 0.0
        return min(1.0, self.written / self.total)


class ProtectedValue(models.Model):
    """The clear value behind a keyed reference in the trail (a registered number, an inmate
    named with one, an attorney's label).

    Events carry only the reference (HMAC with AUDIT_REFERENCE_KEY), so the hash chain and
    every export cover exactly what auditors see. This table is outside the chain on purpose:
    only registry clerks and privilege officers read it (apps/audit/references.py), and any
    row can be checked against its reference by recomputing the HMAC.
    """

    ref = models.CharField(max_length=64, primary_key=True)
    kind = models.CharField(max_length=32)
    value = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.ref


class AuthRejectionWindow(models.Model):
    """Unauthenticated rejections from one source in one minute, counted by an upsert.

    The first rejection of a window writes an ``auth.rejected`` event at once; the others only
    count here, and a flush turns each closed window into one ``auth.rejected_aggregate``
    event with the count (apps/audit/floods.py), so a flood cannot flood the trail.
    """

    source = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.BigIntegerField(default=0)
    last_reason = models.CharField(max_length=32, blank=True)
    alerted = models.BooleanField(default=False)
    flushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "window_start"], name="audit_rejection_window_unique")
        ]
        indexes = [
            models.Index(
                fields=["window_start"],
                name="audit_rejection_unflushed",
                condition=models.Q(flushed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} at {self.window_start}: {self.count}"


class ChainVerification(models.Model):
    """The result of one periodic check of the whole chain (apps/audit/verification.py), kept so
    that auditors see when the trail was last verified and whether it held, not only that a
    task ran. Rows are only added."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    events = models.BigIntegerField(default=0)
    checkpoints = models.BigIntegerField(default=0)
    last_sequence = models.BigIntegerField(default=0)
    unsealed = models.BigIntegerField(default=0)
    witnessed = models.BooleanField(default=False)
    problem_kind = models.CharField(max_length=32, blank=True)
    problem_sequence = models.BigIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"verification #{self.pk} {'ok' if self.ok else self.problem_kind}"
