"""The dashboard's 30-day trends (issue 15, item 14): scoped counts, one grouped query per
series, server-rendered SVG, tiles linking to their lists. Time is pinned (``now=``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit.services import record_event
from apps.calls.models import Decision
from apps.portal.trends import dashboard_trends, series_querysets
from apps.registry.guard_models import ListAlarm
from tests.actors import Cast
from tests.factories import CallFactory, InmateFactory, SwitchAccountFactory, UserFactory
from tests.portal.conftest import logged_in

pytestmark = pytest.mark.django_db

# 15:00 UTC is 10:00 in New York (the factories' facility zone): "today" is Nov 20 there.
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


def _event(action: str, *, at: datetime, **kwargs: Any) -> None:
    """An event written at ``at`` (the trail is append-only: the clock is pinned, not the row)."""
    with mock.patch("django.utils.timezone.now", return_value=at), transaction.atomic():
        record_event(action=action, **kwargs)


@pytest.fixture
def scene(cast: Cast) -> Cast:
    home = InmateFactory(facility=cast.facility)
    away = InmateFactory(facility=cast.other_facility)
    CallFactory(inmate=home, started_at=NOW - timedelta(hours=1))
    CallFactory(inmate=home, started_at=NOW - timedelta(days=2))
    exempt = CallFactory(
        inmate=home, started_at=NOW - timedelta(days=2), decision=Decision.EXEMPT, privileged=True
    )
    CallFactory(inmate=home, started_at=NOW - timedelta(days=45))  # older than the window
    # 02:00 UTC on Nov 20 is still Nov 19 in New York: counted on the local day.
    CallFactory(inmate=home, started_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    synthetic = CallFactory(inmate=home, started_at=NOW - timedelta(hours=2), synthetic=True)
    foreign = CallFactory(inmate=away, started_at=NOW - timedelta(hours=3))
    CallFactory(inmate=away, started_at=NOW - timedelta(hours=3), decision=Decision.EXEMPT, privileged=True)
    for call in (exempt, synthetic, foreign):  # the gate's refusals: only the first is in scope
        _event(
            "recording.upload_refused",
            at=NOW - timedelta(hours=4),
            target=call,
            facility_id=call.facility_id,
            outcome="refused",
        )
    _event(
        "recording.playback_link_issued",
        at=NOW - timedelta(days=1),
        actor=cast.investigator.user,
        facility_id=cast.facility.pk,
    )
    _event(
        "recording.playback_link_issued",
        at=NOW - timedelta(days=1),
        actor=cast.investigator.user,
        facility_id=cast.other_facility.pk,
    )
    for n, named in enumerate(([], [cast.other_facility.pk])):  # a global alarm, another facility's
        ListAlarm.objects.create(
            kind="switch_drift",
            switch=SwitchAccountFactory(facility=cast.other_facility, user=UserFactory(username=f"sw-{n}")),
            stale_since=NOW - timedelta(days=4),
            detected_at=NOW - timedelta(days=3),
            facility_ids=named,
        )
    return cast


def _by_key(trends: Any) -> dict[str, dict[date, int]]:
    return {s.key: {d: n for d, n in s.days if n} for s in trends.series}


def test_an_admin_sees_thirty_local_days_of_their_facility_only(scene: Cast) -> None:
    trends = dashboard_trends(scene.admin.user, now=NOW)
    assert trends is not None and trends.zone == "America/New_York"
    assert (trends.first, trends.last) == (date(2026, 10, 22), date(2026, 11, 20))
    assert all(len(s.days) == 30 for s in trends.series)
    counts = _by_key(trends)
    assert counts["calls"] == {date(2026, 11, 20): 1, date(2026, 11, 18): 2, date(2026, 11, 19): 1}
    assert counts["exemptions"] == {date(2026, 11, 18): 1}
    assert counts["refusals"] == {date(2026, 11, 20): 1}  # not the synthetic's, not the other facility's
    assert counts["playbacks"] == {date(2026, 11, 19): 1}  # the home facility's only
    assert counts["alarms"] == {date(2026, 11, 17): 1}  # the global alarm, not the other facility's


def test_an_investigator_sees_their_own_playbacks_and_no_alarms(scene: Cast) -> None:
    trends = dashboard_trends(scene.investigator.user, now=NOW)
    assert trends is not None
    counts = _by_key(trends)
    assert "alarms" not in counts
    assert counts["playbacks"] == {date(2026, 11, 19): 2}
    assert [s.label for s in trends.series if s.key == "playbacks"] == ["Your playbacks"]


def test_someone_without_call_data_gets_no_trends(scene: Cast) -> None:
    assert dashboard_trends(scene.auditor.user, now=NOW) is None


def test_each_series_is_one_grouped_query(scene: Cast) -> None:
    user = scene.admin.user
    with CaptureQueriesContext(connection) as queries:
        dashboard_trends(user, now=NOW)
    grouped = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    assert len(grouped) == 5  # calls, exemptions, refusals, playbacks, alarms
    if connection.vendor == "postgresql":
        zone = ZoneInfo("America/New_York")
        for queryset in series_querysets(user, start=NOW - timedelta(days=30), zone=zone).values():
            plan = queryset.explain()
            assert "Aggregate" in plan  # grouped in the database, one query per series


def test_the_dashboard_draws_svg_tiles_that_link_to_their_lists(scene: Cast) -> None:
    body = logged_in(scene.admin.user).get("/").content.decode()
    assert body.count('<svg class="trend"') == 5
    assert 'id="trend-calls" href="/calls/?date_from=' in body
    assert "<script" not in body
    assert "<title>" in body
