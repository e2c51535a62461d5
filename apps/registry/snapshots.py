"""The daily signed snapshot of the verified list (issue 11, section 1: "the list cannot shrink
unnoticed").

Once a day (beat runs ``registry.list_snapshot`` hourly; the first run of a day takes it,
later runs find it taken) the registry states what it exempts: the count, the SHA-256 of the
sorted E.164 numbers, the date, and per number its keyed reference, the registration that
covered it and that registration's scope (its facility, or every facility: a narrowed scope is
a drop too). The statement is signed with the audit checkpoint key (apps/audit/signing.py), so
the same public key verifies both, and the rows are append-only (migrations 0007, 0009).

"Exempt today" is the registry's one rule, ``REGISTRATION_COVERS_SQL`` (apps/registry/
privilege.py) at the moment of the snapshot: nothing here restates it.

The entries hold keyed references, never clear numbers, so a snapshot explains a later drop
(apps/registry/alarms.py) without keeping a copy of the list outside the registry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import canonical_bytes, format_time
from apps.audit.models import ProtectedValue
from apps.audit.references import reference
from apps.audit.services import record_event
from apps.common.locks import advisory_xact_lock
from apps.registry.alarms import list_drops_check
from apps.registry.models import ListAlarm, ListSnapshot, ListSnapshotEntry
from apps.registry.privilege import REGISTRATION_COVERS_SQL
from apps.registry.services import exempt_numbers_expire

# Every registration that covers the instant (one per number: at most one verified row per
# number, see ExemptNumber's constraints), global and facility-scoped alike.
COVERED_SQL = (
    "SELECT e.number, e.id, e.facility_id FROM registry_exemptnumber e WHERE "  # noqa: S608 - constant SQL, no input
    + REGISTRATION_COVERS_SQL.format(at="%(at)s")
    + " ORDER BY e.number, e.id"
)


# What a new snapshot's entries hold (ListSnapshot.entries_version): 2 = reference,
# registration and scope. Version 1 snapshots (before registry migration 0009) have no scope.
ENTRIES_VERSION = 2

# (keyed reference or E.164 number, registration id, facility id or None = every facility)
Entry = tuple[str, int, int | None]


@dataclass(frozen=True)
class SnapshotOutcome:
    snapshot: ListSnapshot
    created: bool
    alarm: ListAlarm | None = None


def verified_list(at: datetime) -> list[Entry]:
    """(E.164 number, covering registration id, its facility or None) of every number exempt at
    ``at``, sorted."""
    with connection.cursor() as cursor:
        cursor.execute(COVERED_SQL, {"at": connection.ops.adapt_datetimefield_value(at)})
        rows = cursor.fetchall()
    seen: dict[str, Entry] = {}
    for number, registration_id, facility_id in rows:
        seen.setdefault(number, (number, registration_id, facility_id))
    return [seen[number] for number in sorted(seen)]


def numbers_digest(numbers: list[str]) -> str:
    """SHA-256 of the sorted E.164 numbers, one per line (what an outside party holding the
    list can recompute and compare)."""
    return hashlib.sha256("\n".join(sorted(numbers)).encode()).hexdigest()


def entries_digest(entries: list[Entry], *, version: int = ENTRIES_VERSION) -> str:
    """SHA-256 of the sorted lines of a snapshot's entries: ``"<number_ref> <registration_id>
    <facility_id or *>"`` (``*`` = every facility); version 1, ``"<number_ref> <registration_id>"``."""
    if version >= 2:
        lines = [f"{ref} {reg} {'*' if facility is None else facility}" for ref, reg, facility in entries]
    else:
        lines = [f"{ref} {reg}" for ref, reg, _ in entries]
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def snapshot_payload(
    *,
    day: date,
    taken_at: datetime,
    count: int,
    numbers_sha256: str,
    entries_sha256: str,
    entries_version: int = ENTRIES_VERSION,
) -> bytes:
    """The exact bytes a snapshot's signature covers. The version is signed too (from 2 on; a
    version 1 payload is the one those snapshots were signed with), so a scoped snapshot cannot
    be passed off as an unscoped one."""
    statement: dict[str, object] = {
        "kind": "registry.list_snapshot",
        "day": day.isoformat(),
        "taken_at": format_time(taken_at),
        "count": count,
        "numbers_sha256": numbers_sha256,
        "entries_sha256": entries_sha256,
    }
    if entries_version >= 2:
        statement["entries_version"] = entries_version
    return canonical_bytes(statement)


