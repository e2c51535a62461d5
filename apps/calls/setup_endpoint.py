"""POST /api/v1/calls/ for the switch: a plain Django view in front of the DRF one (issue 14, §3).

Call setup is every call placed in every facility, and DRF's request, authentication,
serializers and model instances cost about twice the statement itself
(../shared/notes/call-setup-profile.md). So the common request, a switch's token and a
well-formed body, is served here: strict validation (stricter than the DRF serializer, never
looser), then one statement that authenticates the token (active user, switch account,
facility), decides, inserts the call and its audit event (services.call_setup_as_token), and
the answer written as JSON.

Everything else goes to the DRF view (apps.calls.api.CallSetupView) unchanged: GET and other
methods, any other authentication, any input this view does not accept as it stands, any number
or station that does not read, and every request the statement inserted nothing for (unknown, inactive or
non-switch token: refused and audited there with the user's name; an idempotent replay or a
conflict; an unknown inmate). So every error answer is the DRF view's own, by construction, and
tests/calls/test_lean_setup.py proves both paths answer every input alike. Nothing is cached:
the token is checked in the statement's own snapshot. The endpoint stays in the OpenAPI schema
through the DRF view class it carries (``cls``), as DRF's ``as_view`` does. (URL modules
compose the two: API modules are entry points, not libraries.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.views import APIView

from apps.calls import services
from apps.common.errors import InvalidPhoneNumberError
from apps.facilities.models import Facility
from apps.facilities.stations import InvalidStationError

# The header DRF's TokenAuthentication reads, in the one spelling switches send: DRF also takes
# "token" in any case and other keys; those go to the DRF view. Keys are 40 hex characters.
_TOKEN_HEADER = re.compile(r"Token ([0-9a-f]{40})", re.ASCII)
_SWITCH_CALL_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}", re.ASCII)
# ISO 8601 with seconds and an explicit offset, years 1900-2199: what switches send; DRF also
# reads naive times (in the server's zone), other layouts and extreme years: there, not here.
_STARTED_AT = re.compile(
    r"(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_MAX_BODY = 4096  # a setup body is ~150 bytes; larger ones go to DRF (which reads its own limit)
_JSON_TYPES = {"application/json", "application/json; charset=utf-8"}
# The region call setup reads numbers in unless the switch's facility says otherwise; the
# statement checks it is the facility's (another region's switch is served by the DRF view).
_REGION = str(Facility._meta.get_field("phone_region").default)


def _text(value: Any, max_length: int, *, blank: bool = False) -> str | None:
    """``value`` if the serializer's CharField would keep it as it is (a str, no surrounding
    whitespace to trim, no NUL or surrogate or other unprintable character, within length)."""
    if not isinstance(value, str) or len(value) > max_length or (not value and not blank):
        return None
    if not value.isprintable() or value != value.strip():
        return None
    return value


def _strict_body(request: HttpRequest) -> dict[str, Any] | None:
    """The validated setup fields, or None for anything the DRF path must judge."""
    if request.content_type != "application/json" or request.META.get("CONTENT_TYPE") not in _JSON_TYPES:
        return None
    try:
        length = int(request.META.get("CONTENT_LENGTH") or "0")
    except ValueError:
        return None
    if not 0 < length <= _MAX_BODY:
        return None
    try:
        data = json.loads(request.body.decode("utf-8"), parse_constant=_refuse)
    except ValueError:  # also UnicodeDecodeError and the refused NaN/Infinity
        return None
    if not isinstance(data, dict):
        return None
    switch_call_id = data.get("switch_call_id")
    inmate = _text(data.get("inmate"), 32)
    dialed = _text(data.get("dialed_number"), 40)
    station = _text(data.get("station", ""), 64, blank=True)
    started = data.get("started_at")
    if not isinstance(switch_call_id, str) or not _SWITCH_CALL_ID.fullmatch(switch_call_id):
        return None
    if inmate is None or dialed is None or station is None:
        return None
    if not isinstance(started, str) or not _STARTED_AT.fullmatch(started):
        return None
    try:
        started_at = datetime.fromisoformat(started)
    except ValueError:  # a day or an offset out of range
        return None
    return {
        "switch_call_id": switch_call_id,
        "booking_number": inmate,
        "dialed_number": dialed,
        "started_at": started_at,
        "station": station,
    }


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _lean_setup(request: HttpRequest) -> HttpResponse | None:
    """The answer of the lean path, or None when the DRF view must answer."""
    header = _TOKEN_HEADER.fullmatch(request.META.get("HTTP_AUTHORIZATION", ""))
    if header is None:
        return None
    fields = _strict_body(request)
    if fields is None:
        return None
    try:
        answer = services.call_setup_as_token(token_key=header[1], region=_REGION, **fields)
    except (InvalidPhoneNumberError, InvalidStationError):
        return None
    if answer is None:
        return None
    prompt = None
    if answer["prompt_id"] is not None:
        prompt = {
            "id": answer["prompt_id"],
            "kind": answer["prompt_kind"],
            "version": answer["prompt_version"],
        }
    body = {
        "id": answer["id"],
        "record": answer["decision"] == "record" and not answer["privileged"],
        "privileged": bool(answer["privileged"]),
        "reason": answer["reason"],
        "prompt": prompt,
    }
    # As DRF's JSONRenderer writes it (compact, UTF-8); lean_first adds the Allow header DRF sends.
    response = HttpResponse(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status=201,
        content_type="application/json",
    )
    return response


def lean_first(drf_view_class: type[APIView]) -> Callable[[HttpRequest], HttpResponse]:
    """The endpoint (apps/calls/urls.py): POST through the lean path when it can answer, the
    rest through ``drf_view_class`` (the call API's CallSetupView), which also documents it."""
    drf_view = drf_view_class.as_view()
    # DRF's Allow header: the view's methods, HEAD included (Django serves it with GET).
    allow = ", ".join(
        m.upper()
        for m in drf_view_class.http_method_names
        if hasattr(drf_view_class, "get" if m == "head" else m)
    )

    @csrf_exempt  # only token requests are served here; DRF enforces CSRF for session requests
    def call_setup_endpoint(request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and connection.vendor == "postgresql":
            answer = _lean_setup(request)
            if answer is not None:
                answer["Allow"] = allow
                return answer
        response: HttpResponse = drf_view(request)
        return response

    # What drf-spectacular (and DRF's schema generator) read from a view made by ``as_view``:
    # the endpoint is documented from the DRF view's extend_schema, as before.
    call_setup_endpoint.cls = drf_view_class  # type: ignore[attr-defined]
    call_setup_endpoint.initkwargs = {}  # type: ignore[attr-defined]
    return call_setup_endpoint
