"""A small world for the side-path attacks: one facility with real rows, a canary, and an
investigator who may see the whole facility (the insider of issue 9).

Used by the attack tests of several apps (access, audit); tests/conftest.py registers the
``insider`` fixture for all of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.access.canaries import canaries_plant
from apps.calls.models import Call
from apps.facilities.models import Facility
from apps.recordings.models import Recording
from tests.actors import Actor, staff_member
from tests.factories import CallFactory, InmateFactory, UserFactory

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@dataclass
class Insider:
    facility: Facility
    investigator: Actor
    recordings: list[Recording]
    canary: Recording

    @property
    def user(self) -> User:
        return self.investigator.user

    @property
    def canary_call(self) -> Call:
        return self.canary.call


def portal_client(user: User, **headers: str) -> Client:
    """A browser session in the portal; by default it navigates within the portal."""
    client = Client(headers=headers or SAME_ORIGIN)
    client.force_login(user)
    return client


@pytest.fixture
def insider(facility: Facility, store_recording: Any) -> Insider:
    recordings = []
    for n in range(4):
        inmate = InmateFactory(facility=facility, booking_number=f"HM{200000 + n}")
        recordings.append(store_recording(CallFactory(inmate=inmate, switch_call_id=f"sw-{n:06d}")))
    canary = canaries_plant(facility=facility, count=1, actor=UserFactory(username="planter"))[0]
    who = staff_member("insider", "investigator", facility)
    return Insider(facility, who, recordings, canary)
