"""Idempotent registry import (issue 11, section 1): plan first, then apply all or nothing.

Each row of a readable file (apps/registry/portability.py) is compared with the registry:

- **identical**: a registration with the same number, attorney (bar), scope, status, window,
  category and credential is already here: skipped and counted. So the same file twice changes
  nothing the second time.
- **conflict** too: a row that matches a registration here in everything but its category or
  credential (one registry must not call one registration a doctor's and the other a priest's).
- **conflict**: the registry already answers the row differently (the number is verified here
  for another attorney; this attorney's live registration of it has another status, window or
  scope). Reported with its line and skipped: what is here is kept, never overwritten by a file.
  Every conflict leaves a number the file holds verified still exempt here, except a pending
  registration of the same attorney, which the file's verified row verifies (``verify``). With
  ``strict``, conflicts are errors.
- **new**: created (history rows too: rejected, revoked, expired are evidence).

Any error, in reading or in applying (a constraint the plan did not foresee), changes nothing:
the apply runs in one transaction. Importing system A's export into system B therefore leaves
every number exempt in A exempt in B (tests/registry/test_import_idempotent.py).

An import takes effect only when a second registry clerk approves it (apps/registry/bulk.py);
``plan_import`` is the dry run both clerks see.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from apps.audit.references import protect_number
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.recordings.services import recordings_quarantine_for_number
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.portability import LIVE, Row, parse_records, validate
from apps.registry.privilege import lock_number

CREATE, VERIFY = "create", "verify"
_CHUNK = 500

Key = tuple[str, str, str, int | None, str, datetime | None, datetime | None]
Category = tuple[str, str, str]  # category, credential, credential_issuer


@dataclass
class ImportReport:
    """The dry run, and after approval what was done. Lines are the file's (CSV line, or the
    JSON registration's position)."""

    errors: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    rows: int = 0
    identical: int = 0
    to_create: int = 0
    to_verify: int = 0
    imported: int = 0
    verified_existing: int = 0
    quarantined: int = 0

    @property
    def changes(self) -> int:
        return self.to_create + self.to_verify

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class PlannedRow:
    row: Row
    action: str  # CREATE | VERIFY
    existing_id: int | None = None


def _key(
    number: str,
    state: str,
    bar: str,
    facility_id: int | None,
    status: str,
    start: datetime | None,
    end: datetime | None,
) -> Key:
    """What makes two registrations the same (label and contact details aside)."""
    return (number, state, bar, facility_id, status, start, end)


def _category(e: ExemptNumber | Row) -> Category:
    return (e.category, e.credential, e.credential_issuer)


def _row_key(row: Row) -> Key:
    facility_id = row.facility.pk if row.facility else None
    return _key(
        row.number,
        row.bar_state,
        row.bar_number,
        facility_id,
        row.status,
        row.effective_from,
        row.effective_until,
    )


def _existing(numbers: set[str]) -> list[ExemptNumber]:
    found: list[ExemptNumber] = []
    ordered = sorted(numbers)
    for start in range(0, len(ordered), _CHUNK):
        found += ExemptNumber.objects.filter(number__in=ordered[start : start + _CHUNK]).select_related(
            "attorney"
        )
    return found


def plan_import(text: str, fmt: str, *, strict: bool = False) -> tuple[list[PlannedRow], ImportReport]:
    """Read the file and compare each row with the registry; changes nothing."""
    where = "line" if fmt == "csv" else "registration"
    try:
        records = parse_records(text, fmt)
    except (DomainError, json.JSONDecodeError, csv.Error) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        return [], ImportReport(errors=[message])
    rows, errors = validate(records, where)
    report = ImportReport(errors=errors, rows=len(records))
    if errors:
        return [], report
    existing = _existing({row.number for row in rows})
    keyed = [
        (
            _key(
                e.number,
                e.attorney.bar_state,
                e.attorney.bar_number,
                e.facility_id,
                e.status,
                e.effective_from,
                e.effective_until,
            ),
            e,
        )
        for e in existing
    ]
    unmatched = Counter((key, _category(e)) for key, e in keyed)
    # Registrations here by everything but category: a row matching one only so is a conflict.
    same_but_category: dict[Key, list[ExemptNumber]] = {}
    for key, e in keyed:
        same_but_category.setdefault(key, []).append(e)
    verified_here = {e.number: e for e in existing if e.status == ExemptStatus.VERIFIED}
    live_here = {
        (e.number, e.attorney.bar_state, e.attorney.bar_number): e for e in existing if e.status in LIVE
    }
    planned: list[PlannedRow] = []
    for row in rows:
        key = _row_key(row)
        if unmatched[(key, _category(row))] > 0:
            unmatched[(key, _category(row))] -= 1
            report.identical += 1
            continue
        conflict = None
        action = PlannedRow(row, CREATE)
        other = next((e for e in same_but_category.get(key, []) if _category(e) != _category(row)), None)
        if other is not None:
            conflict = (
                f"is here as a {other.category} registration (registration {other.pk}), the file says "
                f"{row.category}"
                + (" with another credential" if other.category == row.category else "")
                + "; kept as it is here"
            )
        elif row.status in LIVE:
            mine = live_here.get((row.number, row.bar_state, row.bar_number))
            holder = verified_here.get(row.number)
            if mine is not None and _category(mine) != _category(row):
                conflict = (
                    f"is {mine.status} here for this attorney as a {mine.category} registration "
                    f"(registration {mine.pk}), the file says {row.category}; kept as it is here"
                )
            elif (
                mine is not None
                and mine.status == ExemptStatus.PENDING
                and row.status == ExemptStatus.VERIFIED
            ):
                action = PlannedRow(row, VERIFY, existing_id=mine.pk)
                if holder is not None:
                    conflict = "is verified here for another attorney; kept as it is here"
            elif mine is not None:
                conflict = (
                    f"is already {mine.status} here for this attorney with another window or scope "
                    f"(registration {mine.pk}); kept as it is here"
                )
            elif row.status == ExemptStatus.VERIFIED and holder is not None:
                conflict = "is verified here for another attorney; kept as it is here"
        if conflict is not None:
            message = f"{where} {row.line}: {row.number} {conflict}"
            (report.errors if strict else report.conflicts).append(message)
            continue
        planned.append(action)
        if action.action == VERIFY:
            report.to_verify += 1
        else:
            report.to_create += 1
    if report.errors:
        return [], report
    return planned, report


