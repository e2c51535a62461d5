from __future__ import annotations

from django.db import models

from apps.calls.models import Call


class RecordingState(models.TextChoices):
    STORED = "stored"
    QUARANTINED = "quarantined"
    PURGED = "purged"


class Recording(models.Model):
    """The encrypted audio of one call (at most one per call, enforced by the database).

    The audio key is random per recording and kept only wrapped by the master key; purging
    destroys the wrapped key (crypto-shredding), so backups and old object versions become
    unreadable too. ``sha256`` is of the plaintext and is verified on every read, because the
    S3 server used in tests does not store checksums itself. A quarantined recording stays in
    storage but no one can read it until a privilege officer releases or purges it.
    """

    call = models.OneToOneField(Call, on_delete=models.PROTECT, related_name="recording")
    storage_backend = models.CharField(max_length=8)
    # Random; reveals nothing about the inmate, the facility or the number.
    storage_key = models.CharField(max_length=128, unique=True)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=64)
    encryption = models.CharField(max_length=32)
    wrapped_key = models.BinaryField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=RecordingState.choices, default=RecordingState.STORED)
    quarantined_at = models.DateTimeField(null=True, blank=True)
    quarantine_reason = models.CharField(max_length=200, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    retention_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"])]
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
