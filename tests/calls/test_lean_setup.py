"""The lean call-setup endpoint (apps/calls/setup_endpoint.py) and the DRF view answer alike.

The lean path serves a switch's well-formed setup in one statement and hands everything else to
the DRF view. The property below sends the same request, drawn from valid and invalid tokens,
bodies and values, to the endpoint as routed and to the DRF view alone, each in a savepoint
rolled back afterwards, and requires the same status, the same body (but the new call's id) and
the same call row and audit events.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import RequestFactory
from django.urls import resolve
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.audit.models import AuditEvent
from apps.calls.api import CallSetupView
from apps.calls.models import Call
from apps.facilities.models import PrivilegedStation
from apps.inmates.models import Inmate
from apps.registry.models import ExemptStatus
from tests.actors import switch_account
from tests.conftest import Switch
from tests.factories import ExemptNumberFactory, FacilityFactory, InmateFactory, UserFactory, token_for

pytestmark = pytest.mark.django_db
CALLS = "/api/v1/calls/"
ABSENT = object()
_drf_view = CallSetupView.as_view()
call_setup_endpoint = resolve(CALLS).func  # the endpoint as routed: the lean path first


def _request(auth: str | None, body: bytes, content_type: str = "application/json") -> Any:
    extra = {"HTTP_AUTHORIZATION": auth} if auth is not None else {}
    return RequestFactory().post(CALLS, data=body, content_type=content_type, **extra)


def _answer(
    view: Any, auth: str | None, body: bytes, content_type: str
) -> tuple[int, Any, list[Any], list[Any]]:
    """(status, body without the new call's id, new calls, new audit events), then rolled back."""
    calls_before = set(Call.objects.values_list("pk", flat=True))
    events_before = set(AuditEvent.objects.values_list("pk", flat=True))
    with transaction.atomic():
        response = view(_request(auth, body, content_type))
        if hasattr(response, "render"):
            response.render()
        calls = list(
            Call.objects.exclude(pk__in=calls_before).values_list(
                "switch_call_id", "dialed_number", "station", "decision", "reason", "privileged", "prompt_id"
            )
        )
        events = list(
            AuditEvent.objects.exclude(pk__in=events_before).values_list(
                "action", "actor_id", "actor_label", "outcome", "facility_id", "details"
            )
        )
        transaction.set_rollback(True)
    data = json.loads(response.content) if response.content else None
    if response.status_code == 201 and isinstance(data, dict):
        data.pop("id", None)
    return response.status_code, data, calls, events


def _token(user: User) -> str:
    return f"Token {token_for(user)}"


@pytest.fixture
def world(switch: Switch, inmate: Inmate, clerk: User) -> dict[str, Any]:
    ExemptNumberFactory(
        number="+12125550101", status=ExemptStatus.VERIFIED, verified_by=clerk, effective_from=timezone.now()
    )
    PrivilegedStation.objects.create(
        facility=switch.facility,
        station_id="BOOTH-1",
        label="booth",
        registered_by=clerk,
        registered_at=timezone.now(),
    )
    # A call already set up: a replay of "dup" is answered 200, a different payload 409.
    body = {"switch_call_id": "dup", "inmate": inmate.booking_number, "dialed_number": "+17185550142",
            "started_at": "2026-11-25T10:00:00Z"}  # fmt: skip
    assert switch.client.post(CALLS, body, format="json").status_code == 201
    suspended = switch_account(switch.facility, "switch-suspended").user
    suspended.is_active = False
    suspended.save(update_fields=["is_active"])
    abroad = FacilityFactory(code="abroad", name="Abroad", phone_region="GB")
    abroad_switch = switch_account(abroad, "switch-abroad").user
    InmateFactory(facility=abroad, booking_number=inmate.booking_number)
    return {
        "tokens": [
            _token(switch.user),
            _token(switch.user),
            _token(suspended),
            _token(abroad_switch),
            _token(UserFactory(username="not-a-switch")),
            "Token " + "0" * 40,
            "token " + token_for(switch.user),
            "Token  " + token_for(switch.user),
            "Bearer " + token_for(switch.user),
            None,
        ],
        "booking": inmate.booking_number,
    }


def _text(*fixed: Any, max_size: int = 70) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(fixed or ("",)),
        st.text(max_size=max_size),
        st.integers(-5, 10**12),
        st.none(),
        st.booleans(),
        st.just(ABSENT),
    )