def apply_import(
    text: str, fmt: str, *, actor: User, strict: bool = False, bulk_change_id: int | None = None
) -> ImportReport:
    """Plan again (the registry may have changed since the dry run) and apply every change in
    one transaction; on any error return the errors and change nothing. ``actor`` is the clerk
    who proposed the file (recorded as verifier); ``bulk_change_id`` ties each event to the
    approved change."""
    try:
        with transaction.atomic():
            planned, report = plan_import(text, fmt, strict=strict)
            if report.errors:
                return report
            for item in planned:
                _apply_row(item, actor=actor, report=report, bulk_change_id=bulk_change_id)
    except IntegrityError as exc:
        # A constraint caught what the plan did not (a concurrent change): nothing was applied.
        return ImportReport(
            errors=[f"the registry refused the import ({exc.__class__.__name__}); nothing changed"]
        )
    return report


def _attorney_for(row: Row) -> Attorney:
    attorney = Attorney.objects.filter(bar_state=row.bar_state, bar_number=row.bar_number).first()
    if attorney is not None:
        return attorney
    user = User.objects.create_user(
        username=f"bar-{row.bar_state}-{row.bar_number}".lower().replace(" ", "-")[:150],
        email=row.contact_email,
        is_active=False,
    )
    return Attorney.objects.create(
        user=user,
        full_name=row.attorney_name,
        bar_state=row.bar_state,
        bar_number=row.bar_number,
        firm=row.firm,
        contact_email=row.contact_email,
    )


def _apply_row(item: PlannedRow, *, actor: User, report: ImportReport, bulk_change_id: int | None) -> None:
    row = item.row
    verified = row.status == ExemptStatus.VERIFIED
    if verified:
        lock_number(row.number)
    if item.action == VERIFY and item.existing_id is not None:
        exempt = ExemptNumber.objects.select_for_update().get(pk=item.existing_id)
        exempt.status = ExemptStatus.VERIFIED
        exempt.effective_from = row.effective_from
        exempt.effective_until = row.effective_until
        exempt.verified_by = actor
        exempt.verified_at = row.effective_from
        exempt.save(
            update_fields=["status", "effective_from", "effective_until", "verified_by", "verified_at"]
        )
        report.verified_existing += 1
    else:
        exempt = ExemptNumber.objects.create(
            number=row.number,
            attorney=_attorney_for(row),
            label=row.label,
            facility=row.facility,
            category=row.category,
            credential=row.credential,
            credential_issuer=row.credential_issuer,
            status=row.status,
            effective_from=row.effective_from,
            effective_until=row.effective_until,
            verified_by=actor if verified else None,
            verified_at=row.effective_from if verified else None,
            decided_reason="imported" if row.status == ExemptStatus.REJECTED else "",
        )
        report.imported += 1
    if verified:
        report.quarantined += recordings_quarantine_for_number(
            number=row.number,
            facility_id=row.facility.pk if row.facility else None,
            reason=f"number imported as verified attorney line (registration {exempt.pk})",
            actor=actor,
            exempt_number_id=exempt.pk,
        )
    record_event(
        action="exempt_number.imported",
        actor=actor,
        target=exempt,
        facility_id=exempt.facility_id,
        details={
            "line": row.line,
            "status": row.status,
            "number_ref": protect_number(row.number),
            "verified_existing": item.action == VERIFY,
            **({"bulk_change": bulk_change_id} if bulk_change_id else {}),
        },
    )
