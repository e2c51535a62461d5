"""The switches' signed decision list (issue 11, section 2): full and delta, keyed hashes that
never reveal a number, the per-version key, facility scope, the fallback, and bad input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.actions.registry import exempt_number_verify
from apps.audit import signing
from apps.audit.models import AuditEvent
from apps.facilities.models import Facility, SwitchAccount
from apps.registry.decision_list import (
    FullRequiredError,
    ListRequest,
    decision_list_publish,
    decision_list_signature_valid,
)
from apps.registry.drift import decision_list_fetch
from apps.registry.models import Attorney, DecisionListVersion, ExemptNumber, SwitchListHolding
from apps.registry.services import exempt_number_register, exempt_number_revoke
from tests.conftest import Switch

pytestmark = pytest.mark.django_db

URL = "/api/v1/switch/decision-list/"
GLOBAL = "+12125550101"
HOME_ONLY = "+12125550102"
OTHER_ONLY = "+12125550103"
LATER = "+12125550104"


def verified(attorney: Attorney, clerk: User, number: str, facility: Facility | None = None) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, facility=facility, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


@pytest.fixture
def listed(
    attorney: Attorney, clerk: User, facility: Facility, other_facility: Facility
) -> dict[str, ExemptNumber]:
    return {
        GLOBAL: verified(attorney, clerk, GLOBAL),
        HOME_ONLY: verified(attorney, clerk, HOME_ONLY, facility),
        OTHER_ONLY: verified(attorney, clerk, OTHER_ONLY, other_facility),
    }


def hashed(body: dict[str, Any], number: str) -> str:
    """What a switch computes for a dialed number with the list's key."""
    return hmac.new(base64.b64decode(body["hmac_key"]), number.encode(), hashlib.sha256).hexdigest()


def fetch(switch: Switch, **params: Any) -> dict[str, Any]:
    response = switch.client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_full_list_holds_global_and_own_facility_numbers_only(
    listed: dict[str, ExemptNumber], switch: Switch
) -> None:
    body = fetch(switch)
    assert body["kind"] == "full" and body["facility"] == "home" and body["since"] is None
    assert body["key_version"] == body["version"]
    assert sorted(body["entries"]) == sorted([hashed(body, GLOBAL), hashed(body, HOME_ONLY)])
    assert hashed(body, OTHER_ONLY) not in body["entries"]
    assert body["count"] == 2
    assert body["entries_sha256"] == hashlib.sha256("\n".join(sorted(body["entries"])).encode()).hexdigest()


def test_the_other_facility_gets_its_own_scope_and_different_hashes(
    listed: dict[str, ExemptNumber], switch: Switch, other_switch: Switch
) -> None:
    home, other = fetch(switch), fetch(other_switch)
    assert home["version"] == other["version"]
    assert sorted(other["entries"]) == sorted([hashed(other, GLOBAL), hashed(other, OTHER_ONLY)])
    # One key per facility: the same global number does not link the two lists.
    assert home["hmac_key"] != other["hmac_key"]
    assert not set(home["entries"]) & set(other["entries"])


def test_a_leaked_list_names_no_number_nor_its_plain_sha256(
    listed: dict[str, ExemptNumber], switch: Switch
) -> None:
    text = json.dumps(fetch(switch))
    for number in listed:
        for form in (number, number.lstrip("+"), number[2:]):
            assert form not in text
            assert hashlib.sha256(form.encode()).hexdigest() not in text


def test_the_signature_verifies_offline_and_catches_a_change(
    listed: dict[str, ExemptNumber], switch: Switch
) -> None:
    body = fetch(switch)
    public_key = base64.b64decode(switch.client.get("/api/v1/audit/public-key/").json()["public_key"])
    assert body["signing_key_id"] == signing.key_id(public_key)
    assert decision_list_signature_valid(body, public_key=public_key)
    # The key is outside the signed bytes: a verifier needs only the public key.
    assert decision_list_signature_valid({**body, "hmac_key": ""}, public_key=public_key)
    shrunk = {**body, "entries": body["entries"][:1], "count": 1}
    assert not decision_list_signature_valid(shrunk, public_key=public_key)
    assert not decision_list_signature_valid(
        {**body, "expires_at": "2999-01-01T00:00:00+00:00"}, public_key=public_key
    )


def test_the_answer_carries_the_fallback_and_an_expiry(
    listed: dict[str, ExemptNumber], switch: Switch, settings: Any
) -> None:
    body = fetch(switch)
    assert body["fallback"] == "do_not_record"
    issued, expires = (timezone.datetime.fromisoformat(body[k]) for k in ("issued_at", "expires_at"))
    assert expires - issued == timedelta(seconds=settings.DECISION_LIST_VALID_FOR_SECONDS)


def test_a_version_is_published_only_when_the_covered_set_changes(
    listed: dict[str, ExemptNumber], attorney: Attorney, clerk: User, switch: Switch
) -> None:
    first = fetch(switch)
    assert fetch(switch)["version"] == first["version"]
    verified(attorney, clerk, LATER)
    second = fetch(switch)
    assert second["version"] == first["version"] + 1
    assert DecisionListVersion.objects.get(number=second["version"]).added == 1
    assert AuditEvent.objects.filter(action="registry.decision_list_published").count() == 2


