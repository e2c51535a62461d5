"""Issue 15 item 9: the auditors' pages. Times on one line with their zone, targets linked only
where the auditor may open them, expandable details, an "Action" list, filters that survive an
export, export progress that refreshes itself, and the trail's state on the dashboard."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from apps.access.models import Canary, Suspension
from apps.audit import chain
from apps.audit.models import AuditEvent, AuditExport, AuthRejectionWindow, ChainVerification
from apps.audit.selectors import KNOWN_ACTIONS_SQL, known_actions
from apps.audit.services import record_event
from apps.audit.verification import chain_verification_run, trail_state
from apps.inmates.selectors import inmates_visible_to
from apps.portal.audit_rows import event_rows
from apps.portal.views.compliance import action_choices
from tests.portal.conftest import World, browser_login, logged_in, screenshot


@pytest.fixture(autouse=True)
def _fresh_action_cache() -> None:
    cache.clear()  # the action list is cached: no test sees another's


def _event(action: str, **kwargs: Any) -> AuditEvent:
    with transaction.atomic():
        return record_event(action=action, **kwargs)


@pytest.mark.django_db
def test_times_fit_one_line_and_show_their_zone(world: World) -> None:
    _event("test.timed", actor=world.investigator)
    body = logged_in(world.auditor).get("/compliance/", {"action": "test.timed"}).content.decode()
    zone = timezone.localtime().strftime("%Z")
    assert '<td class="nowrap"><time datetime=' in body
    assert f"Time ({zone})" in body


@pytest.mark.django_db
def test_targets_link_only_where_the_auditor_may_open_them(world: World) -> None:
    seen = _event("test.target", target=world.granted_inmate)
    unseen = _event("test.target", target=world.foreign_inmate)
    call = _event("test.target", target_type="calls.call", target_id="7")
    # The admin sees the facility's inmates, not the other facility's.
    rows = {r.event.pk: r for r in event_rows(world.admin, [seen, unseen, call])}
    assert rows[seen.pk].target_url == f"/inmates/{world.granted_inmate.pk}/"
    assert (
        rows[unseen.pk].target_url is None
        and rows[unseen.pk].target == f"inmates.inmate:{world.foreign_inmate.pk}"
    )
    assert rows[call.pk].target_url is None  # no portal page for a call
    # In the page: a link for the auditor only where their scope holds the inmate.
    body = logged_in(world.auditor).get("/compliance/", {"action": "test.target"}).content.decode()
    may_open = inmates_visible_to(world.auditor).filter(pk=world.foreign_inmate.pk).exists()
    assert (f'href="/inmates/{world.foreign_inmate.pk}/"' in body) == may_open


@pytest.mark.django_db
def test_a_planted_canary_is_never_a_link(world: World) -> None:
    Canary.objects.create(target_type="inmates.inmate", target_id=str(world.granted_inmate.pk))
    event = _event("test.target", target=world.granted_inmate)
    (row,) = event_rows(world.admin, [event])
    assert row.target_url is None


@pytest.mark.django_db
def test_event_details_expand_server_side(world: World) -> None:
    _event("test.detailed", actor=world.investigator, details={"reason": "<b>why</b>"})
    body = logged_in(world.auditor).get("/compliance/", {"action": "test.detailed"}).content.decode()
    assert '<details class="event-details"><summary>Details</summary><pre>' in body
    assert "&lt;b&gt;why&lt;/b&gt;" in body and "<b>why</b>" not in body
    assert "<script" not in body.split("<main", 1)[1]  # no inline script (CSP)


@pytest.mark.django_db
def test_action_is_a_list_of_the_known_actions_with_kinds(world: World) -> None:
    _event("zeta.one", actor=world.investigator)
    _event("zeta.two", actor=world.investigator)
    assert {"zeta.one", "zeta.two"} <= set(known_actions(fresh=True))
    body = logged_in(world.auditor).get("/compliance/").content.decode()
    assert '<select name="action"' in body
    assert '<option value="zeta.">zeta.* (all)</option>' in body
    assert '<option value="zeta.one">zeta.one</option>' in body
    # The kind filters by prefix.
    body = logged_in(world.auditor).get("/compliance/", {"action": "zeta."}).content.decode()
    assert '<td class="mono">zeta.one' in body and '<td class="mono">zeta.two' in body


def test_a_bookmarked_action_not_yet_listed_still_filters_and_garbage_does_not() -> None:
    values = [v for _, group in action_choices(["a.b"], submitted="new.kind")[1:] for v in _values(group)]
    assert "new.kind" in values
    garbage = action_choices(["a.b"], submitted="x' OR 1=1")
    assert all("OR" not in str(choice) for choice in garbage)


def _values(group: Any) -> list[str]:
    return [v for v, _ in group] if isinstance(group, list) else [group]


@pytest.mark.django_db
def test_the_action_list_is_cached_not_read_per_view(world: World) -> None:
    known_actions()  # fills the cache
    _event("late.arrival", actor=world.investigator)
    assert "late.arrival" not in known_actions()  # served from the cache
    assert "late.arrival" in known_actions(fresh=True)


@pytest.mark.django_db
def test_the_action_walk_uses_the_index_on_postgresql(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN of the loose index scan is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small test table would be seq-scanned
        cursor.execute("EXPLAIN " + KNOWN_ACTIONS_SQL, [500])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Recursive Union" in plan and "Index Only Scan" in plan, plan


@pytest.mark.django_db
def test_filters_survive_an_export_and_the_export_records_them(world: World) -> None:
    client = logged_in(world.auditor)
    filters = {"action": "recording.", "actor": "someone", "since": "2026-01-01"}
    page = client.get("/compliance/", filters).content.decode()
    for name, value in filters.items():
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    response = client.post("/compliance/exports/", filters)
    assert response.status_code == 302
    location = response["Location"]
    assert (
        location.startswith("/compliance/?")
        and "action=recording." in location
        and "actor=someone" in location
    )
    export = AuditExport.objects.get(requested_by=world.auditor)
    assert export.filters["action"] == "recording." and export.filters["actor"] == "someone"
    assert export.filters["since"].startswith("2026-01-01")
    requested = AuditEvent.objects.filter(action="audit.export_requested", actor=world.auditor).latest("id")
    assert requested.details["filters"]["action"] == "recording."
    after = client.get(location).content.decode()
    assert "action=recording." in after and "actor=someone" in after  # the export table names them


@pytest.mark.django_db
def test_export_progress_refreshes_only_while_an_export_runs(world: World) -> None:
    client = logged_in(world.auditor)
    running = AuditExport.objects.create(requested_by=world.auditor, status="running", total=10, written=4)
    body = client.get("/compliance/").content.decode()
    assert '<meta http-equiv="refresh" content="5">' in body
    assert 'id="export-progress"' in body and f"Export #{running.pk} running" in body and "4 / 10" in body
    AuditExport.objects.filter(pk=running.pk).update(status="done")
    body = client.get("/compliance/").content.decode()
    assert 'http-equiv="refresh"' not in body and 'id="export-progress"' not in body
    # Someone else's running export neither refreshes nor shows on the auditor's page.
    AuditExport.objects.create(requested_by=world.admin, status="running")
    assert 'http-equiv="refresh"' not in client.get("/compliance/").content.decode()


@pytest.mark.django_db
def test_the_periodic_verification_stores_its_result_and_is_audited(world: World) -> None:
    _event("test.sealed", actor=world.investigator)
    chain.audit_seal_pending()
    chain.audit_checkpoint_create()
    result = chain_verification_run()
    assert result.ok and result.events >= 1 and result.problem_kind == ""
    assert ChainVerification.objects.get() == result
    event = AuditEvent.objects.filter(action="audit.chain_verified").latest("id")
    assert event.details["ok"] is True and event.target_id == str(result.pk)


@pytest.mark.django_db
def test_the_verification_task_is_scheduled_and_stores_a_result() -> None:
    from django.conf import settings

    from apps.audit.tasks import verify_audit_chain

    assert settings.CELERY_BEAT_SCHEDULE["audit-verify-chain"]["task"] == "audit.verify_chain"
    assert verify_audit_chain() is True  # an empty chain is intact
    assert ChainVerification.objects.get().ok


@pytest.mark.django_db
def test_the_auditor_dashboard_shows_the_trail_state(world: World) -> None:
    _event("test.sealed", actor=world.investigator)
    chain.audit_seal_pending()
    checkpoint = chain.audit_checkpoint_create()
    assert checkpoint is not None
    ChainVerification.objects.create(
        started_at=timezone.now(),
        finished_at=timezone.now(),
        ok=False,
        problem_kind="changed",
        problem_sequence=3,
        message="event 3 differs",
    )
    AuthRejectionWindow.objects.create(
        source="203.0.113.9", window_start=timezone.now() - timedelta(minutes=5), count=150, alerted=True
    )
    body = logged_in(world.auditor).get("/").content.decode()
    assert 'id="trail-state"' in body
    assert f"#{checkpoint.sequence}" in body and "signature valid" in body
    assert "FAILED: changed" in body and "at #3" in body
    assert "203.0.113.9" in body
    assert "You are not assigned" not in body
    assert 'id="open-suspensions"' not in body  # nobody is suspended
    state = trail_state()
    assert state.last_sealed is not None and state.last_sealed.sequence == checkpoint.sequence
    # Others do not see it.
    assert 'id="trail-state"' not in logged_in(world.admin).get("/").content.decode()


@pytest.mark.django_db
def test_a_checkpoint_the_key_did_not_sign_shows_as_invalid(world: World) -> None:
    _event("test.sealed", actor=world.investigator)
    chain.audit_seal_pending()
    with override_settings(AUDIT_SIGNING_KEY=b"\x07" * 32):  # signed by another key
        assert chain.audit_checkpoint_create() is not None
    assert trail_state().checkpoint_signature_ok is False
    assert "signature INVALID" in logged_in(world.auditor).get("/").content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1366, 390])
def test_the_auditor_pages_in_a_browser(
    world: World, live_server: Any, browser_page: Any, width: int
) -> None:
    page, base = browser_page, live_server.url
    page.set_viewport_size({"width": width, "height": 860})
    _event("test.browser", target=world.granted_inmate, details={"note": "expand me"})
    browser_login(page, base, "auditor")
    screenshot(page, f"auditor-dashboard-{width}")
    assert page.locator("#trail-state").is_visible()
    page.goto(f"{base}/compliance/?action=test.")
    page.locator("details.event-details summary").first.click()
    assert page.locator("details.event-details pre").first.is_visible()
    time_cell = page.locator("td.nowrap time").first
    box = time_cell.bounding_box()
    assert box is not None and box["height"] < 30  # one line
    screenshot(page, f"auditor-compliance-{width}")
    page.select_option("select[name=action]", "test.")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/compliance/?*action=test.*")
    page.click("form.export-form button[type=submit]")
    page.wait_for_url("**/compliance/?*action=test.*")
    assert page.locator("select[name=action]").input_value() == "test."
    screenshot(page, f"auditor-export-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.django_db
def test_open_suspensions_count_as_alarms_within_the_auditors_scope(world: World) -> None:
    Suspension.objects.create(user=world.investigator, rule="canary", details={})
    # An auditor without the lift permission sees no suspension: none counted, none linked.
    assert 'id="open-suspensions"' not in logged_in(world.auditor).get("/").content.decode()
    world.auditor.user_permissions.add(Permission.objects.get(codename="lift_suspension"))
    auditor = User.objects.get(pk=world.auditor.pk)  # fresh permission cache
    body = logged_in(auditor).get("/").content.decode()
    assert 'id="open-suspensions"' in body and "1 account suspended" in body
    assert 'href="/staff/suspensions/"' in body


@pytest.mark.django_db
def test_the_command_records_a_verification_by_hand() -> None:
    from django.core.management import call_command

    call_command("verify_audit_chain", "--record", stdout=io.StringIO())
    assert ChainVerification.objects.get().ok
