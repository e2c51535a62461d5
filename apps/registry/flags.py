"""Attorneys flag a past call as privileged; privilege officers decide.

The flag form is open to anyone who can sign up, so it must be neither an oracle nor a way to
hide evidence:
- the attorney's answer never depends on whether a call matched (the count stays with officers
  and the audit trail);
- only a flag on one of the attorney's own *verified* numbers quarantines by itself (the
  registry has vouched for that attorney and that line); any other flag is a *request* that
  changes nothing playable until a privilege officer accepts it. A request does hold
  recordings that are already quarantined, which hides nothing and keeps another decision (a
  rejected inmate claim) from releasing them before the officers have decided;
- flags are rate-limited per attorney (PRIVILEGE_FLAG_LIMIT) and a burst is an anomaly rule
  ("flag_burst"), refusals included;
- revoking a registration withdraws its flags that still wait for an officer.
A flag's holds are lifted only by the two-officer privilege review (apps.recordings.review).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.models import Outcome
from apps.audit.references import protect, protect_number
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.recordings.quarantine import flag_hold
from apps.recordings.review import REVIEW_PERMISSION, NotAPrivilegeOfficerError
from apps.registry.errors import FlagRateLimitedError, IllegalTransitionError
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus, FlagStatus, PrivilegeFlag
from apps.registry.privilege import lock_number


class NotYourNumberError(DomainError):
    reason = "not_your_number"
    default_message = "You can flag calls only to a number you have registered (pending or verified)."


def privilege_flag_submit(
    *,
    attorney: Attorney,
    facility: Facility,
    booking_number: str,
    number: str,
    call_date: date,
    actor: User,
    now: datetime | None = None,
) -> PrivilegeFlag:
    """Record a flag: applied at once on the attorney's own verified number, else a request.

    The caller must not tell the attorney ``matched_recordings`` (see the module docstring).
    """
    e164 = normalize_phone_number(number, facility.phone_region)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            # The attorney's row lock serialises their flags, so two cannot both pass the limit.
            Attorney.objects.select_for_update().filter(pk=attorney.pk).first()
            _check_limit(attorney, now)
            exempt = (
                ExemptNumber.objects.filter(
                    attorney=attorney, number=e164, status__in=[ExemptStatus.PENDING, ExemptStatus.VERIFIED]
                )
                .order_by("status")  # "pending" < "verified": prefer the verified row
                .last()
            )
            if exempt is None:
                raise NotYourNumberError()
            verified = exempt.status == ExemptStatus.VERIFIED
            flag = PrivilegeFlag.objects.create(
                attorney=attorney,
                exempt_number=exempt,
                facility=facility,
                booking_number=booking_number.strip(),
                number=e164,
                call_date=call_date,
                status=FlagStatus.APPLIED if verified else FlagStatus.REQUESTED,
                created_at=now,
            )
            flag.matched_recordings = flag_hold(flag=flag, actor=actor, include_stored=verified)
            flag.save(update_fields=["matched_recordings"])
            record_event(
                action="privilege_flag.submitted",
                actor=actor,
                target=flag,
                facility_id=facility.pk,
                details={
                    # The flagged call (facility, inmate, day) names an inmate-attorney link: keyed only.
                    "number_ref": protect_number(e164),
                    "call_ref": protect("flagged_call", f"{facility.code}|{flag.booking_number}|{call_date}"),
                    "status": flag.status,
                    "matched": flag.matched_recordings,
                },
            )
    except FlagRateLimitedError as exc:
        with transaction.atomic():
            record_event(
                action="privilege_flag.rate_limited",
                actor=actor,
                outcome=Outcome.DENIED,
                facility_id=facility.pk,
                details=exc.extra,
            )
        raise
    return flag


def _check_limit(attorney: Attorney, now: datetime) -> None:
    window, limit = settings.PRIVILEGE_FLAG_LIMIT["window"], settings.PRIVILEGE_FLAG_LIMIT["limit"]
    recent = PrivilegeFlag.objects.filter(attorney=attorney, created_at__gt=now - timedelta(seconds=window))
    if recent.count() >= limit:
        raise FlagRateLimitedError(limit=limit, window_seconds=window)


def flag_requests_for(officer: User) -> QuerySet[PrivilegeFlag]:
    """Flag requests waiting for a decision, at the facilities whose calls the officer sees."""
    return (
        PrivilegeFlag.objects.restrict(officer, Action.VIEW)
        .filter(status=FlagStatus.REQUESTED)
        .select_related("attorney", "exempt_number", "facility")
        .order_by("created_at", "pk")
    )


def _require_officer(user: User) -> None:
    if not (user.is_active and user.has_perm(REVIEW_PERMISSION)):
        raise NotAPrivilegeOfficerError()


def _locked_request(flag_id: int) -> PrivilegeFlag:
    lock_number(PrivilegeFlag.objects.get(pk=flag_id).number)
    flag = PrivilegeFlag.objects.select_for_update().select_related("facility").get(pk=flag_id)
    if flag.status != FlagStatus.REQUESTED:
        raise IllegalTransitionError("This flag is no longer waiting for a decision.", status=flag.status)
    return flag


def privilege_flag_accept(*, flag_id: int, officer: User) -> PrivilegeFlag:
    """An officer accepts a request: the matching recordings are quarantined now and wait for
    the two-officer review like any flag (accepting hides, it never destroys or releases)."""
    _require_officer(officer)
    with transaction.atomic():
        flag = _locked_request(flag_id)
        flag.matched_recordings = flag_hold(flag=flag, actor=officer, include_stored=True)
        flag.status = FlagStatus.ACCEPTED
        flag.decided_by, flag.decided_at = officer, timezone.now()
        flag.save(update_fields=["matched_recordings", "status", "decided_by", "decided_at"])
        record_event(
            action="privilege_flag.accepted",
            actor=officer,
            target=flag,
            facility_id=flag.facility_id,
            details={"matched": flag.matched_recordings},
        )
    return flag


def privilege_flag_decline(*, flag_id: int, officer: User, reason: str) -> PrivilegeFlag:
    """An officer declines a request: nothing is quarantined. Recordings it held because they
    were already quarantined stay in the two-officer review (a flag's hold is never lifted by
    one person)."""
    _require_officer(officer)
    reason = reason.strip()
    if not reason:
        raise DomainError("A reason is required to decline a flag.")
    with transaction.atomic():
        flag = _locked_request(flag_id)
        flag.status = FlagStatus.DECLINED
        flag.decided_by, flag.decided_at, flag.decided_reason = officer, timezone.now(), reason
        flag.save(update_fields=["status", "decided_by", "decided_at", "decided_reason"])
        record_event(
            action="privilege_flag.declined",
            actor=officer,
            target=flag,
            facility_id=flag.facility_id,
            details={"reason": reason},
        )
    return flag


def privilege_flags_withdraw(*, exempt_number: ExemptNumber, actor: User) -> int:
    """The registration a request relied on is revoked: withdraw its undecided requests.
    Call inside the revocation's transaction. Returns how many were withdrawn."""
    count = 0
    waiting = PrivilegeFlag.objects.select_for_update().filter(
        exempt_number=exempt_number, status=FlagStatus.REQUESTED
    )
    for flag in waiting:
        flag.status = FlagStatus.WITHDRAWN
        flag.save(update_fields=["status"])
        record_event(
            action="privilege_flag.withdrawn",
            actor=actor,
            target=flag,
            facility_id=flag.facility_id,
            details={"registration": exempt_number.pk},
        )
        count += 1
    return count
