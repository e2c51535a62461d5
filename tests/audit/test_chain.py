from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from apps.audit.canonical import GENESIS_HASH, event_hash
from apps.audit.chain import audit_checkpoint_create, audit_seal_pending, event_record, verify_chain
from apps.audit.models import AuditEvent, Checkpoint
from apps.audit.services import enqueue_sealing, record_event
from tests.audit.helpers import act, tampering
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _sealed(count: int = 10) -> list[AuditEvent]:
    act(count, actor=UserFactory(username="officer"))
    audit_seal_pending()
    return list(AuditEvent.objects.order_by("sequence"))


def test_record_event_outside_a_transaction_is_refused() -> None:
    # pytest-django wraps the test in a transaction; leave it to see autocommit behaviour.
    in_block = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(RuntimeError, match="inside the transaction"):
            record_event(action="test.act")
    finally:
        connection.in_atomic_block = in_block


def test_a_rolled_back_act_leaves_no_event() -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record_event(action="test.act")
        raise ZeroDivisionError
    assert not AuditEvent.objects.exists()


def test_a_committed_act_has_its_event_with_every_field(rf: object) -> None:
    user = UserFactory(username="officer")
    with transaction.atomic():
        event = record_event(
            action="test.act", actor=user, target=user, facility_id=7, details={"why": "testing"}
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_label, stored.target_type, stored.target_id, stored.facility_id) == (
        "officer",
        "auth.user",
        str(user.pk),
        7,
    )
    assert stored.sequence is None


