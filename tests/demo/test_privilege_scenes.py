"""The demo shows issue 11's privilege assurance (simulate_calls' scenes) and avoids issue 15's
first-ten-minutes traps (two officers, a second admin, an investigator grant, idempotent runs,
output that does not contradict itself)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.roles import FACILITY_ADMIN, PRIVILEGE_OFFICER, REGISTRY_CLERK
from apps.audit.commands import holds_role
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.demo.privilege_scenes import PARTNER_NUMBERS
from apps.demo.seed import GRANT_CASE_REFERENCE, seed_demo
from apps.demo.simulator import Simulator
from apps.facilities.models import SwitchAccount
from apps.inmates.models import InmateUserObjectPermission
from apps.recordings.models import HoldKind, QuarantineHold, Recording, RecordingState, StopPress
from apps.registry.alarms import open_list_alarms
from apps.registry.drift import stale_since
from apps.registry.models import (
    AssuranceRun,
    AssuranceStatus,
    BulkChange,
    BulkChangeStatus,
    DecisionListVersion,
    ExemptNumber,
    ExemptStatus,
    ListSnapshot,
    SwitchListHolding,
)
from apps.registry.snapshots import snapshot_signature_valid

pytestmark = pytest.mark.django_db


def _simulate(*args: str) -> str:
    out = io.StringIO()
    call_command("simulate_calls", "--calls", "6", "--seed", "5", *args, stdout=out)
    return out.getvalue()


def test_seed_has_two_officers_two_clerks_a_second_admin_and_an_investigator_grant() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    for role in (FACILITY_ADMIN, PRIVILEGE_OFFICER, REGISTRY_CLERK):
        usernames = {data["users"][role]["username"], data["second_users"][role]["username"]}
        assert len(usernames) == 2
        assert all(holds_role(User.objects.get(username=name), role) for name in usernames)
    investigator = User.objects.get(username=data["users"]["investigator"]["username"])
    grants = InmateUserObjectPermission.objects.filter(user=investigator, expires_at__gt=timezone.now())
    assert [g.case_reference for g in grants] == [GRANT_CASE_REFERENCE]
    assert data["grants"][0]["inmate"] == grants[0].content_object.booking_number
    # Through the audited grant service, once: a re-run neither re-grants nor renews.
    call_command("seed_demo", stdout=io.StringIO())
    assert AuditEvent.objects.filter(action="grant.created").count() == 1
    assert not AuditEvent.objects.filter(action="grant.renewed").exists()


def test_seed_output_does_not_say_the_logins_are_never_printed() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "not printed" not in text
    assert "demo_summary" in text and "--json" in text


def test_simulate_calls_plays_every_privilege_assurance_scene() -> None:
    seed = seed_demo()
    simulator = Simulator(seed, rng_seed=5, run_key="scenes")
    report = simulator.run(6)
    privilege = simulator.privilege
    assert report.ok and privilege is not None and privilege.ok

    # Late registration: its earlier recordings, one per facility, are quarantined.
    assert privilege.late_calls_recorded == privilege.late_quarantined == len(seed.facilities)
    late = QuarantineHold.objects.filter(kind=HoldKind.PRIVILEGED, closed_at__isnull=True)
    assert late.count() >= len(seed.facilities)
    assert all(h.recording.state == RecordingState.QUARANTINED for h in late)

    # Two clerks: proposed by one, applied by the other; the partner's numbers are now exempt.
    change = BulkChange.objects.get()
    assert change.status == BulkChangeStatus.APPLIED
    assert change.proposed_by.username == seed.users["registry_clerk"]["username"]
    assert change.decided_by is not None
    assert change.decided_by.username == seed.second_users["registry_clerk"]["username"]
    numbers = [number for number, _, _ in PARTNER_NUMBERS]
    assert ExemptNumber.objects.filter(number__in=numbers, status=ExemptStatus.VERIFIED).count() == 2
    assert privilege.bulk_applied["imported"] == 2 and not privilege.bulk_rerun_proposed

    # Stop: the investigator, through its grant, stopped one recording after hearing its start.
    press = StopPress.objects.get()
    assert press.pressed_by.username == seed.users["investigator"]["username"]
    assert press.recording.state == RecordingState.QUARANTINED
    assert press.bytes_heard > 0 and privilege.stop_recording == press.recording_id
    assert len(press.officers_notified) == 2  # both seeded officers
    # ...and still has a recording of that inmate to play after the demo.
    investigator = press.pressed_by
    assert Recording.objects.restrict(investigator, "play").filter(inmate=press.recording.inmate_id).exists()

    # The day's snapshot: signed, every verified number, no alarm.
    snapshot = ListSnapshot.objects.get()
    assert snapshot_signature_valid(snapshot)
    assert snapshot.count == ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED).count()
    assert privilege.snapshot_created and not open_list_alarms().exists()

    # Each switch holds the current decision list it fetched.
    latest = DecisionListVersion.objects.order_by("-number").first()
    assert latest is not None
    for switch in SwitchAccount.objects.filter(user__username__startswith="switch-"):
        holding = SwitchListHolding.objects.get(switch=switch)
        assert holding.held_version == holding.fetched_version
        assert stale_since(switch=switch, held=holding.held_version) is None
    assert all(sig and held == current for _, _, sig, held, current in privilege.decision_lists.values())

    # The assurance run checked every verified number, the facility-scoped one in its facility.
    run = AssuranceRun.objects.get()
    assert run.status == AssuranceStatus.PASSED and run.failures == 0
    assert run.numbers_checked == ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED).count()
    assert run.scoped_checked == 1
    assert not Call.objects.filter(synthetic=True, decision="record").exists()


def test_the_command_prints_the_scenes_and_a_run_key_is_not_run_twice() -> None:
    text = _simulate("--run-key", "k1")
    assert "INVARIANT I1 HOLDS" in text and "PRIVILEGE ASSURANCE HOLDS" in text
    assert "0 failure(s)" in text and "quarantined on verification: 2" in text
    counts: dict[str, Any] = {
        "calls": Call.objects.count(),
        "runs": AssuranceRun.objects.count(),
        "presses": StopPress.objects.count(),
        "events": AuditEvent.objects.exclude(action="command.run").count(),
    }
    again = _simulate("--run-key", "k1")
    assert "simulated already" in again and "nothing added" in again
    assert counts == {
        "calls": Call.objects.count(),
        "runs": AssuranceRun.objects.count(),
        "presses": StopPress.objects.count(),
        "events": AuditEvent.objects.exclude(action="command.run").count(),
    }


def test_a_second_run_under_another_key_adds_calls_without_errors() -> None:
    _simulate("--run-key", "a")
    text = _simulate("--run-key", "b")
    assert "PRIVILEGE ASSURANCE HOLDS" in text
    assert "already taken today" in text  # one snapshot a day
    assert "partner file imported before: 2 identical row(s)" in text  # the import is idempotent
    assert BulkChange.objects.count() == 1 and ListSnapshot.objects.count() == 1
    assert AssuranceRun.objects.filter(failures=0).count() == 2
    assert StopPress.objects.count() == 2


def test_the_stop_scene_stays_under_the_hourly_limit(settings: Any) -> None:
    settings.STOP_BUTTON_PER_HOUR = 1
    _simulate("--run-key", "a")
    text = _simulate("--run-key", "b")
    assert "hourly stop limit is reached" in text
    assert StopPress.objects.count() == 1
    assert not AuditEvent.objects.filter(action="quota.exceeded").exists()


def test_summary_counts_match_and_link_to_real_pages() -> None:
    sim = _simulate("--run-key", "s")
    out = io.StringIO()
    call_command("demo_summary", stdout=out)
    text = out.getvalue()
    added = int(sim.split("calls added by this run: ")[1].split(")")[0])
    assert f"calls: {added} " in text  # the simulation's count is the summary's
    assert "/api/schema/" in text
    assert "API:     http" not in text  # the bare /api/v1/ link (a 404) is gone
    assert "last assurance run" in text and "0 failure(s)" in text
    assert "stop presses: 1" in text and "open list alarms: 0" in text
    assert "holds v" in text and "(current)" in text
    assert "demo-facility-admin-2" in text and "demo-privilege-officer-2" in text
    assert Call.objects.filter(synthetic=False).count() == added
