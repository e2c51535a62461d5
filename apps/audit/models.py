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
    never updates an event except to seal it once.
    """

    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
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

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_label or '-'}"
