""" "This sounds privileged - stop": one press, one transaction, across three domains.

Anyone who may play a recording may press it (in the portal's player or through
``POST /api/v1/recordings/{id}/stop-privileged/``). In the one transaction of the press:

- the recording is quarantined with a ``stop_button`` hold (apps.recordings.quarantine), so
  ``restrict(.., "play")`` no longer reaches it: the player's next Range request with its cookie
  is refused, and a stream in flight ends at its next re-check (apps.recordings.playback);
- every export not yet downloaded that contains it is revoked (apps.access.revocation says why
  revoking, not dropping);
- how much had been heard is estimated from the ranges the stream served
  (apps.recordings.listening) and kept on a StopPress row;
- the hold is the privilege review's item: it shows in the officers' queue, and only their
  two-officer decision lifts it; the officers who see it are e-mailed after commit (counts and
  ids only);
- ``recording.stop_pressed`` is audited with who, when and the estimate.

Abuse: the press is metered (quota kind ``stop_press``, STOP_BUTTON_PER_HOUR per user; a
refusal is a 429 and audited as ``quota.exceeded``, which anomaly analysis reads); a second
press of the same stop answers with the first press and changes nothing; a recording already
quarantined cannot be played, so it cannot be pressed into anything new (404).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from apps.access.errors import QuotaExceededError
from apps.access.models import QuotaKind
from apps.access.quotas import metered
from apps.access.revocation import exports_pull_recording
from apps.audit.services import record_event
from apps.common.errors import NotFoundError
from apps.common.querysets import Action
from apps.recordings.listening import heard_estimate, recording_duration
from apps.recordings.models import HoldKind, QuarantineHold, Recording, StopPress
from apps.recordings.quarantine import hold_add
from apps.recordings.review import review_officers
from apps.registry.privilege import lock_number

logger = logging.getLogger(__name__)

CAUSE = "recording_stopped_as_privileged"


class StopRateLimitedError(QuotaExceededError):
    reason = "stop_rate_limited"
    default_message = (
        "You have pressed stop on too many recordings in the last hour. Pause the player and "
        "tell a privilege officer; the presses you made are already with them."
    )


@dataclass(frozen=True)
class StopResult:
    press: StopPress
    created: bool  # False: an earlier press of this same stop, answered again


class _AlreadyStopped(Exception):
    """Raised inside the metered transaction to roll back the charge of a repeated press."""

    def __init__(self, press: StopPress) -> None:
        self.press = press


def open_stop_press(recording_id: int) -> StopPress | None:
    """The press behind the recording's open stop hold, if any."""
    return (
        StopPress.objects.select_related("hold", "pressed_by")
        .filter(recording_id=recording_id, hold__closed_at__isnull=True)
        .first()
    )


def recording_stop_privileged(*, user: User, recording: Recording) -> StopResult:
    """Press stop on ``recording``, which the caller fetched through ``stoppable_by(user)``.

    Returns the press (new, or the earlier one of this stop: idempotent). Raises
    StopRateLimitedError (429) past the hourly limit, NotFoundError if the recording stopped
    being playable for another reason meanwhile.
    """
    earlier = open_stop_press(recording.pk)
    if earlier is not None:
        return _repeated(user=user, press=earlier)
    try:
        with metered(
            user=user,
            charges=[(QuotaKind.STOP_PRESS, 1)],
            facility_id=recording.facility_id,
            target=recording,
        ):
            press = _stop(user=user, recording_id=recording.pk)
    except _AlreadyStopped as raced:  # a concurrent press got there first; this charge is undone
        return _repeated(user=user, press=raced.press)
    except QuotaExceededError as exc:  # audited by metered()
        raise StopRateLimitedError(limit=exc.extra.get("limit"), window_seconds=3600) from exc
    return StopResult(press=press, created=True)