def snapshot_entries(snapshot: ListSnapshot) -> list[Entry]:
    """The entries stored with ``snapshot`` as (reference, registration, facility or None)."""
    return list(snapshot.entries.values_list("number_ref", "registration_id", "facility_id"))


def snapshot_signature_valid(snapshot: ListSnapshot, *, public_key: bytes | None = None) -> bool:
    """Does the signature hold over the snapshot *and* the entries stored with it?"""
    entries = snapshot_entries(snapshot)
    version = snapshot.entries_version
    if len(entries) != snapshot.count or entries_digest(entries, version=version) != snapshot.entries_sha256:
        return False
    payload = snapshot_payload(
        day=snapshot.day,
        taken_at=snapshot.taken_at,
        count=snapshot.count,
        numbers_sha256=snapshot.numbers_sha256,
        entries_sha256=snapshot.entries_sha256,
        entries_version=version,
    )
    return signing.verify_signature(
        public_key=public_key or signing.public_key_bytes(), payload=payload, signature_b64=snapshot.signature
    )


def registry_snapshot_take(*, actor: User | None = None, day: date | None = None) -> SnapshotOutcome:
    """Take the snapshot of ``day`` (default: today) if it is not taken yet, and compare it with
    the one before it: an unexplained drop raises a ``ListAlarm`` (apps/registry/alarms.py).

    Lapsed registrations are marked expired first (their own audited events): a lapse is then
    explained like a revocation, and a row changed behind the services' back is not.
    ``day`` exists for replays and tests; the set is always the one exempt right now.
    """
    exempt_numbers_expire()
    with transaction.atomic():
        # Two takers (beat and the command) must not both compute the day's snapshot.
        advisory_xact_lock("registry-list-snapshot", "take")
        now = timezone.now()
        day = day or timezone.localdate(now)
        existing = ListSnapshot.objects.filter(day=day).first()
        if existing is not None:
            return SnapshotOutcome(existing, created=False)
        covered = verified_list(now)
        refs = [(reference("number", number), reg, facility) for number, reg, facility in covered]
        # The clear value behind each reference, for registry clerks who must see which numbers
        # an alarm names (as protect_number does, in bulk).
        ProtectedValue.objects.bulk_create(
            [
                ProtectedValue(ref=ref, kind="number", value=number)
                for (number, _, _), (ref, _, _) in zip(covered, refs, strict=True)
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        numbers_sha256 = numbers_digest([number for number, _, _ in covered])
        entries_sha256 = entries_digest(refs)
        payload = snapshot_payload(
            day=day,
            taken_at=now,
            count=len(covered),
            numbers_sha256=numbers_sha256,
            entries_sha256=entries_sha256,
        )
        snapshot = ListSnapshot.objects.create(
            day=day,
            taken_at=now,
            count=len(covered),
            numbers_sha256=numbers_sha256,
            entries_sha256=entries_sha256,
            key_id=signing.key_id(signing.public_key_bytes()),
            signature=signing.sign(payload),
            entries_version=ENTRIES_VERSION,
        )
        ListSnapshotEntry.objects.bulk_create(
            [
                ListSnapshotEntry(
                    snapshot=snapshot, number_ref=ref, registration_id=reg, facility_id=facility
                )
                for ref, reg, facility in refs
            ],
            batch_size=1000,
        )
        record_event(
            action="registry.snapshot_taken",
            actor=actor,
            target=snapshot,
            details={"day": day.isoformat(), "count": snapshot.count, "numbers_sha256": numbers_sha256},
        )
        previous = ListSnapshot.objects.filter(day__lt=day).order_by("-day").first()
        alarm = list_drops_check(previous=previous, current=snapshot) if previous is not None else None
    return SnapshotOutcome(snapshot, created=True, alarm=alarm)
