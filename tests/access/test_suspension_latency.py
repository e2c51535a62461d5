"""Time from the triggering act to the suspension, with a real broker and worker process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.access.canaries import canaries_plant
from apps.facilities.models import Facility
from tests.actors import staff_member
from tests.audit.conftest import Worker, wait_until
from tests.factories import FacilityFactory, UserFactory

TARGET_SECONDS = 5.0


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_canary_hit_suspends_within_five_seconds(workers: Callable[..., Worker], storage: Any) -> None:
    facility: Facility = FacilityFactory(code="latency")
    canary = canaries_plant(facility=facility, count=1, actor=UserFactory(username="latency-planter"))[0]
    who = staff_member("latency-investigator", "investigator", facility)
    workers()
    time.sleep(2)  # let the worker seal and analyse the planting events first

    began = time.perf_counter()
    assert who.client.get(f"/api/v1/recordings/{canary.pk}/").status_code == 200
    wait_until(
        lambda: not User.objects.get(pk=who.user.pk).is_active,
        timeout=30,
        what="the suspension of the account that touched a canary",
    )
    elapsed = time.perf_counter() - began
    print(f"\ncanary access -> suspension: {elapsed:.2f} s (target < {TARGET_SECONDS} s)")
    assert elapsed < TARGET_SECONDS
    assert who.client.get("/api/v1/recordings/").status_code == 401
