"""Reads of recordings for the API and the portal: each starts from restrict(user, action)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from apps.common.querysets import Action
from apps.recordings.models import Recording

# What a recording's page or API record shows: its call, masked by apps.calls.masking.
DISPLAY_RELATED = ("call", "call__facility", "call__inmate", "call__exempt_number__attorney")


def recordings_for(user: User, action: Action = Action.VIEW) -> QuerySet[Recording]:
    """Recordings the user may ``action`` (view or play), with what their page shows."""
    return Recording.objects.restrict(user, action).select_related(*DISPLAY_RELATED)
