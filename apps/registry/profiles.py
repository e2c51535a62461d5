"""Attorney accounts and profiles: sign-up, bar number validation, profile changes."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import record_event
from apps.registry.models import Attorney

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
_FREE_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{0,31}$")


def validate_bar(bar_state: str, bar_number: str) -> tuple[str, str]:
    """Return (state, number) cleaned, or raise ValidationError naming the field."""
    state = bar_state.strip().upper()
    number = bar_number.strip()
    if state not in US_STATES:
        raise ValidationError({"bar_state": "Choose a US state or territory (two letters)."})
    known = BAR_NUMBER_PATTERNS.get(state)
    if known is not None:
        if not re.match(known[0], number):
            raise ValidationError({"bar_number": f"A {state} bar number is {known[1]}."})
    elif not _FREE_TEXT.match(number):
        raise ValidationError({"bar_number": "Letters, digits, spaces and dashes only (at most 32)."})
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
) -> Attorney:
    """Create an *inactive* portal account; it becomes active when the e-mail is verified."""
    state, number = validate_bar(bar_state, bar_number)
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, password=password, is_active=False)
        attorney = Attorney.objects.create(
            user=user,
            full_name=full_name.strip(),
            bar_state=state,
            bar_number=number,
            firm=firm.strip(),
            contact_email=email,
        )
        record_event(
            action="attorney.signed_up", actor=user, target=attorney, details={"bar": f"{state} {number}"}
        )
    return attorney


def attorney_activate(*, user: User) -> None:
    with transaction.atomic():
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
            record_event(action="attorney.email_verified", actor=user, target=user)


def attorney_update_profile(*, attorney: Attorney, actor: User, **fields: str) -> Attorney:
    state, number = validate_bar(
        fields.pop("bar_state", attorney.bar_state), fields.pop("bar_number", attorney.bar_number)
    )
    with transaction.atomic():
        attorney.bar_state, attorney.bar_number = state, number
        for name in ("full_name", "firm", "contact_email", "contact_phone"):
            if name in fields and hasattr(attorney, name):
                setattr(attorney, name, fields[name].strip())
        attorney.full_clean()
        attorney.save()
        record_event(action="attorney.profile_updated", actor=actor, target=attorney)
    return attorney
