"""The nightly assurance run (issue 11, section 3): every verified number through the real call
setup and the real storage gate, with synthetic calls that no list or figure shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.access.anomaly import analyse_new_events
from apps.actions.assurance import assurance_run
from apps.actions.registry import exempt_number_verify
from apps.actions.tasks import nightly_assurance_run
from apps.audit.models import AuditEvent
from apps.audit.references import reference
from apps.calls.models import Call
from apps.calls.selectors import calls_of_switch
from apps.calls.services import call_setup
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.inmates.models import SYNTHETIC_BOOKING_NUMBER, Inmate
from apps.portal.selectors import facility_day_stats
from apps.recordings.models import Recording
from apps.registry.alarms import open_list_alarms
from apps.registry.models import Attorney, ExemptNumber, ListAlarmKind
from apps.registry.selectors import last_assurance_run
from apps.registry.services import exempt_number_register
from tests.actors import Cast

pytestmark = pytest.mark.django_db

NOW = datetime(2030, 3, 1, 3, 0, tzinfo=UTC)
GLOBAL = ["+12125550101", "+12125550102", "+12125550103"]
HOME_ONLY = "+12125550201"
OTHER_ONLY = "+12125550301"
E164 = re.compile(r"\+[1-9]\d{6,14}")


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def verified(attorney: Attorney, clerk: User, number: str, facility: Facility | None = None) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, facility=facility, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


@pytest.fixture
def listed(
    attorney: Attorney, clerk: User, facility: Facility, other_facility: Facility
) -> dict[str, ExemptNumber]:
    rows = {number: verified(attorney, clerk, number) for number in GLOBAL}
    rows[HOME_ONLY] = verified(attorney, clerk, HOME_ONLY, facility)
    rows[OTHER_ONLY] = verified(attorney, clerk, OTHER_ONLY, other_facility)
    return rows


def storage_keys(storage: Any) -> set[str]:
    return {key for key, _ in storage.list_keys()}


def break_decision(registration: ExemptNumber) -> None:
    """Behind the services' back: the row still says "verified", but its window now starts
    tomorrow, so the decision path no longer covers the number (a vendor upgrade rewriting
    dates, say)."""
    ExemptNumber.objects.filter(pk=registration.pk).update(effective_from=NOW + timedelta(days=1))


# --- a healthy list


def test_a_run_over_global_and_scoped_numbers_passes_and_stores_nothing(
    listed: dict[str, ExemptNumber], facility: Facility, other_facility: Facility, storage: Any
) -> None:
    before = storage_keys(storage)
    run = assurance_run()
    assert (run.status, run.numbers_checked, run.failures) == ("passed", 5, 0)
    assert (run.global_checked, run.scoped_checked, run.uploads_refused) == (3, 2, 5)
    assert run.finished_at == NOW and run.duration_seconds is not None
    assert storage_keys(storage) == before
    assert not Recording.objects.exists()
    assert not open_list_alarms().exists()


def test_global_numbers_are_checked_once_in_the_first_facility_by_code_and_scoped_ones_at_home(
    listed: dict[str, ExemptNumber], facility: Facility, other_facility: Facility
) -> None:
    run = assurance_run()
    first = Facility.objects.order_by("code").first()
    assert run.global_facility == first
    calls = Call.objects.filter(synthetic=True)
    by_number = {c.dialed_number: c for c in calls}
    assert len(calls) == 5 and set(by_number) == {*GLOBAL, HOME_ONLY, OTHER_ONLY}
    assert {by_number[n].facility for n in GLOBAL} == {first}
    assert by_number[HOME_ONLY].facility == facility
    assert by_number[OTHER_ONLY].facility == other_facility
    assert all(c.decision == "exempt" and c.privileged for c in calls)
    assert {c.inmate.booking_number for c in calls} == {SYNTHETIC_BOOKING_NUMBER}


def test_the_global_facility_can_be_chosen(
    listed: dict[str, ExemptNumber], other_facility: Facility, settings: Any
) -> None:
    settings.ASSURANCE_GLOBAL_FACILITY = other_facility.code
    run = assurance_run()
    assert run.global_facility == other_facility
    assert Call.objects.filter(synthetic=True, facility=other_facility).count() == 4


def test_the_real_paths_write_their_events_and_the_run_writes_one_per_run(
    listed: dict[str, ExemptNumber],
) -> None:
    run = assurance_run()
    synthetic_ids = {str(pk) for pk in Call.objects.filter(synthetic=True).values_list("pk", flat=True)}
    setups = AuditEvent.objects.filter(action="call.setup", target_id__in=synthetic_ids)
    refusals = AuditEvent.objects.filter(action="recording.upload_refused", target_id__in=synthetic_ids)
    assert setups.count() == 5 and refusals.count() == 5
    finished = AuditEvent.objects.get(action="assurance.run_finished", target_id=str(run.pk))
    assert finished.details["numbers_checked"] == 5 and finished.details["failures"] == 0
    assert AuditEvent.objects.filter(action="assurance.run_started", target_id=str(run.pk)).count() == 1
    assert not AuditEvent.objects.filter(action="assurance.failure").exists()


# --- a broken decision


def test_a_broken_decision_for_one_number_is_one_failure_and_one_alarm(
    listed: dict[str, ExemptNumber],
    storage: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    broken = listed[HOME_ONLY]
    break_decision(broken)
    before = storage_keys(storage)
    with django_capture_on_commit_callbacks(execute=True):
        run = assurance_run()
    assert (run.status, run.numbers_checked, run.failures) == ("failed", 5, 1)
    [failure] = run.failure_details
    assert failure["registration_id"] == broken.pk
    assert failure["number_ref"] == reference("number", HOME_ONLY)
    assert failure["stage"] == "setup" and "record" in failure["reason"]
    # The gate saw a call it would record; the body it tried to read never yielded a byte.
    assert "read the body" in failure["reason"]
    assert storage_keys(storage) == before and not Recording.objects.exists()

    [alarm] = open_list_alarms()
    assert alarm.kind == ListAlarmKind.ASSURANCE_FAILURE and alarm.assurance_run == run
    assert alarm.unexplained_count == 1 and alarm.facility_ids == [broken.facility_id]
    assert AuditEvent.objects.filter(action="assurance.failure", target_id=str(broken.pk)).count() == 1
    assert AuditEvent.objects.filter(action="registry.assurance_failure_alarm").count() == 1
    [message] = mail.outbox
    assert message.to == list(settings.COMPLIANCE_EMAILS)
    # Keyed references only: no clear number in the alarm, its event, the run or the mail.
    event = AuditEvent.objects.get(action="registry.assurance_failure_alarm")
    for text in (str(alarm.unexplained), str(event.details), str(run.failure_details), message.body):
        assert not E164.search(text)


def test_a_run_after_the_fix_passes_and_leaves_the_old_alarm_for_acknowledgement(
    listed: dict[str, ExemptNumber],
) -> None:
    break_decision(listed[GLOBAL[0]])
    assert assurance_run().failures == 1
    ExemptNumber.objects.filter(pk=listed[GLOBAL[0]].pk).update(effective_from=NOW - timedelta(days=1))
    second = assurance_run()
    assert second.failures == 0
    assert open_list_alarms().count() == 1


# --- synthetic data stays out of the figures


@pytest.fixture
def real_call(listed: dict[str, ExemptNumber], facility: Facility, switch: Any, inmate: Inmate) -> Call:
    """One real call beside the synthetic ones, so that "empty" below means "filtered"."""
    call, _ = call_setup(
        facility=facility,
        switch_call_id="real-1",
        booking_number=inmate.booking_number,
        dialed_number="+12125550999",
        started_at=NOW,
        actor=switch.user,
    )
    return call


def test_synthetic_calls_are_in_no_staff_list_api_or_dashboard(
    real_call: Call, cast: Cast, facility: Facility, switch: Any
) -> None:
    assurance_run()
    assert Call.objects.filter(synthetic=True).count() == 5
    admin = cast.admin.user
    assert list(Call.objects.restrict(admin, Action.VIEW)) == [real_call]
    response = cast.admin.client.get("/api/v1/calls/")
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["id"] for row in rows] == [real_call.pk]
    assert list(Recording.objects.restrict(admin, Action.VIEW)) == []
    assert cast.admin.client.get("/api/v1/recordings/").json()["results"] == []
    [stats] = facility_day_stats(admin, [facility])
    assert (stats.calls_today, stats.exempted) == (1, 0)
    assert list(calls_of_switch(switch.user)) == [real_call]
    inmates = Inmate.objects.restrict(admin, Action.VIEW)
    assert not inmates.filter(booking_number=SYNTHETIC_BOOKING_NUMBER).exists()


def test_the_anomaly_analysis_suspends_no_one_over_a_run(listed: dict[str, ExemptNumber]) -> None:
    assurance_run()
    assert analyse_new_events() == []


def test_the_synthetic_switch_cannot_log_in(listed: dict[str, ExemptNumber], facility: Facility) -> None:
    assurance_run()
    user = User.objects.get(username=f"assurance-switch-{facility.code}")
    assert not user.is_active and not user.has_usable_password()


# --- how it is started and shown


def test_the_command_prints_the_figures_and_fails_on_a_failure(
    listed: dict[str, ExemptNumber], clerk: User, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("assurance_run", "--as", clerk.username)
    assert "5 number(s) checked" in capsys.readouterr().out
    break_decision(listed[OTHER_ONLY])
    with pytest.raises(CommandError, match="1 number"):
        call_command("assurance_run", "--as", clerk.username)
    assert AuditEvent.objects.filter(action="assurance.run_started", actor=clerk).count() == 2


def test_the_command_needs_a_clerk_or_auditor(listed: dict[str, ExemptNumber], attorney: Attorney) -> None:
    with pytest.raises(CommandError, match="may not run"):
        call_command("assurance_run", "--as", attorney.user.username)


def test_beat_runs_it_nightly_and_the_dashboard_reads_the_last_run(
    listed: dict[str, ExemptNumber], celery_eager: None
) -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["actions-assurance-run"]
    assert schedule["task"] == "actions.assurance_run"
    assert last_assurance_run() is None
    result = nightly_assurance_run.delay().get()
    assert result["numbers_checked"] == 5 and result["failures"] == 0
    last = last_assurance_run()
    assert last is not None and last.pk == result["run"] and last.trigger == "beat"


def test_the_clerk_queue_shows_the_last_run_and_its_failure_alarm(
    listed: dict[str, ExemptNumber], clerk: User
) -> None:
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(clerk)
    assert (
        "No assurance run has finished yet" in client.get(reverse("attorneys:clerk-queue")).content.decode()
    )

    break_decision(listed[HOME_ONLY])
    run = assurance_run()
    page = client.get(reverse("attorneys:clerk-queue")).content.decode()
    assert "5 number(s) checked, <strong>1 failure(s)</strong>" in page
    [alarm] = open_list_alarms()
    assert f'id="alarm-{alarm.pk}"' in page
    assert f"The assurance run of {run.started_at:%Y-%m-%d} checked 5 number(s): 1 would have been" in page
    assert not E164.search(page.split('id="assurance"')[1].split("</section>")[0])
