"""Playback: short-lived signed links to our own streaming endpoint (never a storage URL).

A link is bound to one user and one recording and expires after PLAYBACK_LINK_SECONDS. Every
use re-checks, in the database, that the user is still active and still may play the
recording (grants, quarantine, privilege), so revoking a grant or suspending a user kills
links already handed out.

A link is also single-use. Its URL ends up in access logs (nginx, gunicorn), so the first fetch
spends it (a PlaybackRedemption row) and answers with a short HttpOnly cookie, scoped to that
recording's stream path, which the browser's <audio> player sends with its Range requests. A
URL copied from a log is therefore spent, and one link cannot be streamed again and again on a
single quota charge. API clients keep the cookie between Range requests (curl -c/-b).

A stream in flight re-checks too: a player asks for ``bytes=0-`` and reads the one response as
it plays, so between chunks the stream asks again (at most every STREAM_RECHECK_SECONDS)
whether its user may still play the recording, and ends short of Content-Length if not. That
is how "This sounds privileged - stop" (apps.actions.privilege_stop) stops audio already on
its way, not only the player's next request.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.access.models import QuotaKind
from apps.access.quotas import metered
from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.recordings.errors import IntegrityFailedError, RecordingIntegrityError
from apps.recordings.models import PlaybackRedemption, Recording
from apps.recordings.services import recording_plaintext

_SALT = "callplatform.playback"
_COOKIE_SALT = "callplatform.playback.cookie"


class InvalidPlaybackLinkError(DomainError):
    status_code = 403
    reason = "invalid_link"
    default_message = "This playback link is invalid, expired or not yours."


class InvalidRangeError(DomainError):
    status_code = 416
    reason = "invalid_range"
    default_message = "The requested byte range cannot be served."


@dataclass(frozen=True)
class PlaybackLink:
    url: str
    expires_at: datetime


def playback_link_issue(*, user: User, recording: Recording) -> PlaybackLink:
    """Issue a link for a recording already fetched through restrict(user, Action.PLAY)."""
    token = signing.dumps({"r": recording.pk, "u": user.pk, "n": secrets.token_hex(8)}, salt=_SALT)
    expires_at = timezone.now() + timedelta(seconds=settings.PLAYBACK_LINK_SECONDS)
    charges = [(QuotaKind.PLAYBACK, 1), (QuotaKind.PLAYBACK_BYTES, recording.size_bytes)]
    with metered(user=user, charges=charges, facility_id=recording.facility_id, target=recording):
        record_event(
            action="recording.playback_link_issued",
            actor=user,
            target=recording,
            facility_id=recording.facility_id,
            details={"expires_at": expires_at.isoformat(), "link": _fingerprint(token)},
        )
    url = reverse("recording-stream", kwargs={"recording_id": recording.pk})
    return PlaybackLink(url=f"{url}?t={token}", expires_at=expires_at)


def playback_link_check(*, token: str, user: User, recording_id: int) -> None:
    """Raise unless ``token`` is a live link for this user and recording."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.PLAYBACK_LINK_SECONDS)
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidPlaybackLinkError() from exc
    if payload.get("r") != recording_id or payload.get("u") != user.pk:
        raise InvalidPlaybackLinkError()


@dataclass(frozen=True)
class StreamPass:
    """What let a stream request in: the link's fingerprint, and the cookie to set on the
    first fetch (None when the request already came with it)."""

    link: str
    cookie_name: str
    cookie_value: str | None
    max_age: int


def stream_cookie_name(recording_id: int) -> str:
    return f"cp_play_{recording_id}"


def _cookie_pass(cookie: str, *, user: User, recording_id: int) -> StreamPass | None:
    try:
        payload = signing.loads(cookie, salt=_COOKIE_SALT, max_age=settings.PLAYBACK_LINK_SECONDS)
    except (signing.BadSignature, ValueError):
        return None
    if payload.get("r") != recording_id or payload.get("u") != user.pk:
        return None
    return StreamPass(payload["l"], stream_cookie_name(recording_id), None, settings.PLAYBACK_LINK_SECONDS)


