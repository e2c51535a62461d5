"""Reads of recordings for the API and the portal: each starts from restrict(user, action)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from apps.common.querysets import Action
from apps.recordings.models import Recording, StopPress

# What a recording's page or API record shows: its call, masked by apps.calls.masking.
DISPLAY_RELATED = ("call", "call__facility", "call__inmate", "call__exempt_number__attorney")


def recordings_for(user: User, action: Action = Action.VIEW) -> QuerySet[Recording]:
    """Recordings the user may ``action`` (view or play), with what their page shows."""
    return Recording.objects.restrict(user, action).select_related(*DISPLAY_RELATED)


def stoppable_by(user: User) -> QuerySet[Recording]:
    """Recordings ``user`` may press "This sounds privileged - stop" on: those they may play,
    and, so that pressing twice answers the same, those their own open stop quarantined (which
    they may still view). A recording quarantined for any other reason is not reachable."""
    own_stops = StopPress.objects.filter(pressed_by=user, hold__closed_at__isnull=True).values("recording_id")
    viewable_own = Recording.objects.restrict(user, Action.VIEW).filter(pk__in=own_stops)
    playable = Recording.objects.restrict(user, Action.PLAY)
    return Recording.objects.filter(
        Q(pk__in=playable.values("pk")) | Q(pk__in=viewable_own.values("pk"))
    ).select_related(*DISPLAY_RELATED)
