"""The storage gate and the database apply the station and inmate rules too (issue 11, section 6):
a station registered, or an inmate set "do not record", after call setup still stops the
audio; the PostgreSQL trigger refuses it even to code that bypasses the gate; and a
registration racing an upload never leaves the station's audio playable."""

from __future__ import annotations

import io
import os
import threading
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, connections, transaction

from apps.actions.stations import station_register, station_retire
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.common.errors import DomainError
from apps.inmates.models import Inmate
from apps.inmates.recording_setting import inmate_do_not_record_set
from apps.recordings.errors import PrivilegedCallError
from apps.recordings.models import Recording, RecordingState
from apps.recordings.services import recording_store
from apps.recordings.storage import RecordingStorage
from tests.actors import FACILITY_ADMIN, Cast, staff_member
from tests.factories import CallFactory, FacilityFactory, InmateFactory, UserFactory

BOOTH = "+12125550199"


def _raw_recording(call: Call, key: str = "ab/" + "c" * 32) -> Recording:
    """A stored recording written straight to the table, as code bypassing the gate would."""
    return Recording.objects.create(
        call=call,
        facility=call.facility,
        inmate=call.inmate,
        storage_backend="s3",
        storage_key=key,
        size_bytes=1,
        sha256="0" * 64,
        content_type="audio/wav",
        encryption="x",
        wrapped_key=b"k",
    )


@pytest.mark.django_db
def test_the_gate_refuses_a_call_whose_station_was_registered_after_setup(
    inmate: Inmate, cast: Cast, store_recording: Any
) -> None:
    call = CallFactory(inmate=inmate, station=BOOTH)  # set up (recorded) before the registration
    station_register(facility=inmate.facility, station=BOOTH, label="Booth", actor=cast.admin.user)
    with pytest.raises(PrivilegedCallError):
        store_recording(call)
    assert not Recording.objects.exists()
    assert Call.objects.get(pk=call.pk).privileged
    assert AuditEvent.objects.filter(action="recording.upload_refused").exists()


@pytest.mark.django_db
def test_the_gate_refuses_audio_of_an_inmate_set_do_not_record_after_setup(
    inmate: Inmate, cast: Cast, store_recording: Any
) -> None:
    call = CallFactory(inmate=inmate)
    inmate_do_not_record_set(inmate=inmate, reason="court order", actor=cast.admin.user)
    with pytest.raises(PrivilegedCallError):
        store_recording(call)
    assert not Recording.objects.exists()


@pytest.mark.django_db
def test_the_gate_stores_audio_from_a_retired_station(
    inmate: Inmate, cast: Cast, store_recording: Any
) -> None:
    registered, _ = station_register(
        facility=inmate.facility, station=BOOTH, label="Booth", actor=cast.admin.user
    )
    station_retire(station=registered, reason="now an office", actor=cast.admin.user)
    recording = store_recording(CallFactory(inmate=inmate, station=BOOTH))
    assert recording.state == RecordingState.STORED


@pytest.mark.django_db
def test_a_station_of_another_facility_does_not_stop_the_audio(inmate: Inmate, store_recording: Any) -> None:
    elsewhere = FacilityFactory(code="elsewhere")
    admin = staff_member("elsewhere-admin", FACILITY_ADMIN, elsewhere).user
    station_register(facility=elsewhere, station=BOOTH, label="Their booth", actor=admin)
    assert store_recording(CallFactory(inmate=inmate, station=BOOTH)).state == RecordingState.STORED


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_a_stored_recording_from_a_live_station(inmate: Inmate, cast: Cast) -> None:
    call = CallFactory(inmate=inmate, station=BOOTH)
    station_register(facility=inmate.facility, station=BOOTH, label="Booth", actor=cast.admin.user)
    Call.objects.filter(pk=call.pk).update(privileged=False)  # as if the quarantine had been skipped
    with pytest.raises(DatabaseError, match="privileged station"), transaction.atomic():
        _raw_recording(call)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_refuses_a_new_recording_of_an_inmate_set_do_not_record(
    inmate: Inmate, cast: Cast
) -> None:
    call = CallFactory(inmate=inmate)
    inmate_do_not_record_set(inmate=inmate, reason="court order", actor=cast.admin.user)
    with pytest.raises(DatabaseError, match="do not record"), transaction.atomic():
        _raw_recording(call)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_still_takes_audio_from_a_retired_station_or_another_inmate(
    inmate: Inmate, cast: Cast
) -> None:
    registered, _ = station_register(
        facility=inmate.facility, station=BOOTH, label="Booth", actor=cast.admin.user
    )
    station_retire(station=registered, reason="moved", actor=cast.admin.user)
    _raw_recording(CallFactory(inmate=inmate, station=BOOTH))
    other = InmateFactory(facility=inmate.facility)
    inmate_do_not_record_set(inmate=other, reason="court order", actor=cast.admin.user)
    _raw_recording(CallFactory(inmate=inmate), key="ab/" + "d" * 32)
    assert Recording.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_trigger_applies_the_registrys_station_and_inmate_rules() -> None:
    """The backstop and the call rules cannot drift apart: the installed trigger holds the
    registry's own expressions for a live station and an inmate set "do not record"."""
    from apps.registry.privilege import INMATE_DO_NOT_RECORD_SQL, STATION_LIVE_SQL

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('recordings_refuse_privileged'::regproc)")
        installed = " ".join(cursor.fetchone()[0].split())
    assert f"s.station_id = c.station WHERE c.id = NEW.call_id AND {STATION_LIVE_SQL}" in installed
    assert f"WHERE c.id = NEW.call_id AND {INMATE_DO_NOT_RECORD_SQL}" in installed


