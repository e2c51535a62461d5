"""Registration racing the upload, on PostgreSQL with real concurrent connections."""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import pytest
from django.db import connection, connections

from apps.actions.registry import exempt_number_verify
from apps.calls.models import Call
from apps.common.errors import DomainError
from apps.recordings.models import Recording, RecordingState
from apps.recordings.services import recording_store
from apps.recordings.storage import RecordingStorage
from apps.registry.models import ExemptNumber, ExemptStatus
from tests.factories import CallFactory, ExemptNumberFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 25


def _in_thread(
    target: Any, barrier: threading.Barrier, results: dict[str, Any], name: str
) -> threading.Thread:
    def run() -> None:
        try:
            barrier.wait()
            results[name] = target()
        except DomainError as exc:
            results[name] = exc
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def test_no_privileged_recording_survives_a_registration_race(storage: RecordingStorage) -> None:
    switch_user = UserFactory(username="race-switch")
    clerk = UserFactory(username="race-clerk")
    outcomes = {"refused": 0, "quarantined": 0}
    for i in range(ROUNDS):
        number = f"+1646555{i:04d}"
        call = CallFactory(dialed_number=number)
        pending = ExemptNumberFactory(number=number)
        audio = os.urandom(64 * 1024)
        results: dict[str, Any] = {}
        barrier = threading.Barrier(2)
        threads = [
            _in_thread(
                lambda c=call, a=audio: recording_store(
                    call=c,
                    body=io.BytesIO(a),
                    content_type="audio/wav",
                    content_length=len(a),
                    expected_sha256=None,
                    actor=switch_user,
                ),
                barrier,
                results,
                "upload",
            ),
            _in_thread(
                lambda p=pending: exempt_number_verify(exempt_number_id=p.pk, clerk=clerk),
                barrier,
                results,
                "verify",
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert ExemptNumber.objects.get(pk=pending.pk).status == ExemptStatus.VERIFIED
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            assert isinstance(results["upload"], DomainError)
            assert results["upload"].reason == "privileged"
            outcomes["refused"] += 1
        else:
            # The upload won the lock: the verification that followed must have quarantined it.
            assert recording.state == RecordingState.QUARANTINED, f"round {i}: privileged audio playable"
            assert results["verify"][1] == 1
            outcomes["quarantined"] += 1
        assert Call.objects.get(pk=call.pk).privileged
    assert sum(outcomes.values()) == ROUNDS
    assert not Recording.objects.filter(state=RecordingState.STORED).exists()
    assert connection.vendor == "postgresql"
    print(f"race outcomes over {ROUNDS} rounds: {outcomes}")
