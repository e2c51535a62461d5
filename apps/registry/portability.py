"""Registry export and import (CSV and JSON), so a facility changing vendor keeps its registry.

Format (both encodings carry the same fields, one registration per row/object):

    number, attorney_name, bar_state, bar_number, firm, contact_email, label,
    facility (facility code; empty = global), status (pending|verified|rejected|revoked|expired),
    effective_from, effective_until (ISO 8601 with offset; empty = none),
    category (attorney|doctor|clergy|consular_officer|defence_social_worker), credential,
    credential_issuer (apps/registry/categories.py)

The last three came with issue 11 (section 6): a file without them (an older export, another
vendor's) reads as attorney registrations with no credential.

JSON: {"format": "callplatform-registry", "version": 1, "registrations": [{...}, ...]}.
Reading validates every row and reports each bad one with its line (CSV; the header is
line 1) or its position (JSON, 1-based). How rows compare with the registry (identical,
conflicting, new) and how they are applied: apps/registry/importing.py.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from apps.audit.services import record_event
from apps.common.csvsafe import SafeDictWriter, unescape_cell
from apps.common.errors import DomainError
from apps.common.phone import normalize_phone_number
from apps.facilities.models import Facility
from apps.registry.categories import credential_clean
from apps.registry.models import ExemptNumber, ExemptStatus, RegistrationCategory
from apps.registry.profiles import validate_bar

FIELDS = [
    "number",
    "attorney_name",
    "bar_state",
    "bar_number",
    "firm",
    "contact_email",
    "label",
    "facility",
    "status",
    "effective_from",
    "effective_until",
    "category",
    "credential",
    "credential_issuer",
]
# Columns an older file may lack (each reads as an attorney registration).
OPTIONAL_FIELDS = {"category", "credential", "credential_issuer"}
FORMAT_NAME = "callplatform-registry"
LIVE = (ExemptStatus.PENDING, ExemptStatus.VERIFIED)


def export_rows() -> list[dict[str, str]]:
    rows = []
    for e in ExemptNumber.objects.select_related("attorney", "facility").order_by("pk"):
        rows.append(
            {
                "number": e.number,
                "attorney_name": e.attorney.full_name,
                "bar_state": e.attorney.bar_state,
                "bar_number": e.attorney.bar_number,
                "firm": e.attorney.firm,
                "contact_email": e.attorney.contact_email,
                "label": e.label,
                "facility": e.facility.code if e.facility else "",
                "status": e.status,
                "effective_from": e.effective_from.isoformat() if e.effective_from else "",
                "effective_until": e.effective_until.isoformat() if e.effective_until else "",
                "category": e.category,
                "credential": e.credential,
                "credential_issuer": e.credential_issuer,
            }
        )
    return rows


def registry_export(*, actor: User, fmt: str, destination: str) -> str:
    """The whole registry as text, for a registry clerk; the read is audited before anything
    leaves (numbers, bar numbers and e-mails of every attorney)."""
    with transaction.atomic():
        text, rows = export_text(fmt)
        record_event(
            action="registry.exported",
            actor=actor,
            target_type="registry.exemptnumber",
            details={"format": fmt, "rows": rows, "destination": destination[:200]},
        )
    return text


def export_text(fmt: str) -> tuple[str, int]:
    """The registry in ``fmt`` (formula-safe CSV, or JSON) and its row count. Unaudited: call
    ``registry_export``."""
    rows = export_rows()
    if fmt == "json":
        document = {"format": FORMAT_NAME, "version": 1, "registrations": rows}
        return json.dumps(document, indent=2) + "\n", len(rows)
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), len(rows)


@dataclass
class Row:
    line: int
    number: str
    attorney_name: str
    bar_state: str
    bar_number: str
    firm: str
    contact_email: str
    label: str
    facility: Facility | None
    status: str
    effective_from: datetime | None
    effective_until: datetime | None
    category: str = RegistrationCategory.ATTORNEY
    credential: str = ""
    credential_issuer: str = ""


def parse_records(text: str, fmt: str) -> list[tuple[int, dict[str, Any]]]:
    if fmt == "json":
        data = json.loads(text)
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT_NAME
            or not isinstance(data.get("registrations"), list)
        ):
            raise DomainError(
                f'Not a registry file: expected {{"format": "{FORMAT_NAME}", "registrations": [...]}}'
            )
        return [(i, r if isinstance(r, dict) else {}) for i, r in enumerate(data["registrations"], start=1)]
    reader = csv.DictReader(io.StringIO(text))
    missing = set(FIELDS) - OPTIONAL_FIELDS - set(reader.fieldnames or [])
    if missing:
        raise DomainError(f"CSV header lacks: {', '.join(sorted(missing))}")
    # Our own export is formula-safe ('=..., '+1...): read such cells back as they were.
    return [
        (
            reader.line_num,
            {key: unescape_cell(value) if isinstance(value, str) else value for key, value in row.items()},
        )
        for row in reader
    ]


def _date(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(str(value))
    if parsed is None or parsed.tzinfo is None:
        raise ValueError(f"{name} must be an ISO 8601 date-time with an offset")
    return parsed


def validate(records: list[tuple[int, dict[str, Any]]], where: str) -> tuple[list[Row], list[str]]:
    """Each row read on its own (and against the rest of the file): the errors that stop an
    import. How a row compares with the registry is apps/registry/importing.py's concern."""
    rows: list[Row] = []
    errors: list[str] = []
    facilities = {f.code: f for f in Facility.objects.all()}
    verified_in_file: dict[str, int] = {}
    live_in_file: dict[tuple[str, str, str], int] = {}
    for line, raw in records:

        def get(key: str, raw: dict[str, Any] = raw) -> str:
            return str(raw.get(key) or "").strip()

        try:
            number = normalize_phone_number(get("number"))
            state, bar = validate_bar(get("bar_state"), get("bar_number"))
            if not get("attorney_name"):
                raise ValueError("attorney_name is required")
            status = get("status")
            if status not in ExemptStatus.values:
                raise ValueError(f"status must be one of {', '.join(ExemptStatus.values)}")
            code = get("facility")
            if code and code not in facilities:
                raise ValueError(f"unknown facility {code!r}")
            start, end = (
                _date(raw.get("effective_from"), "effective_from"),
                _date(raw.get("effective_until"), "effective_until"),
            )
            if status == ExemptStatus.VERIFIED and start is None:
                raise ValueError("a verified row needs effective_from")
            if start and end and end <= start:
                raise ValueError("effective_until must be after effective_from")
            category = get("category") or RegistrationCategory.ATTORNEY
            if category not in RegistrationCategory.values:
                raise ValueError(f"category must be one of {', '.join(RegistrationCategory.values)}")
            credential, issuer = credential_clean(category, get("credential"), get("credential_issuer"))
            if status == ExemptStatus.VERIFIED:
                if number in verified_in_file:
                    raise ValueError(
                        f"{number} is verified twice in the file (also {where} {verified_in_file[number]})"
                    )
                verified_in_file[number] = line
            if status in LIVE:
                # The registry holds at most one live registration per attorney and number.
                live_key = (number, state, bar)
                if live_key in live_in_file:
                    raise ValueError(
                        f"{number} is live twice in the file for this attorney "
                        f"(also {where} {live_in_file[live_key]})"
                    )
                live_in_file[live_key] = line
            rows.append(
                Row(
                    line,
                    number,
                    get("attorney_name"),
                    state,
                    bar,
                    get("firm"),
                    get("contact_email"),
                    get("label")[:100],
                    facilities.get(code),
                    status,
                    start,
                    end,
                    category,
                    credential,
                    issuer,
                )
            )
        except (ValueError, DomainError, ValidationError) as exc:
            message = (
                exc.message
                if isinstance(exc, DomainError)
                else (
                    "; ".join(m for ms in exc.message_dict.values() for m in ms)
                    if isinstance(exc, ValidationError)
                    else str(exc)
                )
            )
            errors.append(f"{where} {line}: {message}")
    return rows, errors