def test_sealing_is_requested_once_per_committed_transaction(
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        with transaction.atomic():
            for _ in range(5):
                record_event(action="test.act")
    assert callbacks == [enqueue_sealing]


def test_a_sealing_request_survives_a_rolled_back_savepoint(
    django_capture_on_commit_callbacks: object,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        with transaction.atomic():
            with pytest.raises(ZeroDivisionError), transaction.atomic():
                record_event(action="test.act")
                raise ZeroDivisionError
            record_event(action="test.act")
    assert callbacks == [enqueue_sealing]


def test_sealing_numbers_events_contiguously_in_id_order_and_links_them() -> None:
    events = _sealed(12)
    assert [e.sequence for e in events] == list(range(1, 13))
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert all(event_hash(event_record(e.__dict__)) == e.hash for e in events)


def test_sealing_again_changes_nothing() -> None:
    events = _sealed(5)
    assert audit_seal_pending() == 0
    assert list(AuditEvent.objects.order_by("sequence")) == events
    assert [e.hash for e in AuditEvent.objects.order_by("sequence")] == [e.hash for e in events]


def test_sealing_in_small_batches_gives_one_chain() -> None:
    act(23)
    assert audit_seal_pending(batch_size=5) == 23
    act(4)
    assert audit_seal_pending(batch_size=5) == 4
    report = verify_chain()
    assert report.ok, report.problem
    assert report.events == 27


def test_an_intact_chain_verifies() -> None:
    _sealed(10)
    audit_checkpoint_create()
    report = verify_chain()
    assert report.ok and report.events == 10 and report.checkpoints == 1
    call_command("verify_audit_chain")


def test_a_checkpoint_is_signed_once_per_tip() -> None:
    _sealed(3)
    first = audit_checkpoint_create()
    assert first is not None and first.sequence == 3
    assert audit_checkpoint_create() is None
    act(1)
    audit_seal_pending()
    second = audit_checkpoint_create()
    assert second is not None and second.sequence == 4


def _problem() -> tuple[str, int | None]:
    report = verify_chain()
    assert report.problem is not None, "tampering went unnoticed"
    return report.problem.kind, report.problem.sequence


def test_a_changed_detail_is_detected() -> None:
    _sealed(10)
    with tampering():
        AuditEvent.objects.filter(sequence=4).update(details={"n": 3, "note": "nothing to see"})
    assert _problem() == ("changed", 4)


def test_a_changed_actor_is_detected() -> None:
    _sealed(10)
    with tampering():
        AuditEvent.objects.filter(sequence=7).update(actor_label="someone-else")
    assert _problem() == ("changed", 7)


def test_a_deleted_event_is_detected() -> None:
    _sealed(10)
    with tampering():
        AuditEvent.objects.filter(sequence=5).delete()
    assert _problem() == ("removed", 5)


def test_swapped_events_are_detected() -> None:
    _sealed(10)
    with tampering():
        AuditEvent.objects.filter(sequence=5).update(sequence=-1)
        AuditEvent.objects.filter(sequence=6).update(sequence=5)
        AuditEvent.objects.filter(sequence=-1).update(sequence=6)
    assert _problem() == ("reordered", 5)


def test_an_inserted_event_is_detected_even_with_a_correct_hash() -> None:
    events = _sealed(10)
    with tampering():
        for sequence in range(10, 4, -1):
            AuditEvent.objects.filter(sequence=sequence).update(sequence=sequence + 1)
        forged = AuditEvent(
            created_at=events[4].created_at,
            action="test.act",
            sequence=5,
            prev_hash=events[3].hash,
            sealed_at=events[4].sealed_at,
            details={},
        )
        forged.hash = "x"
        forged.save()
        forged.hash = event_hash(event_record(forged.__dict__))
        AuditEvent.objects.filter(pk=forged.pk).update(hash=forged.hash)
    assert _problem() == ("inserted", 5)


def test_a_truncated_tail_is_caught_by_the_checkpoint() -> None:
    _sealed(10)
    audit_checkpoint_create()
    with tampering():
        AuditEvent.objects.filter(sequence__gte=8).delete()
    assert verify_chain().events == 7
    assert _problem() == ("removed", 8)


def test_a_rewritten_and_rehashed_chain_is_caught_by_the_checkpoint() -> None:
    _sealed(10)
    audit_checkpoint_create()
    with tampering():
        prev = AuditEvent.objects.get(sequence=2).hash
        for event in AuditEvent.objects.filter(sequence__gte=3).order_by("sequence"):
            if event.sequence == 3:
                event.details = {"n": 2, "note": "rewritten"}
            event.prev_hash = prev
            event.hash = event_hash(event_record(event.__dict__))
            AuditEvent.objects.filter(pk=event.pk).update(
                details=event.details, prev_hash=event.prev_hash, hash=event.hash
            )
            prev = event.hash
    assert _problem() == ("changed", 10)


def test_a_forged_checkpoint_is_detected() -> None:
    _sealed(4)
    audit_checkpoint_create()
    with tampering():
        Checkpoint.objects.update(hash="f" * 64)
    assert _problem() == ("forged_checkpoint", 4)


def test_verify_audit_chain_exits_with_status_1_and_names_the_event() -> None:
    _sealed(6)
    with tampering():
        AuditEvent.objects.filter(sequence=3).update(action="test.other")
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_chain")
    assert caught.value.returncode == 1
    assert "changed at sequence 3" in str(caught.value)


def test_the_database_refuses_to_delete_an_event() -> None:
    _sealed(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(sequence=1).delete()


def test_the_database_refuses_to_change_a_sealed_event() -> None:
    _sealed(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(sequence=1).update(details={"n": 99})


def test_the_database_refuses_to_change_an_unsealed_event() -> None:
    act(1)
    with pytest.raises(DatabaseError, match="must seal"), transaction.atomic():
        AuditEvent.objects.update(details={"n": 99})


def test_the_database_refuses_a_seal_that_changes_the_content() -> None:
    act(1)
    with pytest.raises(DatabaseError, match="may not change"), transaction.atomic():
        AuditEvent.objects.update(
            details={"n": 99},
            sequence=1,
            prev_hash=GENESIS_HASH,
            hash="a" * 64,
            sealed_at=AuditEvent.objects.get().created_at,
        )


def test_the_database_refuses_to_change_or_delete_a_checkpoint() -> None:
    _sealed(2)
    audit_checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.update(hash="0" * 64)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.all().delete()


def test_a_sealed_event_needs_a_hash() -> None:
    act(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(sequence=1, prev_hash=GENESIS_HASH, hash="", sealed_at=None)