def _body(booking: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "switch_call_id": st.one_of(
                st.sampled_from(["dup", "sw-1", " sw-2", "sw 3", "x" * 64, "x" * 65, "", "a\n"]),
                st.from_regex(r"\A[A-Za-z0-9._:-]{1,70}\Z"),
                _text(),
            ),
            "inmate": _text(booking, "NOBODY", f" {booking}", booking + "\x00", "", "B" * 33),
            "dialed_number": _text(
                "(718) 555-0142",
                "+17185550142",
                "(212) 555-0101",
                "212.555.0101 x12",
                "+44 20 7946 0958",
                "020 7946 0958",
                "12",
                "hello",
                "",
                "  ",
                "+1 718 555 0142 ",
                "\ud800",
            ),  # fmt: skip
            "started_at": _text(
                "2026-11-25T10:00:00Z",
                "2026-11-25T10:00:00.123+02:00",
                "2026-11-25T10:00:00",
                "2026-11-25 10:00:00Z",
                "2026-13-01T00:00:00Z",
                "2026-11-25T24:00:00Z",
                "0001-01-01T00:00:00+01:00",
                "2026-11-25T10:00:00+24:00",
                "yesterday",
                "",
            ),  # fmt: skip
            "station": _text("booth-1", "BOOTH-1", "", "  ", "+1 212 555 0199", "bad station!", "x" * 65),
            "extra": _text("ignored"),
        }
    ).map(lambda d: {k: v for k, v in d.items() if v is not ABSENT})


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_lean_endpoint_and_the_drf_view_answer_every_input_alike(
    world: dict[str, Any], data: Any
) -> None:
    auth = data.draw(st.sampled_from(world["tokens"]))
    raw = data.draw(
        st.one_of(
            _body(world["booking"]).map(lambda d: json.dumps(d).encode()),
            st.sampled_from([b"{not json", b"[]", b"null", b"", b'{"switch_call_id": NaN}', b"\xff\xfe"]),
        )
    )
    content_type = data.draw(
        st.sampled_from(
            ["application/json", "application/json", "application/json; charset=utf-8", "text/plain"]
        )
    )
    lean = _answer(call_setup_endpoint, auth, raw, content_type)
    drf = _answer(_drf_view, auth, raw, content_type)
    assert lean == drf


def test_a_well_formed_setup_is_one_statement_on_postgresql(
    switch: Switch, inmate: Inmate, django_assert_num_queries: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the lean path is PostgreSQL's; the embedded default answers through DRF")
    body = {"switch_call_id": "sw-1", "inmate": inmate.booking_number, "dialed_number": "(718) 555-0142",
            "started_at": "2026-11-25T10:00:00Z"}  # fmt: skip
    with django_assert_num_queries(1):
        response = switch.client.post(CALLS, body, format="json")
    assert response.status_code == 201, response.content
    drf_headers = _drf_view(
        _request(_token(switch.user), json.dumps({**body, "switch_call_id": "sw-2"}).encode())
    )
    drf_headers.render()
    for header in ("Content-Type", "Allow"):
        assert "Vary" not in response and "Vary" not in drf_headers
        assert response[header] == drf_headers[header]
    event = AuditEvent.objects.get(action="call.setup", target_id=str(response.json()["id"]))
    assert event.actor == switch.user and event.actor_label == switch.user.username
    assert event.facility_id == switch.facility.pk
    assert event.details == {
        "decision": "record",
        "reason": "not_exempt",
        "prompt": response.json()["prompt"]["id"],
    }


def test_a_switch_suspended_between_two_calls_is_refused_on_the_next(switch: Switch, inmate: Inmate) -> None:
    body = {"switch_call_id": "sw-1", "inmate": inmate.booking_number, "dialed_number": "(718) 555-0142",
            "started_at": "2026-11-25T10:00:00Z"}  # fmt: skip
    assert switch.client.post(CALLS, body, format="json").status_code == 201
    User.objects.filter(pk=switch.user.pk).update(is_active=False)
    refused = switch.client.post(CALLS, {**body, "switch_call_id": "sw-2"}, format="json")
    assert refused.status_code == 401 and refused.json()["reason"] == "authentication_failed"
    assert Call.objects.count() == 1
    event = AuditEvent.objects.get(action="auth.rejected")
    assert event.actor == switch.user and event.actor_label == switch.user.username
    assert event.details == {"reason": "inactive", "method": "token"}


@pytest.mark.parametrize(
    ("who", "overrides", "status"),
    [
        (0, {}, 201),
        (0, {"dialed_number": "212.555.0101 x12"}, 201),  # a verified number: privileged
        (0, {"station": "booth-1"}, 201),  # a privileged station, written in lower case
        (0, {"station": "+1 (212) 555-0199"}, 201),
        (0, {"started_at": "2026-11-25T05:00:00.250-05:00"}, 201),
        (0, {"switch_call_id": "dup", "dialed_number": "+17185550142"}, 200),  # a replay
        (0, {"switch_call_id": "dup", "dialed_number": "+13125550100"}, 409),
        (0, {"inmate": "NOBODY"}, 400),
        (0, {"dialed_number": "hello"}, 400),
        (0, {"station": "bad station!"}, 400),
        (2, {}, 401),  # suspended
        (3, {}, 201),  # a switch of a facility in another phone region: served by DRF
        (4, {}, 403),  # not a switch
        (5, {}, 401),  # unknown token
        (9, {}, 401),  # no token
    ],
)
def test_the_paths_agree_on_each_kind_of_answer(
    world: dict[str, Any], who: int, overrides: dict[str, str], status: int
) -> None:
    body = {"switch_call_id": "sw-1", "inmate": world["booking"], "dialed_number": "(718) 555-0142",
            "started_at": "2026-11-25T10:00:00Z", **overrides}  # fmt: skip
    raw = json.dumps(body).encode()
    lean = _answer(call_setup_endpoint, world["tokens"][who], raw, "application/json")
    drf = _answer(_drf_view, world["tokens"][who], raw, "application/json")
    assert lean[0] == status, lean
    assert lean == drf
