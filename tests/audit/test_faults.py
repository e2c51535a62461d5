"""Fault tests on real services: PostgreSQL, a real Redis broker, real Celery worker processes."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, transaction

from apps.audit.chain import audit_seal_pending, verify_chain
from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.audit.tasks import seal_audit_events
from tests.audit.conftest import Broker, Worker, wait_until
from tests.audit.helpers import act


def _unsealed() -> int:
    return AuditEvent.objects.filter(sequence__isnull=True).count()


def _assert_one_complete_chain(expected: int) -> None:
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(sequences) == expected
    assert sequences == list(range(1, expected + 1)), "sealed twice, skipped, or left unsealed"
    report = verify_chain()
    assert report.ok, report.problem
    assert report.events == expected


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_events_recorded_while_the_broker_is_down_are_all_sealed_once_it_is_back(
    broker: Broker, workers: Callable[..., Worker]
) -> None:
    workers()
    act(5)
    wait_until(lambda: _unsealed() == 0, timeout=30, what="the first events to be sealed")

    broker.stop()
    act(1000)  # every commit's enqueue fails: logged, never raised into the act
    assert AuditEvent.objects.count() == 1005
    assert _unsealed() == 1000

    broker.start()
    wait_until(lambda: _unsealed() == 0, timeout=90, what="beat to seal everything after the outage")
    _assert_one_complete_chain(1005)


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_sealing_loses_and_duplicates_nothing(workers: Callable[..., Worker]) -> None:
    worker = workers(batch_size=200)
    with transaction.atomic():
        for number in range(20000):
            record_event(action="test.bulk", details={"n": number})
    wait_until(
        lambda: 0 < AuditEvent.objects.filter(sequence__isnull=False).count(),
        timeout=60,
        what="sealing to start",
        every=0.01,
    )
    worker.kill()
    sealed = AuditEvent.objects.filter(sequence__isnull=False).count()
    assert 0 < sealed < 20000, "the kill did not land in the middle of sealing"
    assert sealed % 200 == 0, "a batch is sealed completely or not at all"
    assert verify_chain().ok

    workers(batch_size=200)
    wait_until(lambda: _unsealed() == 0, timeout=120, what="the restarted worker to finish sealing")
    _assert_one_complete_chain(20000)


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sealing_at_once_build_one_valid_chain(workers: Callable[..., Worker]) -> None:
    workers(batch_size=50)
    workers(batch_size=50)
    for _ in range(20):
        with transaction.atomic():
            for number in range(100):
                record_event(action="test.burst", details={"n": number})
        for _ in range(3):
            seal_audit_events.apply_async()
    wait_until(lambda: _unsealed() == 0, timeout=90, what="both workers to seal everything")
    _assert_one_complete_chain(2000)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_in_threads_build_one_valid_chain() -> None:
    act(1)
    with transaction.atomic():
        for number in range(3000):
            record_event(action="test.bulk", details={"n": number})
    errors: list[BaseException] = []

    def seal() -> None:
        try:
            audit_seal_pending(batch_size=100)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=seal) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _assert_one_complete_chain(3001)


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_a_requested_export(
    workers: Callable[..., Worker], settings: object, tmp_path: object
) -> None:
    from apps.audit import signing
    from apps.audit.export_verify import verify_export
    from apps.audit.exports import audit_export_request, export_path
    from apps.audit.models import ExportStatus
    from tests.factories import UserFactory

    worker = workers()
    settings.AUDIT_EXPORT_DIR = worker.env["AUDIT_EXPORT_DIR"]  # type: ignore[attr-defined]
    act(30)
    wait_until(lambda: _unsealed() == 0, timeout=30, what="sealing")
    export = audit_export_request(requested_by=UserFactory(username="auditor"), filters={})

    def done() -> bool:
        export.refresh_from_db()
        return export.status in {ExportStatus.DONE, ExportStatus.FAILED}

    wait_until(done, timeout=60, what="the export job")
    assert export.status == ExportStatus.DONE, export.error
    assert verify_export(export_path(export), trusted_keys=[signing.public_key_bytes()]).ok


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_export_requested_while_the_broker_is_down_is_built_once_it_is_back(
    broker: Broker, workers: Callable[..., Worker], settings: object
) -> None:
    from apps.audit import signing
    from apps.audit.export_verify import verify_export
    from apps.audit.exports import audit_export_request, audit_exports_resume, export_path
    from apps.audit.models import ExportStatus
    from tests.factories import UserFactory

    worker = workers()
    settings.AUDIT_EXPORT_DIR = worker.env["AUDIT_EXPORT_DIR"]  # type: ignore[attr-defined]
    settings.EXPORT_RESUME_AFTER_SECONDS = 0  # type: ignore[attr-defined]
    act(10)
    wait_until(lambda: _unsealed() == 0, timeout=30, what="sealing")

    broker.stop()
    export = audit_export_request(requested_by=UserFactory(username="auditor-outage"), filters={})
    export.refresh_from_db()
    assert export.status == ExportStatus.PENDING and export.error == ""  # waiting, not failed
    assert audit_exports_resume() == 0  # still down: nothing sent, nothing lost

    broker.start()
    assert audit_exports_resume() == 1

    def built() -> bool:
        export.refresh_from_db()
        return export.status in {ExportStatus.DONE, ExportStatus.FAILED}

    wait_until(built, timeout=90, what="the export job after the outage")
    assert export.status == ExportStatus.DONE, export.error
    assert verify_export(export_path(export), trusted_keys=[signing.public_key_bytes()]).ok