def stream_pass(*, token: str, cookie: str, user: User, recording: Recording) -> StreamPass:
    """Let a stream request in by its cookie or, once, by its link; raise otherwise.

    The redemption row is unique per link, so of two fetches of one URL (a replay from a log,
    or a race) exactly one gets the cookie; the refusal is audited.
    """
    granted = _cookie_pass(cookie, user=user, recording_id=recording.pk) if cookie else None
    # The cookie stands in for the link it was traded for (the player repeats that URL); a
    # different link in the URL is a new one and is spent in turn.
    if granted is not None and (not token or granted.link == _fingerprint(token)):
        return granted
    playback_link_check(token=token, user=user, recording_id=recording.pk)
    link = _fingerprint(token)
    now = timezone.now()
    with transaction.atomic():
        _, fresh = PlaybackRedemption.objects.get_or_create(
            link=hashlib.sha256(token.encode()).hexdigest(),
            defaults={"user": user, "recording": recording, "redeemed_at": now},
        )
        # Spent links older than any live one can go (the row only has to outlive the link).
        stale = now - timedelta(seconds=2 * settings.PLAYBACK_LINK_SECONDS)
        PlaybackRedemption.objects.filter(redeemed_at__lt=stale).delete()
    if not fresh:
        with transaction.atomic():
            record_event(
                action="recording.playback_link_refused",
                actor=user,
                outcome=Outcome.DENIED,
                target=recording,
                facility_id=recording.facility_id,
                details={"reason": "link_already_used", "link": link},
            )
        raise InvalidPlaybackLinkError()
    value = signing.dumps({"r": recording.pk, "u": user.pk, "l": link}, salt=_COOKIE_SALT)
    return StreamPass(link, stream_cookie_name(recording.pk), value, settings.PLAYBACK_LINK_SECONDS)


def _fingerprint(token: str) -> str:
    # Enough to correlate issue and use in the trail without storing a usable link.
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Parse a single ``bytes=a-b`` range (the form browsers' audio players send)."""
    if not header:
        return None
    if not header.startswith("bytes=") or "," in header:
        raise InvalidRangeError()
    first_text, _, last_text = header[6:].strip().partition("-")
    try:
        if first_text == "":
            length = int(last_text)
            first, last = max(size - length, 0), size - 1
        else:
            first = int(first_text)
            last = int(last_text) if last_text else size - 1
    except ValueError as exc:
        raise InvalidRangeError() from exc
    last = min(last, size - 1)
    if first < 0 or first > last:
        raise InvalidRangeError(size=size)
    return first, last


def recording_stream(
    *, user: User, recording: Recording, token: str, cookie: str, byte_range: tuple[int, int] | None
) -> tuple[Iterator[bytes], StreamPass]:
    """Check the link (or its cookie), audit the access, and return the plaintext iterator."""
    if recording.wrapped_key is None:
        raise NotFoundError()
    granted = stream_pass(token=token, cookie=cookie, user=user, recording=recording)
    with transaction.atomic():
        record_event(
            action="recording.streamed",
            actor=user,
            target=recording,
            facility_id=recording.call.facility_id,
            details={"range": list(byte_range) if byte_range else None, "link": granted.link},
        )
    chunks = recording_plaintext(recording=recording, byte_range=byte_range, actor=user)
    # Verify the first chunk before the response exists: a corrupted object is refused with a
    # clear error instead of headers. A later chunk that fails ends the stream (the server
    # drops the connection short of Content-Length); no unverified byte is ever sent.
    try:
        first = next(chunks, b"")
    except RecordingIntegrityError as exc:
        raise IntegrityFailedError() from exc
    return _while_playable(itertools.chain([first], chunks), user=user, recording_id=recording.pk), granted


def _while_playable(chunks: Iterator[bytes], *, user: User, recording_id: int) -> Iterator[bytes]:
    """Pass ``chunks`` on while ``user`` may still play the recording (re-checked between
    chunks, at most every STREAM_RECHECK_SECONDS); stop as soon as they may not."""
    interval = settings.STREAM_RECHECK_SECONDS
    checked = time.monotonic()
    for n, chunk in enumerate(chunks):
        if n and time.monotonic() - checked >= interval:
            if not Recording.objects.restrict(user, Action.PLAY).filter(pk=recording_id).exists():
                return
            checked = time.monotonic()
        yield chunk
