"""The registry's core records: attorneys, registrations, claims, evidence and flags.

Size: these rows' constraints are the registry's invariants and read best side by side; the
list guard, assurance, decision list and exposure records have modules of their own.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.common.querysets import Action
from apps.facilities.models import Facility, FacilityScopedQuerySet


class Attorney(models.Model):
    """An attorney with a portal account, identified by bar number and bar state.

    A bar number is *claimed* (``bar_state``/``bar_number``, unique) only once the e-mail is
    verified and nobody else holds it; until then, or while a clerk decides a dispute over it,
    it waits in ``requested_bar_*``. So a throwaway sign-up can hold nobody's number.
    ``pending_contact_email`` is an address waiting for confirmation from that address.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attorney")
    full_name = models.CharField(max_length=200)
    bar_number = models.CharField(max_length=32, blank=True)
    bar_state = models.CharField(max_length=2, blank=True)
    requested_bar_number = models.CharField(max_length=32, blank=True)
    requested_bar_state = models.CharField(max_length=2, blank=True)
    firm = models.CharField(max_length=200, blank=True)
    contact_email = models.EmailField(blank=True)
    pending_contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["bar_state", "bar_number"],
                condition=~models.Q(bar_number=""),
                name="attorney_bar_unique",
            ),
            models.CheckConstraint(
                name="attorney_bar_state_format",
                condition=models.Q(bar_state="") | models.Q(bar_state__regex=r"^[A-Z]{2}$"),
            ),
            models.CheckConstraint(
                name="attorney_bar_both_or_neither",
                condition=models.Q(bar_state="", bar_number="")
                | (~models.Q(bar_state="") & ~models.Q(bar_number="")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.shown_bar or 'no bar number'})"

    @property
    def shown_bar(self) -> str:
        """The bar number as the attorney sees it: claimed, or asked for (in dispute)."""
        if self.requested_bar_number:
            return f"{self.requested_bar_state} {self.requested_bar_number}"
        return f"{self.bar_state} {self.bar_number}".strip()


class ClerkDecision(models.Model):
    """Who decided a request on the registry desk, when and why (abstract)."""

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["created_at"]


class DisputeStatus(models.TextChoices):
    OPEN = "open"
    AWARDED_CLAIMANT = "awarded_claimant"
    AWARDED_HOLDER = "awarded_holder"
    WITHDRAWN = "withdrawn"


class BarDispute(ClerkDecision):
    """Two accounts claim one bar number; a registry clerk awards it to one of them.

    Opened when a verified account asks for a bar number another account holds (at e-mail
    verification, or through an approved identity change). ``holder`` is who held it when the
    dispute opened; the decision reads the holder afresh.
    """

    claimant = models.ForeignKey(Attorney, on_delete=models.PROTECT, related_name="bar_disputes")
    holder = models.ForeignKey(Attorney, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    bar_state = models.CharField(max_length=2)
    bar_number = models.CharField(max_length=32)
    source = models.CharField(max_length=32)
    status = models.CharField(max_length=32, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)

    class Meta(ClerkDecision.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["claimant"],
                condition=models.Q(status="open"),
                name="bar_dispute_one_open_per_claimant",
            ),
            models.CheckConstraint(
                name="bar_dispute_decided_has_decider",
                condition=models.Q(status__in=["open", "withdrawn"])
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"bar dispute {self.pk} over {self.bar_state} {self.bar_number} ({self.status})"


class ChangeStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class IdentityChangeRequest(ClerkDecision):
    """A verified attorney asks to change their name or bar number; a registry clerk decides.

    Holds both the values asked for and those in force when asked, so the clerk sees the change
    and the trail keeps it even after later edits.
    """

    attorney = models.ForeignKey(Attorney, on_delete=models.PROTECT, related_name="identity_changes")
    full_name = models.CharField(max_length=200)
    bar_state = models.CharField(max_length=2)
    bar_number = models.CharField(max_length=32)
    previous_full_name = models.CharField(max_length=200)
    previous_bar = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=16, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)

    class Meta(ClerkDecision.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["attorney"], condition=models.Q(status="pending"), name="identity_change_one_pending"
            ),
            models.CheckConstraint(
                name="identity_change_decided_has_decider",
                condition=models.Q(status="pending")
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"identity change {self.pk} of attorney {self.attorney_id} ({self.status})"


class ExemptStatus(models.TextChoices):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class RegistrationCategory(models.TextChoices):
    """Who a registered number belongs to (issue 11, section 6). Every category is exempt from
    recording; they differ only in the evidence a clerk needs (``apps.registry.categories``)."""

    ATTORNEY = "attorney", "Attorney"
    DOCTOR = "doctor", "Doctor"
    CLERGY = "clergy", "Clergy"
    CONSULAR_OFFICER = "consular_officer", "Consular officer"
    DEFENCE_SOCIAL_WORKER = "defence_social_worker", "Social worker on a defence team"


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
    # Whose number it is; the category decides the evidence, never whether it is exempt.
    # Database defaults too: bulk loads (COPY, raw INSERTs in imports and benchmarks) that predate
    # categories keep registering attorney lines, as the ORM does.
    category = models.CharField(
        max_length=32,
        choices=RegistrationCategory.choices,
        default=RegistrationCategory.ATTORNEY,
        db_default=RegistrationCategory.ATTORNEY.value,
    )
    # What the category's evidence rule asks the registrant to state (apps.registry.categories):
    # a licence, accreditation or ordination reference, or defence counsel's bar number, and who
    # issued it. Empty for an attorney, whose claimed bar number is the credential.
    credential = models.CharField(max_length=48, blank=True, db_default="")
    credential_issuer = models.CharField(max_length=100, blank=True, db_default="")
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
                name="exempt_category_known",
                condition=models.Q(category__in=RegistrationCategory.values),
            ),
            # Every other category states its credential; an attorney states none.
            models.CheckConstraint(
                name="exempt_credential_by_category",
                condition=models.Q(category="attorney", credential="", credential_issuer="")
                | (
                    ~models.Q(category="attorney")
                    & ~models.Q(credential="")
                    & ~models.Q(credential_issuer="")
                ),
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


class PrivilegeFlagQuerySet(FacilityScopedQuerySet["PrivilegeFlag"]):
    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        """A flag on a call is ``view``-able where that facility's calls are."""
        if action is not Action.VIEW:
            raise self.unsupported(action)
        return self.in_facilities(user, Action.VIEW_CALLS)


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

    objects = PrivilegeFlagQuerySet.as_manager()

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


# The list guard's models (snapshots, alarms, bulk changes), the assurance run's and the
# switches' decision list (issue 11) live in their own modules.
from apps.registry.assurance_models import AssuranceRun, AssuranceStatus  # noqa: E402, F401
from apps.registry.decision_models import (  # noqa: E402, F401
    DecisionListEntry,
    DecisionListVersion,
    SwitchListHolding,
)
from apps.registry.exposure_models import (  # noqa: E402, F401
    ExposureReport,
    ExposureReportFacility,
    ExposureTrigger,
)
from apps.registry.guard_models import (  # noqa: E402, F401
    BulkChange,
    BulkChangeKind,
    BulkChangeStatus,
    ListAlarm,
    ListAlarmKind,
    ListSnapshot,
    ListSnapshotEntry,
)
