"""Keyed references: how the trail names a registered number or an inmate without saying it.

The masking rule (README, "Audit"): an event never holds a phone number, nor an inmate named
together with a number or an attorney, in clear. It holds ``protect_number(e164)`` /
``protect_inmate(booking)`` instead: ``<kind>_ref:<HMAC-SHA256(AUDIT_REFERENCE_KEY)[:32]>``.
The same value always gives the same reference, so auditors still see which events concern
the same number, and the clear value goes to ``ProtectedValue``, which only registry clerks
and privilege officers read (``revealed_values``).

Masking happens when the event is written, not when it is read: the hash chain and every
export then cover exactly the form auditors see, so an export verifies offline without a
single clear number in it, and nobody has to trust a read-time filter applied to a sealed
clear value. ``record_event`` also runs ``scrub`` over every event's details as a backstop,
turning any E.164-shaped string a writer forgot into its reference.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from apps.audit.models import ProtectedValue
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.common.visibility import can_see_privileged_details

# An E.164 number (with or without the "+") as it may appear inside any text.
_E164 = re.compile(r"(?<![\w+:])\+[1-9]\d{6,14}(?!\d)")
REF_PATTERN = re.compile(r"\b[a-z_]+_ref:[0-9a-f]{32}\b")


def reference(kind: str, value: str) -> str:
    digest = hmac.new(settings.AUDIT_REFERENCE_KEY, f"{kind}\x00{value}".encode(), hashlib.sha256)
    return f"{kind}_ref:{digest.hexdigest()[:32]}"


def protect(kind: str, value: str) -> str:
    """The reference for ``value``; keeps the clear value for clerks and officers (in the
    caller's transaction, so it commits with the event that names it)."""
    ref = reference(kind, value)
    ProtectedValue.objects.bulk_create(
        [ProtectedValue(ref=ref, kind=kind, value=value[:300])], ignore_conflicts=True
    )
    return ref


def protect_number(e164: str) -> str:
    return protect("number", e164)


def protect_inmate(booking_number: str) -> str:
    return protect("inmate", booking_number.strip())


# A North American number as people write it in free text ("(212) 555-0101", "212.555.0101",
# "1-212-555-0101"): groups of 3, 3 and 4 digits with a separator before the last group, so
# dates (4-2-2) and plain ids are left alone. What it catches, a reason typed by staff, is the
# commonest way a number slips into the trail in clear.
_NANP_WRITTEN = re.compile(
    r"(?<![\w+])(?:1[-. ]?)?\(?([2-9][0-9]{2})\)?[-. ]?([0-9]{3})[-. ]([0-9]{4})(?![\w])"
)


def _scrub_text(text: str) -> str:
    if "+" in text:
        text = _E164.sub(lambda match: protect_number(match.group(0)), text)
    return _NANP_WRITTEN.sub(lambda m: protect_number(f"+1{m.group(1)}{m.group(2)}{m.group(3)}"), text)


def scrub(value: Any) -> Any:
    """``value`` with every number inside its strings replaced by its reference: E.164, and
    North American numbers as people write them."""
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def masked_search_filters(filters: dict[str, Any], *, region: str = "US") -> dict[str, str]:
    """A staff search's filters as the trail may hold them: the number as a reference, and the
    inmate as one too when searched together with a number (the two would be a link)."""
    masked: dict[str, str] = {}
    number = str(filters.get("number") or "").strip()
    for key, value in filters.items():
        if not value or key in {"number", "region"}:
            continue
        masked[key] = str(value)
    if number:
        try:
            e164 = normalize_phone_number(number, filters.get("region") or region)
        except DomainError:
            e164 = number  # unparseable: still never in clear
        masked["number_ref"] = protect_number(e164)
        if masked.get("inmate"):
            masked["inmate_ref"] = protect_inmate(masked.pop("inmate"))
    return masked


def refs_in(values: Iterable[Any]) -> set[str]:
    """Every reference named anywhere inside ``values`` (event details)."""
    found: set[str] = set()
    for value in values:
        if isinstance(value, str):
            found.update(REF_PATTERN.findall(value))
        elif isinstance(value, dict):
            found |= refs_in(value.values())
        elif isinstance(value, list | tuple):
            found |= refs_in(value)
    return found


def revealed_values(user: User | AnonymousUser, refs: Iterable[str]) -> dict[str, str]:
    """The clear values behind ``refs`` for a registry clerk or privilege officer; nothing for
    anyone else (superusers included, as everywhere else numbers are unmasked)."""
    wanted = set(refs)
    if not wanted or not can_see_privileged_details(user):
        return {}
    return dict(ProtectedValue.objects.filter(ref__in=wanted).values_list("ref", "value"))
