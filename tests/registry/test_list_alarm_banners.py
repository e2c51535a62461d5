"""An unexplained drop of the do-not-record list shows on the clerk queue and the facility
admins' dashboard until a registry clerk acknowledges it, with what was done."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.urls import reverse

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.registry.models import Attorney, ListAlarm
from apps.registry.services import exempt_number_register
from apps.registry.snapshots import registry_snapshot_take
from tests.actors import Cast

pytestmark = pytest.mark.django_db

NUMBERS = ["+12125550101", "+12125550102", "+12125550103", "+12125550104"]


@pytest.fixture
def alarm(attorney: Attorney, clerk: User) -> ListAlarm:
    """Four verified numbers; one is rewritten to 'rejected' behind the services' back."""
    for number in NUMBERS:
        exempt = exempt_number_register(attorney=attorney, number=number, actor=attorney.user)
        exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    registry_snapshot_take(day=date(2030, 3, 1))
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_exemptnumber SET status = 'rejected' WHERE number = %s", [NUMBERS[0]])
    raised = registry_snapshot_take(day=date(2030, 3, 2)).alarm
    assert raised is not None
    return raised


def _page(user: User, name: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def test_the_clerk_queue_shows_the_open_alarm_in_counts_without_the_number(
    alarm: ListAlarm, clerk: User
) -> None:
    page = _page(clerk, "attorneys:clerk-queue")
    assert f'id="alarm-{alarm.pk}"' in page
    assert "1 number(s) left the do-not-record list between 2030-03-01 and 2030-03-02" in page
    assert NUMBERS[0] not in page and "555-0101" not in page


def test_facility_admins_see_it_on_their_dashboard_and_investigators_do_not(
    alarm: ListAlarm, cast: Cast
) -> None:
    assert f'id="alarm-{alarm.pk}"' in _page(cast.admin.user, "portal:dashboard")
    assert "alarm-" not in _page(cast.investigator.user, "portal:dashboard")


def test_a_clerk_acknowledges_with_what_was_done_and_the_banner_goes(
    alarm: ListAlarm, clerk: User, cast: Cast
) -> None:
    client = Client()
    client.force_login(clerk)
    url = reverse("attorneys:clerk-alarm-acknowledge", args=[alarm.pk])

    assert client.post(url, {"reason": "  "}).status_code == 302  # no note: nothing changes
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None

    assert client.post(url, {"reason": "re-registered from the signed export"}).status_code == 302
    alarm.refresh_from_db()
    assert (alarm.acknowledged_by, alarm.acknowledgement) == (clerk, "re-registered from the signed export")
    assert AuditEvent.objects.filter(action="registry.list_alarm_acknowledged", actor=clerk).count() == 1
    assert "alarm-" not in _page(clerk, "attorneys:clerk-queue")
    assert "alarm-" not in _page(cast.admin.user, "portal:dashboard")

    # A second acknowledgement finds no open alarm: the same 404 as a missing one, audited.
    assert client.post(url, {"reason": "again"}).status_code == 404
    denied = AuditEvent.objects.get(
        action="access.denied", details__attempted="registry.list_alarm_acknowledge"
    )
    assert denied.details["exists"] is True


def test_nobody_but_a_clerk_acknowledges(alarm: ListAlarm, cast: Cast) -> None:
    for user in (cast.admin.user, cast.officer.user, cast.auditor.user):
        client = Client()
        client.force_login(user)
        url = reverse("attorneys:clerk-alarm-acknowledge", args=[alarm.pk])
        assert client.post(url, {"reason": "mine now"}).status_code == 404
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
