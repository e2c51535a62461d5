"""The daily signed snapshot of the verified list, and the alarm on an unexplained drop.

Size: one module for the snapshot and its alarm, because each attack on the list (a row
deleted, rewritten, narrowed, a window shortened) is read against the same two snapshots.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.audit.references import reference
from apps.facilities.models import Facility
from apps.registry.alarms import list_alarm_acknowledge, list_alarms_between, open_list_alarms
from apps.registry.models import Attorney, ExemptNumber, ListAlarm, ListSnapshot, ListSnapshotEntry
from apps.registry.services import (
    exempt_number_register,
    exempt_number_revoke,
    exempt_numbers_send_reminders,
)
from apps.registry.snapshots import (
    entries_digest,
    numbers_digest,
    registry_snapshot_take,
    snapshot_signature_valid,
)
from apps.registry.tasks import list_snapshot
from tests.factories import AttorneyFactory

pytestmark = pytest.mark.django_db

DAY1 = date(2030, 3, 1)
DAY2 = date(2030, 3, 2)
NUMBERS = ["+12125550101", "+12125550102", "+12125550103", "+12125550104"]


def verified(attorney: Attorney, clerk: User, number: str, facility: Facility | None = None) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, facility=facility, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


@pytest.fixture
def listed(attorney: Attorney, clerk: User) -> list[ExemptNumber]:
    return [verified(attorney, clerk, number) for number in NUMBERS]


@contextmanager
def registration_delete_allowed() -> Iterator[None]:
    """A table owner deleting behind the services' back (PostgreSQL refuses by trigger)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Deferred foreign-key checks of this test's inserts must run before an ALTER TABLE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE registry_exemptnumber DISABLE TRIGGER registry_exemptnumber_no_delete"
            )
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(
                    "ALTER TABLE registry_exemptnumber ENABLE TRIGGER registry_exemptnumber_no_delete"
                )
    else:
        yield


def drop_alarm_take(day: date = DAY2, **kwargs: Any) -> ListAlarm | None:
    return registry_snapshot_take(day=day, **kwargs).alarm


# --- the snapshot


def test_the_snapshot_states_count_hash_and_day_signed(listed: list[ExemptNumber], clerk: User) -> None:
    outcome = registry_snapshot_take(actor=clerk, day=DAY1)
    snapshot = outcome.snapshot
    assert outcome.created and outcome.alarm is None
    assert (snapshot.day, snapshot.count) == (DAY1, 4)
    assert snapshot.numbers_sha256 == numbers_digest(NUMBERS)
    assert snapshot_signature_valid(snapshot)
    event = AuditEvent.objects.get(action="registry.snapshot_taken")
    assert event.actor == clerk and event.details["count"] == 4


def test_the_snapshot_holds_references_never_numbers(listed: list[ExemptNumber]) -> None:
    snapshot = registry_snapshot_take(day=DAY1).snapshot
    entries = set(snapshot.entries.values_list("number_ref", "registration_id"))
    assert entries == {(reference("number", e.number), e.pk) for e in listed}
    assert not any(n in str(entries) for n in NUMBERS)


def test_only_numbers_exempt_now_count_global_and_facility_scoped(
    attorney: Attorney, clerk: User, facility: Facility
) -> None:
    verified(attorney, clerk, NUMBERS[0])
    verified(attorney, clerk, NUMBERS[1], facility=facility)
    exempt_number_register(attorney=attorney, number=NUMBERS[2], actor=attorney.user)  # pending
    revoked = verified(attorney, clerk, NUMBERS[3])
    exempt_number_revoke(exempt_number_id=revoked.pk, actor=attorney.user)
    snapshot = registry_snapshot_take(day=DAY1).snapshot
    assert snapshot.count == 2 and snapshot.numbers_sha256 == numbers_digest(NUMBERS[:2])