def test_the_key_rotates_with_every_version(
    listed: dict[str, ExemptNumber], attorney: Attorney, clerk: User, switch: Switch
) -> None:
    first = fetch(switch)
    verified(attorney, clerk, LATER)
    second = fetch(switch)
    assert first["hmac_key"] != second["hmac_key"] and first["key_id"] != second["key_id"]
    assert hashed(first, GLOBAL) in first["entries"] and hashed(second, GLOBAL) in second["entries"]
    assert hashed(first, GLOBAL) not in second["entries"]


def test_a_delta_applied_to_the_held_copy_gives_the_current_list(
    listed: dict[str, ExemptNumber], attorney: Attorney, clerk: User, switch: Switch
) -> None:
    base = fetch(switch)
    verified(attorney, clerk, LATER)
    exempt_number_revoke(exempt_number_id=listed[HOME_ONLY].pk, actor=attorney.user)
    delta = fetch(switch, since=base["version"])
    assert delta["kind"] == "delta" and delta["since"] == base["version"]
    # Hashed under the key the switch holds, so it applies without re-hashing.
    assert delta["key_version"] == base["version"] and delta["hmac_key"] == base["hmac_key"]
    assert delta["added"] == [hashed(base, LATER)] and delta["removed"] == [hashed(base, HOME_ONLY)]
    copy = (set(base["entries"]) - set(delta["removed"])) | set(delta["added"])
    assert len(copy) == delta["count"]
    assert hashlib.sha256("\n".join(sorted(copy)).encode()).hexdigest() == delta["entries_sha256"]
    # The next delta continues under the same key (key_version), with nothing new.
    again = fetch(switch, since=delta["version"], key_version=base["version"])
    assert again["added"] == again["removed"] == [] and again["entries_sha256"] == delta["entries_sha256"]
    # A full fetch rotates the key.
    assert fetch(switch)["key_version"] == delta["version"]


def test_a_number_of_another_facility_is_no_change_for_this_switch(
    listed: dict[str, ExemptNumber], attorney: Attorney, clerk: User, switch: Switch, other_facility: Facility
) -> None:
    base = fetch(switch)
    verified(attorney, clerk, LATER, other_facility)
    delta = fetch(switch, since=base["version"])
    assert delta["version"] == base["version"] + 1 and delta["added"] == delta["removed"] == []


@pytest.mark.parametrize(
    ("params", "status", "reason"),
    [
        ({"since": "abc"}, 400, "bad_since"),
        ({"since": "0"}, 400, "bad_since"),
        ({"since": "-1"}, 400, "bad_since"),
        ({"since": "99"}, 400, "unknown_version"),
        ({"key_version": "1"}, 400, "bad_since"),
        ({"since": "1", "key_version": "2"}, 400, "bad_since"),
    ],
)
def test_bad_versions_are_refused_with_a_reason(
    listed: dict[str, ExemptNumber], switch: Switch, params: dict[str, str], status: int, reason: str
) -> None:
    fetch(switch)
    response = switch.client.get(URL, params)
    assert response.status_code == status and response.json()["reason"] == reason


def test_a_too_old_base_requires_the_full_list(
    listed: dict[str, ExemptNumber], switch: Switch, settings: Any
) -> None:
    start = timezone.now()
    account = SwitchAccount.objects.get(user=switch.user)
    base = decision_list_fetch(switch=account, request=ListRequest(), now=start)
    late = start + timedelta(seconds=settings.DECISION_LIST_DELTA_MAX_AGE_SECONDS + 1)
    with pytest.raises(FullRequiredError):
        decision_list_fetch(switch=account, request=ListRequest(since=base["version"]), now=late)
    in_time = start + timedelta(seconds=settings.DECISION_LIST_DELTA_MAX_AGE_SECONDS - 1)
    assert (
        decision_list_fetch(switch=account, request=ListRequest(since=base["version"]), now=in_time)["added"]
        == []
    )


def test_the_answer_to_a_too_old_base_is_410_full_required(
    listed: dict[str, ExemptNumber], switch: Switch, settings: Any
) -> None:
    decision_list_publish(
        now=timezone.now() - timedelta(seconds=settings.DECISION_LIST_DELTA_MAX_AGE_SECONDS + 60)
    )
    response = switch.client.get(URL, {"since": "1"})
    assert response.status_code == 410 and response.json()["reason"] == "full_required"


def test_each_fetch_is_recorded_and_audited(listed: dict[str, ExemptNumber], switch: Switch) -> None:
    body = fetch(switch)
    holding = SwitchListHolding.objects.get(switch__user=switch.user)
    assert holding.fetched_version == body["version"] and holding.held_version is None
    event = AuditEvent.objects.get(action="registry.decision_list_fetched")
    assert event.actor_id == switch.user.pk and event.details["count"] == 2


def test_staff_cannot_fetch_the_list(listed: dict[str, ExemptNumber], clerk_client: Any) -> None:
    assert clerk_client.get(URL).status_code == 403
