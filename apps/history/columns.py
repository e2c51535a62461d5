"""The input of ``import_history``: a previous vendor's call-detail records, one call a row.

CSV, UTF-8, with this header row (the order may differ; unknown columns are refused, so a
misnamed column cannot be silently ignored):

=======================  ==========================================================  ========
column                   meaning                                                     required
=======================  ==========================================================  ========
vendor_call_id           the vendor's id of the call (unique per facility; <= 58     yes
                         characters of letters, digits and ``._:-``)
facility                 our facility code                                           yes
booking_number           the inmate's booking number at that facility                yes
last_name, first_name    the inmate's name (used only if the inmate is new)          yes
account_number           the inmate's calling account number                         no
dialed_number            the number called, in any format (normalised to E.164)      yes
started_at               ISO 8601 with a UTC offset, e.g. 2024-03-01T14:05:00-05:00  yes
duration_seconds         0 to 86400                                                  yes
recording_ref            the vendor's reference of the recording (blank: none)       no
=======================  ==========================================================  ========

A row that breaks a rule is written to the reject file with its line number and reason; the
good rows are loaded. Numbers are normalised through a cache (1.3M distinct numbers in 70M
rows), so the cost of parsing a number is paid once per number, not once per row. National
formats are read in the facility's region, as the switch's are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from apps.common.errors import InvalidPhoneNumberError
from apps.common.phone import normalize_phone_number

COLUMNS = (
    "vendor_call_id",
    "facility",
    "booking_number",
    "last_name",
    "first_name",
    "account_number",
    "dialed_number",
    "started_at",
    "duration_seconds",
    "recording_ref",
)
REQUIRED = frozenset(COLUMNS) - {"account_number", "recording_ref"}
CALL_ID = re.compile(r"^[A-Za-z0-9._:-]{1,58}$")
MAX_DURATION = 86_400


class RejectedRow(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StagedRow:
    """A row that passed every check, as it is copied into the staging table."""

    line_number: int
    vendor_call_id: str
    facility_id: int
    booking_number: str
    last_name: str
    first_name: str
    account_number: str
    number: str
    started_at: datetime
    duration_seconds: int
    recording_ref: str


def header_problem(header: list[str]) -> str | None:
    """Why a header row cannot be read, or None."""
    names = [h.strip() for h in header]
    unknown = sorted(set(names) - set(COLUMNS))
    missing = sorted(REQUIRED - set(names))
    if unknown:
        return f"unknown columns: {', '.join(unknown)} (expected {', '.join(COLUMNS)})"
    if missing:
        return f"missing columns: {', '.join(missing)}"
    if len(set(names)) != len(names):
        return "a column appears twice"
    return None


_NANP_REGIONS = frozenset({"US", "CA"})
_NANP_PUNCTUATION = str.maketrans("", "", " ()-.")


def nanp_fast_e164(raw: str, region: str) -> str | None:
    """The E.164 form of a plainly written North American number, without phonenumbers'
    parser (140 us a number; a vendor's file has millions of distinct spellings). None when
    the text is anything else (letters, extensions, other countries): the full parser decides.
    Equal to ``normalize_phone_number`` wherever it answers (a property test says so)."""
    if region not in _NANP_REGIONS:
        return None
    text = raw.strip()
    plus = text.startswith("+")
    digits = (text[1:] if plus else text).translate(_NANP_PUNCTUATION)
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    elif plus or len(digits) != 10:
        return None
    if digits[0] in "01":
        return None
    return f"+1{digits}"


@lru_cache(maxsize=2_000_000)
def _e164(raw: str, region: str) -> str | None:
    fast = nanp_fast_e164(raw, region)
    if fast is not None:
        return fast
    try:
        return normalize_phone_number(raw, region)
    except InvalidPhoneNumberError:
        return None


def _text(value: str, name: str, limit: int, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise RejectedRow(f"{name} is empty")
    if len(value) > limit:
        raise RejectedRow(f"{name} is longer than {limit} characters")
    if not value.isprintable():
        raise RejectedRow(f"{name} contains control characters")
    return value


def parse_row(line_number: int, row: dict[str, str], facilities: dict[str, tuple[int, str]]) -> StagedRow:
    """Check one row (``row`` keyed by column); raise RejectedRow with the reason."""
    if None in row or any(value is None for value in row.values()):
        raise RejectedRow("wrong number of fields")
    call_id = row["vendor_call_id"].strip()
    if not CALL_ID.match(call_id):
        raise RejectedRow("vendor_call_id must be 1-58 letters, digits or ._:-")
    facility = facilities.get(row["facility"].strip())
    if facility is None:
        raise RejectedRow("unknown facility, or one you do not administer")
    facility_id, region = facility
    number = _e164(row["dialed_number"], region)
    if number is None:
        raise RejectedRow("dialed_number is not a phone number")
    try:
        started_at = datetime.fromisoformat(row["started_at"].strip())
    except ValueError:
        raise RejectedRow("started_at is not an ISO 8601 time") from None
    if started_at.tzinfo is None:
        raise RejectedRow("started_at has no UTC offset")
    duration = row["duration_seconds"].strip()
    if not duration.isdigit() or int(duration) > MAX_DURATION:
        raise RejectedRow(f"duration_seconds must be a whole number from 0 to {MAX_DURATION}")
    return StagedRow(
        line_number=line_number,
        vendor_call_id=call_id,
        facility_id=facility_id,
        booking_number=_text(row["booking_number"], "booking_number", 32),
        last_name=_text(row["last_name"], "last_name", 100),
        first_name=_text(row["first_name"], "first_name", 100),
        account_number=_text(row.get("account_number") or "", "account_number", 32, required=False),
        number=number,
        started_at=started_at,
        duration_seconds=int(duration),
        recording_ref=_text(row.get("recording_ref") or "", "recording_ref", 512, required=False),
    )
