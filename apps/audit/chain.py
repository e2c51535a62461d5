"""Sealing the trail into a hash chain, signing checkpoints, and verifying both.

Sealing is downstream work: the committed event rows are the source of truth and the sealer
can run any number of times, concurrently, or be killed half-way. Each batch is one
transaction under the chain-head row lock, so a batch is sealed completely or not at all and
two sealers never extend the chain from the same tip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import (
    EVENT_FIELDS,
    GENESIS_HASH,
    checkpoint_payload,
    event_hash,
    format_time,
)
from apps.audit.models import AuditEvent, ChainHead, Checkpoint
from apps.audit.witness import Witness, witnessed_checkpoints

_SEAL_FIELDS = ["sequence", "prev_hash", "hash", "sealed_at"]


def event_record(values: Mapping[str, Any]) -> dict[str, Any]:
    """An event as the chain sees it (hashed, exported), from a row's column values."""
    record = {name: values[name] for name in EVENT_FIELDS}
    record["created_at"] = format_time(values["created_at"])
    record["sealed_at"] = format_time(values["sealed_at"])
    return record


def _instance_values(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in EVENT_FIELDS}


def _lock_head() -> None:
    """Take the chain-head row lock for the rest of the transaction (creating the row once).

    An UPDATE rather than SELECT ... FOR UPDATE: on PostgreSQL both lock the row, and on
    SQLite only a write takes the database lock, so this serialises sealers there too.
    """
    now = timezone.now()
    if ChainHead.objects.filter(pk=1).update(updated_at=now) == 0:
        ChainHead.objects.get_or_create(pk=1)
        ChainHead.objects.select_for_update().filter(pk=1).update(updated_at=now)


def chain_tip() -> tuple[int, str]:
    last = (
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )
    if last is None:
        return 0, GENESIS_HASH
    return int(last[0] or 0), last[1]


def audit_seal_pending(*, batch_size: int | None = None) -> int:
    """Seal every pending event, oldest id first, in batches; return how many were sealed."""
    size = batch_size or settings.AUDIT_SEAL_BATCH_SIZE
    total = 0
    while True:
        sealed = _seal_batch(size)
        total += sealed
        if sealed < size:
            return total


def _seal_batch(size: int) -> int:
    with transaction.atomic():
        _lock_head()
        sequence, prev_hash = chain_tip()
        pending = list(AuditEvent.objects.filter(sequence__isnull=True).order_by("id")[:size])
        if not pending:
            return 0
        now = timezone.now()
        for event in pending:
            sequence += 1
            event.sequence = sequence
            event.prev_hash = prev_hash
            event.sealed_at = now
            event.hash = event_hash(event_record(_instance_values(event)))
            prev_hash = event.hash
        _write_seals(pending, sealed_at=now)
        ChainHead.objects.filter(pk=1).update(last_sequence=sequence, last_hash=prev_hash)
    return len(pending)


def _write_seals(events: list[AuditEvent], *, sealed_at: Any) -> None:
    """One UPDATE ... FROM (VALUES ...) per 1000 rows on PostgreSQL (several times faster than
    bulk_update's CASE expressions); bulk_update elsewhere."""
    if connection.vendor != "postgresql":
        AuditEvent.objects.bulk_update(events, _SEAL_FIELDS, batch_size=500)
        return
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(events), 1000):
            chunk = events[start : start + 1000]
            values = ", ".join(["(%s::bigint, %s::bigint, %s, %s)"] * len(chunk))
            params: list[Any] = [sealed_at]
            for event in chunk:
                params += [event.pk, event.sequence, event.prev_hash, event.hash]
            cursor.execute(
                f"UPDATE {table} AS e SET sequence = v.seq, prev_hash = v.prev, hash = v.hash, "  # noqa: S608
                f"sealed_at = %s FROM (VALUES {values}) AS v(id, seq, prev, hash) WHERE e.id = v.id",
                params,
            )