ROUNDS = 20


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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_station_recording_survives_a_registration_race(storage: RecordingStorage) -> None:
    """The upload and the registration, on two real connections, started together: either the
    gate saw the station (refused) or the registration saw the recording (quarantined)."""
    facility = FacilityFactory(code="race")
    admin: User = staff_member("race-admin", FACILITY_ADMIN, facility).user
    switch_user = UserFactory(username="race-switch")
    inmate = InmateFactory(facility=facility)
    outcomes = {"refused": 0, "quarantined": 0}
    for i in range(ROUNDS):
        station = f"BOOTH-{i}"
        call = CallFactory(inmate=inmate, station=station)
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
                lambda s=station: station_register(facility=facility, station=s, label="Booth", actor=admin),
                barrier,
                results,
                "register",
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            assert isinstance(results["upload"], DomainError)
            assert results["upload"].reason == "privileged"
            outcomes["refused"] += 1
        else:
            assert recording.state == RecordingState.QUARANTINED, f"round {i}: station audio playable"
            assert results["register"][1] == 1
            outcomes["quarantined"] += 1
        assert Call.objects.get(pk=call.pk).privileged
    assert sum(outcomes.values()) == ROUNDS
    assert not Recording.objects.filter(state=RecordingState.STORED).exists()
    print(f"station race outcomes over {ROUNDS} rounds: {outcomes}")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_no_audio_is_stored_after_a_racing_do_not_record_commits(storage: RecordingStorage) -> None:
    """Either the recording committed before the setting (kept: it looks forward) or the gate
    saw the setting (refused); never stored after the setting committed."""
    facility = FacilityFactory(code="race-dnr")
    admin: User = staff_member("race-dnr-admin", FACILITY_ADMIN, facility).user
    switch_user = UserFactory(username="race-dnr-switch")
    for i in range(ROUNDS):
        inmate = InmateFactory(facility=facility)
        call = CallFactory(inmate=inmate)
        audio = os.urandom(32 * 1024)
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
                lambda m=inmate: inmate_do_not_record_set(inmate=m, reason="order", actor=admin),
                barrier,
                results,
                "set",
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        inmate.refresh_from_db()
        assert inmate.do_not_record_since is not None
        recording = Recording.objects.filter(call=call).first()
        if recording is None:
            assert results["upload"].reason == "privileged"
        else:
            assert recording.created_at <= inmate.do_not_record_since, f"round {i}: stored after the setting"


@pytest.mark.django_db
def test_the_review_cannot_release_a_recording_while_its_station_is_live(
    inmate: Inmate, cast: Cast, store_recording: Any
) -> None:
    from apps.recordings.errors import ReleaseRefusedError
    from apps.recordings.quarantine import holds_refuse_release

    recording = store_recording(CallFactory(inmate=inmate, station=BOOTH))
    registered, quarantined = station_register(
        facility=inmate.facility, station=BOOTH, label="Booth", actor=cast.admin.user
    )
    assert quarantined == 1
    recording = Recording.objects.select_related("call").get(pk=recording.pk)
    with pytest.raises(ReleaseRefusedError), transaction.atomic():
        holds_refuse_release(recording)
    station_retire(station=registered, reason="now an office", actor=cast.admin.user)
    with transaction.atomic():
        holds_refuse_release(recording)  # retired: the officers may decide it again
