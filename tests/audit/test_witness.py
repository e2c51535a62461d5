"""The checkpoint witness: signed checkpoints copied outside the database (S3 under
`make test`, a local folder on the embedded default), so that deleting the newest events
*and* the checkpoint rows that covered them is still caught."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.audit import signing
from apps.audit.canonical import checkpoint_payload, format_time
from apps.audit.chain import audit_checkpoint_create, audit_seal_pending, verify_chain
from apps.audit.models import AuditEvent, Checkpoint
from apps.audit.tasks import audit_checkpoint
from apps.audit.witness import document_name, get_witness, witness_sync
from tests.audit.helpers import act, tampering

pytestmark = pytest.mark.django_db


def _checkpointed(count: int) -> Checkpoint:
    act(count)
    audit_seal_pending()
    checkpoint = audit_checkpoint_create()
    assert checkpoint is not None
    return checkpoint


def test_each_checkpoint_is_copied_once_and_matches_its_row() -> None:
    witness = get_witness()
    assert witness is not None
    first = _checkpointed(4)
    assert witness_sync() == 1
    assert witness_sync() == 0  # already there: nothing rewritten
    second = _checkpointed(3)
    audit_checkpoint()  # the beat task copies what is missing
    assert witness.names() == [document_name(first.sequence), document_name(second.sequence)]
    copy = json.loads(witness.read(document_name(second.sequence)))
    assert (copy["sequence"], copy["hash"], copy["signature"]) == (7, second.hash, second.signature)
    report = verify_chain(witness=witness)
    assert report.ok, report.problem
    assert "witness: 2 checkpoint copies compared with the database" in report.notes


def test_a_tail_truncated_with_its_checkpoints_is_caught_only_with_the_witness() -> None:
    _checkpointed(5)
    _checkpointed(5)
    witness_sync()
    with tampering():  # the attacker removes events 6..10 and the checkpoint that signed them
        AuditEvent.objects.filter(sequence__gte=6).delete()
        Checkpoint.objects.filter(sequence=10).delete()
    assert verify_chain().ok  # the database alone is consistent again...
    report = verify_chain(witness=get_witness())
    assert report.problem is not None  # ...but the copy outside it still reaches sequence 10
    assert (report.problem.kind, report.problem.sequence) == ("removed", 6)


def test_a_deleted_checkpoint_row_is_reported_even_without_lost_events() -> None:
    first = _checkpointed(3)
    _checkpointed(2)
    witness_sync()
    with tampering():
        Checkpoint.objects.filter(pk=first.pk).delete()
    report = verify_chain(witness=get_witness())
    assert report.problem is not None
    assert (report.problem.kind, report.problem.sequence) == ("removed", first.sequence)


def test_a_re_signed_checkpoint_row_differing_from_its_copy_is_forgery() -> None:
    """Even an attacker holding the signing key cannot rewrite a witnessed checkpoint."""
    checkpoint = _checkpointed(3)
    witness_sync()
    moved = checkpoint.created_at + timedelta(seconds=1)
    payload = checkpoint_payload(
        sequence=checkpoint.sequence, hash=checkpoint.hash, created_at=format_time(moved) or ""
    )
    with tampering():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(created_at=moved, signature=signing.sign(payload))
    assert verify_chain().ok  # validly signed: the database alone cannot tell
    with pytest.raises(CommandError) as caught:
        call_command("verify_audit_chain")  # compares with the witness by default
    assert caught.value.returncode == 1
    assert "forged_checkpoint" in str(caught.value) and "witnessed copy" in str(caught.value)
    call_command("verify_audit_chain", "--no-witness")  # passes: only the witness catches it


def test_a_copy_missing_from_the_witness_is_reported_once_it_should_be_there(monkeypatch: Any) -> None:
    checkpoint = _checkpointed(3)  # never copied: as if its copy had been deleted
    witness = get_witness()
    assert witness is not None
    assert verify_chain(witness=witness).ok  # a fresh checkpoint may still be waiting for its copy
    monkeypatch.setattr("apps.audit.chain.WITNESS_GRACE_SECONDS", 0)  # ...but not forever
    report = verify_chain(witness=witness)
    assert report.problem is not None
    assert (report.problem.kind, report.problem.sequence) == ("removed", checkpoint.sequence)
    assert "missing from the witness" in report.problem.message


def test_a_damaged_witness_document_is_reported_not_a_crash() -> None:
    _checkpointed(2)
    witness = get_witness()
    assert witness is not None
    witness.put(document_name(99), b"not json at all")
    report = verify_chain(witness=witness)
    assert report.problem is not None and report.problem.kind == "forged_checkpoint"
    assert document_name(99) in report.problem.message