def audit_checkpoint_create() -> Checkpoint | None:
    """Sign the current tip of the chain; None if it is empty or already signed (idempotent)."""
    with transaction.atomic():
        _lock_head()
        sequence, tip_hash = chain_tip()
        if sequence == 0 or Checkpoint.objects.filter(sequence__gte=sequence).exists():
            return None
        created_at = timezone.now()
        payload = checkpoint_payload(
            sequence=sequence, hash=tip_hash, created_at=format_time(created_at) or ""
        )
        return Checkpoint.objects.create(
            sequence=sequence,
            hash=tip_hash,
            created_at=created_at,
            key_id=signing.key_id(signing.public_key_bytes()),
            signature=signing.sign(payload),
        )


def audit_checkpoint_if_due() -> Checkpoint | None:
    """Checkpoint when the last one is older than AUDIT_CHECKPOINT_EVERY_SECONDS (or absent)."""
    last = Checkpoint.objects.order_by("-sequence").only("created_at").first()
    due = timezone.now() - timedelta(seconds=settings.AUDIT_CHECKPOINT_EVERY_SECONDS)
    if last is not None and last.created_at > due:
        return None
    return audit_checkpoint_create()


@dataclass
class Problem:
    """The first place where the stored trail differs from what was sealed and signed."""

    kind: str  # changed | removed | inserted | reordered | forged_checkpoint
    sequence: int | None
    event_id: int | None
    message: str


@dataclass
class ChainReport:
    events: int = 0
    checkpoints: int = 0
    last_sequence: int = 0
    last_hash: str = GENESIS_HASH
    unsealed: int = 0
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_chain(*, public_key: bytes | None = None, witness: Witness | None = None) -> ChainReport:
    """Walk every sealed event in sequence order and every checkpoint; report the first fault.

    With a ``witness``, the checkpoints copied out of the database are checked too: one missing
    from the database, or differing from its copy, is tampering, and a witnessed checkpoint
    still catches a tail truncated together with the checkpoint rows that covered it.
    Memory stays flat: events are streamed, only the last two hashes are kept. Checkpoints
    (a few per hour) are held in a dict.
    """
    key = public_key if public_key is not None else signing.public_key_bytes()
    report = ChainReport(unsealed=AuditEvent.objects.filter(sequence__isnull=True).count())
    checkpoints = {c.sequence: c for c in Checkpoint.objects.order_by("sequence")}
    deleted: list[int] = []
    if witness is not None:
        problem = _merge_witnessed(checkpoints, deleted, witness, report)
        if problem is not None:
            report.problem = problem
            return report
    report.checkpoints = len(checkpoints)
    for checkpoint in checkpoints.values():
        payload = checkpoint_payload(
            sequence=checkpoint.sequence,
            hash=checkpoint.hash,
            created_at=format_time(checkpoint.created_at) or "",
        )
        if not signing.verify_signature(public_key=key, payload=payload, signature_b64=checkpoint.signature):
            report.problem = Problem(
                "forged_checkpoint",
                checkpoint.sequence,
                None,
                f"checkpoint at sequence {checkpoint.sequence} does not carry a valid signature",
            )
            return report

    rows = (
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("sequence")
        .values(*EVENT_FIELDS)
        .iterator(chunk_size=5000)
    )
    expected, prev_hash, prev2_hash = 1, GENESIS_HASH, ""
    for row in rows:
        problem = _check_event(row, expected, prev_hash, prev2_hash)
        if (
            problem is None
            and row["sequence"] in checkpoints
            and checkpoints[row["sequence"]].hash != row["hash"]
        ):
            problem = Problem(
                "changed",
                row["sequence"],
                row["id"],
                f"event {row['sequence']} (id {row['id']}) differs from the signed checkpoint: the chain "
                f"was rewritten and re-hashed at or before this sequence",
            )
        if problem is not None:
            report.problem = problem
            return report
        report.events += 1
        expected = row["sequence"] + 1
        prev2_hash, prev_hash = prev_hash, row["hash"]
    report.last_sequence, report.last_hash = expected - 1, prev_hash

    beyond = [seq for seq in checkpoints if seq > report.last_sequence]
    if beyond:
        report.problem = Problem(
            "removed",
            report.last_sequence + 1,
            None,
            f"the chain ends at sequence {report.last_sequence} but checkpoint {max(beyond)} was signed over "
            f"later events: events {report.last_sequence + 1}..{max(beyond)} were removed (tail truncated)",
        )
    if report.problem is None and deleted:
        report.problem = Problem(
            "removed",
            deleted[0],
            None,
            f"checkpoint {deleted[0]} is in the witness but was deleted from the database",
        )
    if report.unsealed:
        report.notes.append(f"{report.unsealed} events are captured but not sealed yet")
    if checkpoints and report.last_sequence > max(checkpoints):
        report.notes.append(f"events after sequence {max(checkpoints)} are not covered by a checkpoint yet")
    return report


