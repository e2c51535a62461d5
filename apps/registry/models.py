from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.facilities.models import Facility


class Attorney(models.Model):
    """An attorney with a portal account, identified by bar number and bar state."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attorney")
    full_name = models.CharField(max_length=200)
    bar_number = models.CharField(max_length=32)
    bar_state = models.CharField(max_length=2)
    firm = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(fields=["bar_state", "bar_number"], name="attorney_bar_unique"),
            models.CheckConstraint(
                name="attorney_bar_state_format", condition=models.Q(bar_state__regex=r"^[A-Z]{2}$")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.bar_state} {self.bar_number})"


class ExemptStatus(models.TextChoices):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ExemptNumber(models.Model):
    """A phone number an attorney asks to exempt from recording.

    Only a *verified* row within its effective window makes calls privileged. The database
    allows at most one verified row per number, so two attorneys can never both hold it and
    a duplicate cannot slip in beside a revoked one. ``facility`` NULL means global (the
    default: the exemption protects calls from every facility on the platform).
    """

    number = models.CharField(max_length=16, db_index=True)
    attorney = models.ForeignKey(Attorney, on_delete=models.PROTECT, related_name="numbers")
    label = models.CharField(max_length=100, blank=True)
    facility = models.ForeignKey(Facility, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=ExemptStatus.choices, default=ExemptStatus.PENDING)
    effective_from = models.DateTimeField(null=True, blank=True)
    effective_until = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    decided_reason = models.TextField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Renewal of a verified registration (before or after its window ends) waits for a clerk.
    renewal_requested_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("verify_exemptnumber", "Can verify, reject and revoke exempt numbers")]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=models.Q(status="verified"),
                name="exempt_one_verified_per_number",
            ),
            # An attorney cannot hold two live registrations of one number.
            models.UniqueConstraint(
                fields=["attorney", "number"],
                condition=models.Q(status__in=["pending", "verified"]),
                name="exempt_one_live_per_attorney_number",
            ),
            models.CheckConstraint(
                name="exempt_number_is_e164",
                condition=models.Q(number__regex=r"^\+[1-9][0-9]{1,14}$"),
            ),
            models.CheckConstraint(
                name="exempt_verified_has_window_and_verifier",
                condition=~models.Q(status="verified")
                | models.Q(effective_from__isnull=False, verified_by__isnull=False),
            ),
            models.CheckConstraint(
                name="exempt_window_ordered",
                condition=models.Q(effective_until__isnull=True)
                | models.Q(effective_from__isnull=True)
                | models.Q(effective_until__gt=models.F("effective_from")),
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        # Never the number: str() ends up in admin titles, log entries and audit details.
        return f"registration {self.pk} ({self.status})"


class ClaimStatus(models.TextChoices):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class InmateClaim(models.Model):
    """The switch reports "the inmate says this number is their attorney".

    While a claim is pending, calls from its facility to the number are recorded straight into
    quarantine (stored, readable by no one). A clerk decides it: verification makes the number
    privileged for the facility and purges those recordings; rejection releases them.
    """

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    inmate = models.ForeignKey("inmates.Inmate", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.PENDING)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="claim_number_is_e164", condition=models.Q(number__regex=r"^\+[1-9][0-9]{1,14}$")
            ),
            # One open claim per number and facility: a repeated report joins the open one.
            models.UniqueConstraint(
                fields=["facility", "number"],
                condition=models.Q(status="pending"),
                name="claim_one_pending_per_facility_number",
            ),
            models.CheckConstraint(
                name="claim_decided_has_decider",
                condition=models.Q(status="pending")
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["number", "status"]),
            # The claim rate limits count a facility's and an inmate's recent claims.
            models.Index(fields=["facility", "created_at"], name="claim_facility_created_idx"),
            models.Index(fields=["inmate", "created_at"], name="claim_inmate_created_idx"),
        ]

    def __str__(self) -> str:
        return f"claim {self.pk} on {self.number} ({self.status})"

    @property
    def quarantine_reason(self) -> str:
        return f"{CLAIM_QUARANTINE_PREFIX}{self.pk}"


CLAIM_QUARANTINE_PREFIX = "pending inmate claim #"


class Evidence(models.Model):
    """A letterhead or bar card backing a registration: encrypted at rest, never public."""

    exempt_number = models.ForeignKey(ExemptNumber, on_delete=models.PROTECT, related_name="evidence")
    storage_key = models.CharField(max_length=128, unique=True)
    content_type = models.CharField(max_length=32)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    wrapped_key = models.BinaryField()
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"evidence {self.pk} for registration {self.exempt_number_id}"


class FlagStatus(models.TextChoices):
    # About a call to one of the attorney's own *verified* numbers: matching recordings were
    # quarantined at once (and wait for the two-officer review).
    APPLIED = "applied"
    # About any other (pending) number: a request to privilege officers; nothing changed.
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # The registration it relied on was revoked before an officer decided.
    WITHDRAWN = "withdrawn"


class PrivilegeFlag(models.Model):
    """An attorney's statement that a past call was privileged.

    Only a flag on the attorney's own verified number quarantines anything by itself; any
    other flag is a request that privilege officers accept or decline (apps.registry.flags).
    ``matched_recordings`` is for officers and the audit trail: the attorney never learns it,
    or the form would tell an outsider whether inmate X called on day D.
    """

    attorney = models.ForeignKey(Attorney, on_delete=models.PROTECT, related_name="flags")
    exempt_number = models.ForeignKey(
        ExemptNumber, null=True, blank=True, on_delete=models.PROTECT, related_name="flags"
    )
    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="+")
    booking_number = models.CharField(max_length=32)
    number = models.CharField(max_length=16)
    call_date = models.DateField()
    status = models.CharField(max_length=16, choices=FlagStatus.choices, default=FlagStatus.REQUESTED)
    matched_recordings = models.PositiveIntegerField(default=0)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="flag_decided_has_decider",
                condition=~models.Q(status__in=["accepted", "declined"])
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["attorney", "created_at"], name="flag_attorney_created_idx"),
            models.Index(fields=["status", "facility"], name="flag_status_facility_idx"),
        ]

    def __str__(self) -> str:
        return f"privilege flag {self.pk} ({self.number} on {self.call_date})"
