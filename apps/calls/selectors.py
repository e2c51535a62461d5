from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from rest_framework import serializers

from apps.calls.masking import MASKING_RELATED, hidden_calls_q
from apps.calls.models import Call
from apps.calls.prompts import PROMPT_RELATED
from apps.common.phone import normalize_phone_number
from apps.common.querysets import Action
from apps.facilities.permissions import switch_facility


class CallSearch(serializers.Serializer[Any]):
    inmate = serializers.CharField(max_length=32, required=False, default="")
    facility = serializers.SlugField(max_length=32, required=False, default="")
    number = serializers.CharField(max_length=40, required=False, default="")
    since = serializers.DateTimeField(required=False, default=None)
    until = serializers.DateTimeField(required=False, default=None)


def search_calls(
    calls: QuerySet[Call],
    *,
    inmate: str = "",
    facility: str = "",
    number: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    region: str = "US",
    unmasked: bool = False,
) -> QuerySet[Call]:
    """Filter an already-scoped queryset.

    A search by number never matches a call whose number is hidden from the caller
    (apps.calls.masking): the hit itself would reveal whom the inmate called.
    """
    if inmate:
        calls = calls.filter(inmate__booking_number=inmate)
    if facility:
        calls = calls.filter(facility__code=facility)
    if number:
        calls = calls.filter(dialed_number=normalize_phone_number(number, region))
        if not unmasked:
            calls = calls.exclude(hidden_calls_q())
    if since:
        calls = calls.filter(started_at__gte=since)
    if until:
        calls = calls.filter(started_at__lt=until)
    return calls


def calls_of_switch(user: Any) -> QuerySet[Call]:
    """The calls a switch account may act on: those of its own facility, nothing else (never
    the assurance run's synthetic calls: no real switch set them up)."""
    return Call.objects.filter(facility=switch_facility(user), synthetic=False)


def calls_visible_to(user: User) -> QuerySet[Call]:
    """Calls the user may see, with what a row shows and the masking rule reads."""
    return Call.objects.restrict(user, Action.VIEW).select_related(
        "facility", "inmate", *MASKING_RELATED, *PROMPT_RELATED
    )
