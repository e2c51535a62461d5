"""Issue 9, Low "Credentials in URLs": a playback URL kept by an access log must be spent.

The link is single-use: its first fetch trades it for an HttpOnly cookie scoped to that
recording's stream path, which the player's Range requests carry.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from tests.actors import actor, grant_facility
from tests.factories import token_for
from tests.recordings.test_staff_api import AUDIO, world  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db


def _link(world: dict[str, Any]) -> str:  # noqa: F811
    r = world["investigator"].client.post(f"/api/v1/recordings/{world['granted'].pk}/playback/")
    assert r.status_code == 200
    parsed = urlparse(r.json()["url"])
    return f"{parsed.path}?{parsed.query}"


def _fresh_client(user: Any) -> APIClient:
    """The same user in another client (no cookies): someone replaying a log line with the
    user's own credentials, or the user fetching the link a second time."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def test_a_link_from_an_access_log_cannot_be_replayed(world: dict[str, Any]) -> None:  # noqa: F811
    url = _link(world)
    first = world["investigator"].client.get(url)
    assert first.status_code == 200
    assert b"".join(first.streaming_content) == AUDIO
    replay = _fresh_client(world["investigator"].user).get(url)
    assert replay.status_code == 403
    assert replay.json()["reason"] == "invalid_link"
    event = AuditEvent.objects.get(action="recording.playback_link_refused")
    assert event.actor_id == world["investigator"].user.pk
    assert event.details["reason"] == "link_already_used"


def test_the_player_keeps_seeking_after_the_first_fetch(world: dict[str, Any]) -> None:  # noqa: F811
    who = world["investigator"]
    url = _link(world)
    assert who.client.get(url, headers={"Range": "bytes=0-"}).status_code == 206
    part = who.client.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == AUDIO[10:20]


def test_the_cookie_is_httponly_strict_and_scoped_to_the_stream(world: dict[str, Any]) -> None:  # noqa: F811
    url = _link(world)
    response = world["investigator"].client.get(url)
    cookie = response.cookies[f"cp_play_{world['granted'].pk}"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == urlparse(url).path
    assert 0 < int(cookie["max-age"]) <= 300


def test_the_cookie_opens_nothing_for_another_user(world: dict[str, Any], facility: Any) -> None:  # noqa: F811
    url = _link(world)
    response = world["investigator"].client.get(url)
    name = f"cp_play_{world['granted'].pk}"
    # A colleague with the facility-wide right to play, holding the first user's cookie.
    colleague = actor("colleague", "investigator")
    grant_facility(
        colleague.user, facility, "view_facility", "view_facility_calls", "play_facility_recordings"
    )
    colleague.client.cookies[name] = response.cookies[name].value
    assert colleague.client.get(urlparse(url).path).status_code == 403


def test_a_stream_without_link_or_cookie_is_refused(world: dict[str, Any]) -> None:  # noqa: F811
    path = f"/api/v1/recordings/{world['granted'].pk}/stream/"
    assert world["investigator"].client.get(path).status_code == 403