# How long a new checkpoint may wait for its copy (copies are made every checkpoint run).
WITNESS_GRACE_SECONDS = 3600


def _merge_witnessed(
    checkpoints: dict[int, Checkpoint], deleted: list[int], witness: Witness, report: ChainReport
) -> Problem | None:
    """Add the witnessed checkpoints the database lost; a copy differing from its row is a fault."""
    witnessed: set[int] = set()
    for name, document in witnessed_checkpoints(witness):
        try:
            copy = Checkpoint(
                sequence=int(document["sequence"]),
                hash=str(document["hash"]),
                created_at=datetime.fromisoformat(document["created_at"]),
                key_id=str(document["key_id"]),
                signature=str(document["signature"]),
            )
        except (KeyError, TypeError, ValueError):
            return Problem("forged_checkpoint", None, None, f"witness document {name} is not a checkpoint")
        witnessed.add(copy.sequence)
        row = checkpoints.get(copy.sequence)
        if row is None:
            checkpoints[copy.sequence] = copy
            deleted.append(copy.sequence)
        elif (row.hash, row.signature, format_time(row.created_at)) != (
            copy.hash,
            copy.signature,
            document["created_at"],
        ):
            return Problem(
                "forged_checkpoint",
                copy.sequence,
                None,
                f"checkpoint {copy.sequence} in the database differs from its witnessed copy",
            )
    # A checkpoint the witness should hold by now but does not: its copy was deleted (or the
    # copying has been failing for that long, which needs attention just as much).
    grace = timezone.now() - timedelta(seconds=WITNESS_GRACE_SECONDS)
    unwitnessed = sorted(
        seq for seq, c in checkpoints.items() if seq not in witnessed and c.created_at < grace
    )
    if unwitnessed:
        return Problem(
            "removed",
            unwitnessed[0],
            None,
            f"checkpoint {unwitnessed[0]} (and {len(unwitnessed) - 1} more) is missing from the witness",
        )
    report.notes.append(f"witness: {len(witnessed)} checkpoint copies compared with the database")
    return None


def _check_event(row: dict[str, Any], expected: int, prev_hash: str, prev2_hash: str) -> Problem | None:
    sequence, event_id = row["sequence"], row["id"]
    if sequence != expected:
        return Problem(
            "removed",
            expected,
            None,
            f"events {expected}..{sequence - 1} are missing "
            f"(next present: sequence {sequence}, id {event_id})",
        )
    content_ok = event_hash(event_record(row)) == row["hash"]
    if row["prev_hash"] == prev_hash:
        if content_ok:
            return None
        return Problem("changed", sequence, event_id, f"event {sequence} (id {event_id}) was changed")
    if expected > 1 and row["prev_hash"] == prev2_hash:
        return Problem(
            "inserted",
            sequence - 1,
            None,
            f"event {sequence - 1} was inserted: event {sequence} (id {event_id}) "
            f"links to sequence {sequence - 2}",
        )
    named = AuditEvent.objects.filter(hash=row["prev_hash"]).values_list("sequence", flat=True).first()
    if named is not None and named > sequence:
        return Problem(
            "reordered",
            sequence,
            event_id,
            f"event {sequence} (id {event_id}) was reordered: "
            f"it follows sequence {named} in the sealed chain",
        )
    if named is not None:
        return Problem(
            "removed",
            named + 1,
            None,
            f"events after sequence {named} were removed and the rest renumbered (at event id {event_id})",
        )
    return Problem(
        "changed", sequence, event_id, f"event {sequence} (id {event_id}) was changed (its link is broken)"
    )