def test_one_snapshot_per_day(listed: list[ExemptNumber]) -> None:
    first = registry_snapshot_take(day=DAY1)
    again = registry_snapshot_take(day=DAY1)
    assert not again.created and again.snapshot.pk == first.snapshot.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        ListSnapshot.objects.create(
            day=DAY1,
            taken_at=timezone.now(),
            count=0,
            numbers_sha256="",
            entries_sha256="",
            key_id="",
            signature="",
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE registry_listsnapshot SET count = 3",
        "DELETE FROM registry_listsnapshot",
        "UPDATE registry_listsnapshotentry SET registration_id = 0",
        "DELETE FROM registry_listsnapshotentry",
    ],
)
def test_snapshots_are_append_only_in_the_database(listed: list[ExemptNumber], statement: str) -> None:
    registry_snapshot_take(day=DAY1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert ListSnapshot.objects.get().count == 4 and ListSnapshotEntry.objects.count() == 4


def test_a_changed_snapshot_fails_its_signature(listed: list[ExemptNumber]) -> None:
    snapshot = registry_snapshot_take(day=DAY1).snapshot
    snapshot.count = 3
    assert not snapshot_signature_valid(snapshot)
    snapshot.refresh_from_db()
    snapshot.numbers_sha256 = numbers_digest(NUMBERS[:3])
    assert not snapshot_signature_valid(snapshot)


def test_beat_takes_the_snapshot_hourly_and_the_task_is_idempotent(listed: list[ExemptNumber]) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["registry-list-snapshot"]
    assert entry["task"] == "registry.list_snapshot" and entry["schedule"] <= 3600
    first = list_snapshot.apply().get()
    second = list_snapshot.apply().get()
    assert first["created"] and not second["created"] and first["count"] == second["count"] == 4
    assert ListSnapshot.objects.count() == 1


def test_the_command_takes_one_now_and_verifies_them(listed: list[ExemptNumber], clerk: User) -> None:
    out = io.StringIO()
    call_command("registry_snapshot", "--as", clerk.username, stdout=out)
    assert "took snapshot" in out.getvalue() and "4 numbers" in out.getvalue()
    out = io.StringIO()
    call_command("registry_snapshot", "--verify", "--as", clerk.username, stdout=out)
    assert out.getvalue().strip().endswith("4 ok")


def test_the_command_needs_a_clerk_or_auditor(db: None) -> None:
    from tests.factories import UserFactory

    UserFactory(username="nobody")
    with pytest.raises(CommandError, match="registry clerk or auditor"):
        call_command("registry_snapshot", "--as", "nobody")


# --- drops


def test_a_revocation_between_snapshots_raises_no_alarm(
    listed: list[ExemptNumber], attorney: Attorney
) -> None:
    registry_snapshot_take(day=DAY1)
    exempt_number_revoke(exempt_number_id=listed[0].pk, actor=attorney.user)
    assert drop_alarm_take() is None
    assert ListSnapshot.objects.get(day=DAY2).count == 3 and not ListAlarm.objects.exists()


class Clock:
    """``timezone.now`` pinned, moved only by the test (every service reads it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = timezone.now()
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def to(self, at: datetime) -> None:
        assert at >= self.now  # time only moves forward
        self.now = at


def short_window(attorney: Attorney, clerk: User, number: str, clock: Clock) -> ExemptNumber:
    """Verified for the shortest window a clerk may choose (the others run a year)."""
    exempt = exempt_number_register(attorney=attorney, number=number, actor=attorney.user)
    end = clock.now + timedelta(days=settings.REGISTRY_WINDOW_MIN_DAYS)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk, effective_until=end)[0]


def lapse_through_the_services(exempt: ExemptNumber, clock: Clock) -> None:
    """Time passes: the reminder job tells the attorney, then the (audited) end goes by."""
    assert exempt.effective_until is not None
    clock.to(exempt.effective_until - timedelta(days=settings.REGISTRY_REMINDER_DAYS))
    assert exempt_numbers_send_reminders() == 1
    exempt.refresh_from_db()
    assert exempt.effective_until is not None
    clock.to(exempt.effective_until + timedelta(seconds=1))


def test_an_expiry_between_snapshots_raises_no_alarm(
    listed: list[ExemptNumber], attorney: Attorney, clerk: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(monkeypatch)
    short = short_window(attorney, clerk, "+12125550105", clock)
    assert registry_snapshot_take(day=DAY1).snapshot.count == 5
    lapse_through_the_services(short, clock)
    assert drop_alarm_take() is None
    short.refresh_from_db()
    assert short.status == "expired" and ListSnapshot.objects.get(day=DAY2).count == 4
    expired = AuditEvent.objects.get(action="exempt_number.expired", target_id=str(short.pk))
    assert expired.details["effective_until"] == short.effective_until.isoformat()  # type: ignore[union-attr]


def test_an_end_moved_behind_the_back_after_the_reminder_is_unexplained(
    listed: list[ExemptNumber], attorney: Attorney, clerk: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reminder was real, but the end it announced was pulled in by a raw UPDATE: the lapse
    # is not at an end any audited act set.
    clock = Clock(monkeypatch)
    short = short_window(attorney, clerk, "+12125550105", clock)
    registry_snapshot_take(day=DAY1)
    clock.to(clock.now + timedelta(days=settings.REGISTRY_WINDOW_MIN_DAYS - settings.REGISTRY_REMINDER_DAYS))
    assert exempt_numbers_send_reminders() == 1
    ExemptNumber.objects.filter(pk=short.pk).update(effective_until=clock.now + timedelta(days=1))
    clock.to(clock.now + timedelta(days=2))
    alarm = drop_alarm_take()
    assert alarm is not None and alarm.unexplained_count == 1
    assert alarm.unexplained == [
        {"number_ref": reference("number", short.number), "registration_id": short.pk}
    ]


def test_verification_records_the_end_it_set(listed: list[ExemptNumber]) -> None:
    event = AuditEvent.objects.get(action="exempt_number.verified", target_id=str(listed[0].pk))
    assert event.details["effective_until"] == listed[0].effective_until.isoformat()  # type: ignore[union-attr]


# --- scope


def test_entries_carry_the_scope_and_the_signature_covers_it(
    attorney: Attorney, clerk: User, facility: Facility
) -> None:
    wide = verified(attorney, clerk, NUMBERS[0])
    narrow = verified(attorney, clerk, NUMBERS[1], facility=facility)
    snapshot = registry_snapshot_take(day=DAY1).snapshot
    assert snapshot.entries_version == 2 and snapshot_signature_valid(snapshot)
    assert set(snapshot.entries.values_list("registration_id", "facility_id")) == {
        (wide.pk, None),
        (narrow.pk, facility.pk),
    }
    entries = [
        (ref, reg, None)
        for ref, reg, _ in snapshot.entries.values_list("number_ref", "registration_id", "facility_id")
    ]
    # The stored digest is not the one of the same entries with every scope widened.
    assert entries_digest(entries) != snapshot.entries_sha256
    snapshot.entries_version = 1  # passed off as a snapshot without scopes
    assert not snapshot_signature_valid(snapshot)


def test_a_scope_narrowed_or_moved_behind_the_back_is_unexplained(
    listed: list[ExemptNumber], facility: Facility, other_facility: Facility
) -> None:
    ExemptNumber.objects.filter(pk=listed[1].pk).update(facility=facility)
    registry_snapshot_take(day=DAY1)
    ExemptNumber.objects.filter(pk=listed[0].pk).update(facility=facility)  # global -> one
    ExemptNumber.objects.filter(pk=listed[1].pk).update(facility=other_facility)  # one -> another
    alarm = drop_alarm_take()
    assert alarm is not None and alarm.unexplained_count == 2 and alarm.current_count == 4
    assert alarm.unexplained == sorted(
        [
            {
                "number_ref": reference("number", listed[0].number),
                "registration_id": listed[0].pk,
                "narrowed_to_facility_id": facility.pk,
            },
            {
                "number_ref": reference("number", listed[1].number),
                "registration_id": listed[1].pk,
                "narrowed_to_facility_id": other_facility.pk,
            },
        ],
        key=lambda u: str(u["number_ref"]),
    )


def test_a_widened_scope_is_no_drop(listed: list[ExemptNumber], facility: Facility) -> None:
    ExemptNumber.objects.filter(pk=listed[1].pk).update(facility=facility)
    registry_snapshot_take(day=DAY1)
    ExemptNumber.objects.filter(pk=listed[1].pk).update(facility=None)
    assert drop_alarm_take() is None


def test_a_scope_narrowed_by_revoking_and_registering_again_is_explained(
    listed: list[ExemptNumber], attorney: Attorney, clerk: User, facility: Facility
) -> None:
    registry_snapshot_take(day=DAY1)
    exempt_number_revoke(exempt_number_id=listed[0].pk, actor=attorney.user)
    verified(attorney, clerk, NUMBERS[0], facility=facility)
    assert drop_alarm_take() is None


def test_rows_deleted_behind_the_services_back_raise_one_alarm(
    listed: list[ExemptNumber], django_capture_on_commit_callbacks: Any, mailoutbox: list[Any]
) -> None:
    registry_snapshot_take(day=DAY1)
    with registration_delete_allowed(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_exemptnumber WHERE id IN (%s, %s)", [listed[0].pk, listed[1].pk])
    with django_capture_on_commit_callbacks(execute=True):
        alarm = drop_alarm_take()
    assert alarm is not None
    assert (alarm.previous_count, alarm.current_count, alarm.dropped_count, alarm.unexplained_count) == (
        4,
        2,
        2,
        2,
    )
    assert alarm.unexplained == [
        {"number_ref": reference("number", e.number), "registration_id": e.pk}
        for e in sorted(listed[:2], key=lambda e: reference("number", e.number))
    ]
    event = AuditEvent.objects.get(action="registry.list_drop_unexplained")
    assert event.target_id == str(alarm.pk) and event.details["unexplained"] == 2
    assert sorted(event.details["unexplained_refs"]) == sorted(
        reference("number", e.number) for e in listed[:2]
    )
    assert NUMBERS[0] not in str(event.details)
    (mail,) = mailoutbox
    assert mail.to == settings.COMPLIANCE_EMAILS and "2 number(s)" in mail.subject
    assert not any(n in mail.body for n in NUMBERS)
    assert list(open_list_alarms()) == [alarm]


def test_a_raw_status_update_is_unexplained(listed: list[ExemptNumber], attorney: Attorney) -> None:
    registry_snapshot_take(day=DAY1)
    exempt_number_revoke(exempt_number_id=listed[0].pk, actor=attorney.user)  # explained
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_exemptnumber SET status = 'revoked' WHERE id = %s", [listed[2].pk])
    alarm = drop_alarm_take()
    assert alarm is not None and alarm.dropped_count == 2 and alarm.unexplained_count == 1
    assert alarm.unexplained == [
        {"number_ref": reference("number", NUMBERS[2]), "registration_id": listed[2].pk}
    ]


def test_a_number_rewritten_behind_the_back_is_unexplained(listed: list[ExemptNumber]) -> None:
    registry_snapshot_take(day=DAY1)
    ExemptNumber.objects.filter(pk=listed[3].pk).update(number="+12125550199")
    alarm = drop_alarm_take()
    assert alarm is not None and alarm.unexplained_count == 1 and alarm.current_count == 4


def test_a_revocation_before_the_previous_snapshot_explains_nothing(
    attorney: Attorney, clerk: User, listed: list[ExemptNumber]
) -> None:
    # The event must fall between the two snapshots: an old one cannot excuse a new drop.
    exempt_number_revoke(exempt_number_id=listed[0].pk, actor=attorney.user)
    again = verified(attorney, clerk, NUMBERS[0])
    registry_snapshot_take(day=DAY1)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_exemptnumber SET status = 'revoked' WHERE id = %s", [again.pk])
    alarm = drop_alarm_take()
    assert alarm is not None and alarm.unexplained_count == 1


def test_an_acknowledged_alarm_leaves_the_banner_but_stays_for_the_report(
    listed: list[ExemptNumber], clerk: User
) -> None:
    registry_snapshot_take(day=DAY1)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_exemptnumber SET status = 'expired' WHERE id = %s", [listed[0].pk])
    alarm = drop_alarm_take()
    assert alarm is not None
    list_alarm_acknowledge(alarm_id=alarm.pk, user=clerk, note="re-verified from the paper file")
    assert not open_list_alarms().exists()
    assert list(list_alarms_between(alarm.detected_at, alarm.detected_at + timedelta(seconds=1))) == [alarm]
    assert AuditEvent.objects.filter(action="registry.list_alarm_acknowledged", actor=clerk).exists()
    with pytest.raises(DatabaseError), transaction.atomic():
        ListAlarm.objects.filter(pk=alarm.pk).update(unexplained_count=0)
    with pytest.raises(DatabaseError), transaction.atomic():
        ListAlarm.objects.filter(pk=alarm.pk).delete()


def test_a_second_attorney_of_the_list_does_not_confuse_the_comparison(
    listed: list[ExemptNumber], attorney: Attorney, clerk: User
) -> None:
    # A number revoked by one attorney and verified for another between snapshots stays listed.
    registry_snapshot_take(day=DAY1)
    exempt_number_revoke(exempt_number_id=listed[0].pk, actor=attorney.user)
    verified(AttorneyFactory(), clerk, NUMBERS[0])
    assert drop_alarm_take() is None
    assert ListSnapshot.objects.get(day=DAY2).count == 4