def _stop(*, user: User, recording_id: int) -> StopPress:
    """Inside the metered transaction: quarantine, pull, estimate, record, notify."""
    # The number's lock before the recording's row, the order verification and review take.
    call = Recording.objects.select_related("call").get(pk=recording_id).call
    lock_number(call.dialed_number)
    recording = Recording.objects.select_for_update().select_related("call").get(pk=recording_id)
    earlier = open_stop_press(recording.pk)
    if earlier is not None:
        raise _AlreadyStopped(earlier)
    if not Recording.objects.restrict(user, Action.PLAY).filter(pk=recording.pk).exists():
        raise NotFoundError()  # quarantined or taken away since the caller fetched it
    hold_add(
        recording=recording,
        kind=HoldKind.STOP_BUTTON,
        reason=f"stop pressed by user #{user.pk}: sounds privileged",
        actor=user,
    )
    hold = QuarantineHold.objects.get(recording=recording, kind=HoldKind.STOP_BUTTON, closed_at__isnull=True)
    pulled = exports_pull_recording(recording_id=recording.pk, actor=user, cause=CAUSE)
    heard = heard_estimate(recording, recording_duration(recording))
    officers = review_officers(recording)
    press = StopPress.objects.create(
        recording=recording,
        hold=hold,
        pressed_by=user,
        bytes_served=heard.bytes_served,
        bytes_heard=heard.bytes_heard,
        seconds_heard=heard.seconds_heard,
        listeners=len(heard.listeners),
        exports_pulled=pulled.revoked,
        exports_already_downloaded=pulled.already_downloaded,
        officers_notified=[o.get_username() for o in officers],
    )
    mine = heard.listeners.get(user.pk)
    record_event(
        action="recording.stop_pressed",
        actor=user,
        target=recording,
        facility_id=recording.facility_id,
        details={
            "press_id": press.pk,
            "hold_id": hold.pk,
            "pressed_at": press.pressed_at.isoformat(),
            "heard": heard.as_dict(),
            "heard_by_presser": mine.as_dict() if mine is not None else None,
            "exports_pulled": pulled.revoked,
            "exports_already_downloaded": pulled.already_downloaded,
            "officers_notified": len(officers),
        },
    )
    _notify_officers_on_commit(press=press, officers=officers)
    return press


def _repeated(*, user: User, press: StopPress) -> StopResult:
    """A second press of a stop already made: audited, nothing else changes."""
    with transaction.atomic():
        record_event(
            action="recording.stop_repeated",
            actor=user,
            target=press.recording,
            facility_id=press.recording.facility_id,
            details={"press_id": press.pk, "hold_id": press.hold_id},
        )
    return StopResult(press=press, created=False)


def _notify_officers_on_commit(*, press: StopPress, officers: list[User]) -> None:
    """After commit (a rolled-back press is no news): one e-mail per officer, with counts and
    ids only. No number, no name of an inmate: the mail leaves the platform."""
    recording = press.recording
    subject = f"Recording #{recording.pk} stopped as possibly privileged"
    seconds = "unknown" if press.seconds_heard is None else f"about {press.seconds_heard:.0f} s"
    body = (
        f'A user (#{press.pressed_by_id}) pressed "This sounds privileged - stop" on recording '
        f"#{recording.pk} (facility #{recording.facility_id}) at {press.pressed_at.isoformat()}.\n"
        f"The recording is quarantined (hold #{press.hold_id}) and waits in your review queue: "
        f"{reverse('attorneys:review-queue')}\n"
        f"Heard before the stop: {seconds} ({press.bytes_heard} distinct bytes of "
        f"{recording.size_bytes}, {press.listeners} listener(s)).\n"
        f"Exports revoked: {len(press.exports_pulled)} {press.exports_pulled or ''}\n"
        f"Exports already downloaded: {len(press.exports_already_downloaded)} "
        f"{press.exports_already_downloaded or ''}\n"
    )
    addresses = [o.email for o in officers if o.email]
    if len(addresses) < len(officers):
        logger.warning(
            "stop press %s: %d officer(s) without an e-mail address", press.pk, len(officers) - len(addresses)
        )

    def send() -> None:
        for address in addresses:
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
            except Exception:
                # The stop stands; a mail outage must not undo it. The hold is in the queue anyway.
                logger.exception("could not tell %s about stop press %s", address, press.pk)

    transaction.on_commit(send)
