"""A recording's page and its player: a short-lived link, audited and metered; and the player's
"This sounds privileged - stop" button (apps.actions.privilege_stop)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.actions.privilege_stop import StopResult, recording_stop_privileged
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.calls.reads import call_detail_served
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.facilities.selectors import facility_admin_names
from apps.portal.crosssite import ask_if_cross_site
from apps.portal.nav import request_capabilities
from apps.portal.pages import portal_page, portal_user
from apps.portal.rows import call_row
from apps.recordings.models import Recording
from apps.recordings.playback import PlaybackLink, playback_link_issue
from apps.recordings.selectors import recordings_for, stoppable_by


def _recordings(user: User, action: Action) -> QuerySet[Recording]:
    return Recording.objects.restrict(user, action).select_related(
        "call__facility", "call__inmate", "call__exempt_number__attorney"
    )


def _render_recording(
    request: HttpRequest,
    recording: Recording,
    link: PlaybackLink | None = None,
    *,
    stopped: StopResult | None = None,
    status: int = 200,
) -> HttpResponse:
    user = portal_user(request)
    caps = request_capabilities(request)
    can_play = Recording.objects.restrict(user, Action.PLAY).filter(pk=recording.pk).exists()
    facility_id = recording.call.facility_id
    manages = not can_play and Facility.objects.restrict(user, Action.MANAGE).filter(pk=facility_id).exists()
    # Whom to ask for a grant (issue 15, trap 3): never an empty "an administrator can".
    ask = [] if can_play or manages else facility_admin_names(facility_id, besides=user.pk)
    response = render(
        request,
        "portal/recording_detail.html",
        {
            "recording": recording,
            "row": call_row(recording.call, unmasked=caps.unmasked),
            "can_play": can_play,
            "manages": manages,
            "ask_admins": ask,
            "show_reason": caps.unmasked,
            "link": link,
            "stopped": stopped,
        },
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def recording_detail(request: HttpRequest, recording_id: int) -> HttpResponse:
    user = portal_user(request)
    recording = get_in_scope_or_404(
        recordings_for(user, Action.VIEW), recording_id, actor=user, action="recording.view"
    )
    call_detail_served(user=user, action="recording.viewed", call=recording.call, recording=recording)
    return _render_recording(request, recording)


def _player_key(recording_id: int) -> str:
    return f"portal.player.{recording_id}"


def _held_link(request: HttpRequest, recording_id: int) -> PlaybackLink | None:
    """The link the Play button issued in this session, while it is valid (at most
    PLAYBACK_LINK_SECONDS): the player page shows it again on a refresh, never a new one."""
    held = request.session.get(_player_key(recording_id))
    if not held:
        return None
    expires_at = datetime.fromisoformat(held["expires_at"])
    if expires_at <= timezone.now():
        del request.session[_player_key(recording_id)]
        return None
    return PlaybackLink(url=held["url"], expires_at=expires_at)


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def recording_play(request: HttpRequest, recording_id: int) -> HttpResponse:
    """Play is POST-redirect-GET. The Play button's POST (CSRF) issues the link, which is what
    is charged to the quota and audited (playback_link_issue), and keeps it in the session;
    the GET it redirects to shows the player. The GET itself never issues a link or charges:
    a refresh, the back button, a prefetch or a link from elsewhere (which asks first) can only
    show the link already issued, whose stream is single-use and cookie-bound anyway. Without
    a held link the GET sends the person to the recording page and its Play button."""
    user = portal_user(request)
    recording = get_in_scope_or_404(
        recordings_for(user, Action.PLAY), recording_id, actor=user, action="recording.play"
    )
    if request.method == "POST":
        try:
            link = playback_link_issue(user=user, recording=recording)
        except NotFoundError:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("portal:recording-detail", recording_id=recording.pk)
        request.session[_player_key(recording.pk)] = {
            "url": link.url,
            "expires_at": link.expires_at.isoformat(),
        }
        return redirect("portal:recording-play", recording_id=recording.pk)
    held = _held_link(request, recording.pk)
    if held is None:
        messages.info(request, "Press Play to listen: each playback is counted and recorded.")
        return redirect("portal:recording-detail", recording_id=recording.pk)
    with transaction.atomic():
        record_event(
            action="recording.player_viewed",
            actor=user,
            target=recording,
            facility_id=recording.facility_id,
            details={"link_expires_at": held.expires_at.isoformat()},
        )
    return _render_recording(request, recording, held)


@require_POST
@portal_page
def recording_stop(request: HttpRequest, recording_id: int) -> HttpResponse:
    """The player's "This sounds privileged - stop": needs its confirmation box ticked; then
    says what the stop did and whom it told."""
    user = portal_user(request)
    recording = get_in_scope_or_404(
        stoppable_by(user), recording_id, actor=user, action="recording.stop_privileged"
    )
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm that this call sounds privileged, then press stop.")
        return _render_recording(request, recording, status=400)
    result = recording_stop_privileged(user=user, recording=recording)
    recording.refresh_from_db()
    return _render_recording(request, recording, stopped=result)
