"""Attorney accounts: bar number canonical form, sign-up, e-mail verification, expiry.

Sign-up answers the same whatever exists already (username, address, bar number): the outcome
is told only to the address's owner, by e-mail. A bar number is claimed only when the e-mail is
verified, and a number someone else holds becomes a dispute for a registry clerk
(apps.registry.identity), never an error.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from apps.accounts.emails import account_email_enqueue
from apps.accounts.throttle import TooManyRequestsError, email_reference, email_request_admit, mask_email
from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.registry.identity import bar_claim
from apps.registry.models import Attorney, ExemptNumber

logger = logging.getLogger(__name__)

US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
).split()

# Bar number formats we know; any other state takes free text (letters, digits, dash, space).
BAR_NUMBER_PATTERNS: dict[str, tuple[str, str]] = {
    "CA": (r"^\d{1,6}$", "up to 6 digits"),
    "NY": (r"^\d{7}$", "7 digits (the attorney registration number)"),
    "TX": (r"^\d{8}$", "8 digits"),
    "FL": (r"^\d{1,7}$", "up to 7 digits"),
    "IL": (r"^\d{7}$", "7 digits (ARDC number)"),
}
# Up-to-N-digit numbers are written with and without leading zeros ("0123456" = "123456").
_VARIABLE_WIDTH = {"CA", "FL"}
_FREE_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,31}$")
_SEPARATORS = re.compile(r"[\s.-]+")


def validate_bar(bar_state: str, bar_number: str) -> tuple[str, str]:
    """Return (state, number) in canonical form, or raise ValidationError naming the field.

    Canonical: upper case, no spaces, dots or dashes, no leading zeros where the width varies.
    Two spellings of one number compare equal, so the unique constraint sees one number.
    """
    state = bar_state.strip().upper()
    raw = bar_number.strip()
    if state not in US_STATES:
        raise ValidationError({"bar_state": "Choose a US state or territory (two letters)."})
    known = BAR_NUMBER_PATTERNS.get(state)
    if known is None and not _FREE_TEXT.match(raw):
        raise ValidationError({"bar_number": "Letters, digits, spaces and dashes only (at most 32)."})
    number = _SEPARATORS.sub("", raw).upper()
    if known is not None:
        if state in _VARIABLE_WIDTH and number.isdigit():
            number = number.lstrip("0")
        if not re.match(known[0], number):
            raise ValidationError({"bar_number": f"A {state} bar number is {known[1]}."})
    return state, number


def attorney_signup(
    *,
    username: str,
    email: str,
    password: str,
    full_name: str,
    bar_state: str,
    bar_number: str,
    firm: str = "",
    base_url: str,
) -> None:
    """Ask for an attorney account. Answers nothing: the outcome goes to ``email``.

    New username and address: an inactive account, no bar number claimed, and a verification
    link. Known address: an e-mail saying so (sign in or reset). Taken username: an e-mail
    asking for another. The password is hashed on every path (it is the slow step), so the
    time taken tells no more than the answer. Raises TooManyRequestsError past the limits.
    """
    state, number = validate_bar(bar_state, bar_number)
    password_hash = make_password(password)
    try:
        with transaction.atomic():
            email_request_admit(email=email)
            known_address = User.objects.filter(email__iexact=email).exists()
            taken = User.objects.filter(username__iexact=username).exists()
            attorney = None
            if not known_address and not taken:
                try:
                    with transaction.atomic():
                        user = User.objects.create(
                            username=username, email=email, password=password_hash, is_active=False
                        )
                        attorney = Attorney.objects.create(
                            user=user,
                            full_name=full_name.strip(),
                            requested_bar_state=state,
                            requested_bar_number=number,
                            firm=firm.strip(),
                            contact_email=email,
                        )
                except IntegrityError:
                    taken = True  # a concurrent sign-up took the username first
            kind = (
                "signup_verify"
                if attorney
                else "signup_existing"
                if known_address
                else "signup_username_taken"
            )
            record_event(
                action="attorney.signup_requested",
                target=attorney,
                target_type="" if attorney else "email",
                target_id="" if attorney else email_reference(email),
                details={
                    "email_ref": email_reference(email),
                    "email": mask_email(email),
                    "outcome": kind,
                    "requested_bar": f"{state} {number}",
                },
            )
            account_email_enqueue(
                kind=kind, email=email, user_id=attorney.user_id if attorney else None, base_url=base_url
            )
    except TooManyRequestsError:
        with transaction.atomic():
            record_event(
                action="attorney.signup_requested",
                target_type="email",
                target_id=email_reference(email),
                outcome=Outcome.DENIED,
                details={
                    "email_ref": email_reference(email),
                    "email": mask_email(email),
                    "outcome": "rate_limited",
                },
            )
        raise


def attorney_verify_email(*, attorney: Attorney) -> Attorney:
    """The sign-up link was opened: activate the account and claim the bar number asked for
    (or open a dispute if someone holds it). Idempotent; never re-activates an account that
    was verified before (a suspended attorney stays suspended)."""
    with transaction.atomic():
        attorney = Attorney.objects.select_for_update().select_related("user").get(pk=attorney.pk)
        if attorney.email_verified_at is not None:
            return attorney
        attorney.email_verified_at = timezone.now()
        user = attorney.user
        user.is_active = True
        user.save(update_fields=["is_active"])
        dispute = None
        if attorney.requested_bar_number:
            dispute = bar_claim(
                attorney=attorney,
                bar_state=attorney.requested_bar_state,
                bar_number=attorney.requested_bar_number,
                source="signup",
            )
        attorney.save()
        record_event(
            action="attorney.email_verified",
            actor=user,
            target=attorney,
            details={"bar": attorney.shown_bar, "dispute": dispute.pk if dispute else None},
        )
    return attorney


def attorney_signups_expire(*, now: datetime | None = None) -> int:
    """Delete sign-ups never verified within ``ATTORNEY_SIGNUP_EXPIRY_HOURS`` (beat:
    ``registry.expire_unverified_signups``), freeing their username and address. Only accounts
    that never signed in and hold nothing qualify; each deletion is audited."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.ATTORNEY_SIGNUP_EXPIRY_HOURS)
    stale = (
        Attorney.objects.filter(
            email_verified_at__isnull=True,
            created_at__lt=cutoff,
            user__is_active=False,
            user__last_login__isnull=True,
        )
        .exclude(Exists(ExemptNumber.objects.filter(attorney=OuterRef("pk"))))
        .select_related("user")
    )
    expired = 0
    for attorney in stale:
        try:
            with transaction.atomic():
                record_event(
                    action="attorney.signup_expired",
                    target=attorney,
                    details={
                        "username": attorney.user.username,
                        "email_ref": email_reference(attorney.user.email),
                        "requested_bar": attorney.shown_bar,
                    },
                )
                user = attorney.user
                attorney.delete()
                user.delete()
        except ProtectedError:
            logger.warning("unverified attorney %s holds records; left in place", attorney.pk)
            continue
        expired += 1
    return expired
