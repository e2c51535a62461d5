"""The authorization matrix (I2): every endpoint and portal page x every role, one table.

Each row names a URL (by its name), a method, how to build its arguments from one shared
world, and the status each actor must get. A URL in the project that has no row fails
`test_every_url_has_a_row`, so a new endpoint cannot ship without deciding who may call it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.models import ExportItem, ExportRequest, Suspension
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from apps.registry.models import ExemptNumber
from tests.conftest import actor, grant_facility
from tests.factories import (
    AttorneyFactory,
    CallFactory,
    ExemptNumberFactory,
    InmateFactory,
    SwitchAccountFactory,
    UserFactory,
    token_for,
)

ROLES = [
    "anonymous",
    "switch",
    "facility_admin",
    "investigator",
    "privilege_officer",
    "registry_clerk",
    "auditor",
    "attorney",
    "other_facility",
]
# URLs deliberately outside the matrix: the Django admin (superusers only; its own policy matrix
# in tests/security/test_admin.py) and static files.
IGNORED_PREFIXES = ("admin", "static")


@dataclass
class World:
    clients: dict[str, APIClient]
    ids: dict[str, int]
    users: dict[str, User] = field(default_factory=dict)
    booking: str = ""


@pytest.fixture
def world(db: None, store_recording: Any) -> World:
    home = Facility.objects.create(code="home", name="Home")
    other = Facility.objects.create(code="other", name="Other")
    users: dict[str, User] = {}
    switch = SwitchAccountFactory(facility=home, user=UserFactory(username="m-switch"))
    users["switch"] = switch.user
    for role, group, facility, perms in [
        (
            "facility_admin",
            "facility_admin",
            home,
            ["view_facility", "view_facility_calls", "manage_facility", "approve_facility_exports"],
        ),
        ("investigator", "investigator", home, ["view_facility", "view_facility_calls"]),
        ("privilege_officer", "privilege_officer", home, ["view_facility", "view_facility_calls"]),
        ("registry_clerk", "registry_clerk", None, []),
        ("auditor", "auditor", home, ["view_facility"]),
        ("other_facility", "investigator", other, ["view_facility", "view_facility_calls"]),
    ]:
        who = actor(f"m-{role}", group)
        if facility is not None:
            grant_facility(who.user, facility, *perms)
        users[role] = who.user
    attorney = AttorneyFactory(user=UserFactory(username="m-attorney"))
    users["attorney"] = attorney.user
    inmate = InmateFactory(facility=home)
    call = CallFactory(inmate=inmate)
    recording = store_recording(call)
    grant = inmate_grant_create(
        granted_by=users["facility_admin"],
        investigator=users["investigator"],
        inmate=inmate,
        case_reference="M-1",
        expires_at=timezone.now() + timedelta(days=2),
    )
    exempt = ExemptNumberFactory(attorney=attorney)
    export = ExportRequest.objects.create(
        requested_by=users["investigator"], case_reference="M-1", justification="matrix"
    )
    ExportItem.objects.create(export=export, recording=recording, facility=home)
    suspension = Suspension.objects.create(user=UserFactory(username="m-suspended"), rule="manual")
    audit_export = _audit_export(users["auditor"])
    clients: dict[str, APIClient] = {"anonymous": APIClient()}
    for role, user in users.items():
        client = APIClient()
        # Navigating within the portal: a record page reached from elsewhere asks first (200).
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}", HTTP_SEC_FETCH_SITE="same-origin")
        client.force_login(user)
        clients[role] = client
    ids = {
        "call": call.pk,
        "recording": recording.pk,
        "inmate": inmate.pk,
        "grant": grant.pk,
        "exempt": exempt.pk,
        "export": export.pk,
        "suspension": suspension.pk,
        "audit_export": audit_export,
    }
    return World(clients, ids, users, booking=inmate.booking_number)


def _audit_export(auditor: User) -> int:
    from apps.audit.models import AuditExport

    return AuditExport.objects.create(requested_by=auditor).pk


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    expected: dict[str, int]
    default: int
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    body: Callable[[World], Any] = lambda w: None
    content_type: str = "application/json"


def _by(key: str, arg: str) -> Callable[[World], dict[str, Any]]:
    return lambda w: {arg: w.ids[key]}


def staff(
    ok: int, *, roles: tuple[str, ...] = ("facility_admin", "investigator", "privilege_officer")
) -> dict[str, int]:
    return {role: ok for role in roles}


API_ANON = {"anonymous": 401}
PORTAL_ANON = {"anonymous": 302}
ALL_AUTH_OK = {role: 200 for role in ROLES if role != "anonymous"}


def GRANT_BODY(w: World) -> dict[str, Any]:  # noqa: N802
    return {
        "investigator": "m-investigator",
        "inmate": w.ids["inmate"],
        "case_reference": "M-2",
        "expires_at": (timezone.now() + timedelta(days=1)).isoformat(),
    }


MATRIX: list[Row] = [
    # --- switch
    Row(
        "call-setup",
        "POST",
        {**API_ANON, "switch": 201},
        403,
        body=lambda w: {
            "switch_call_id": "m-new",
            "inmate": w.booking,
            "dialed_number": "+17185550100",
            "started_at": "2026-11-25T10:00:00Z",
        },
    ),
    Row(
        "call-end",
        "POST",
        {**API_ANON, "switch": 200},
        403,
        _by("call", "call_id"),
        body=lambda w: {"ended_at": timezone.now().isoformat()},
    ),
    Row(
        "call-recording-upload",
        "PUT",
        # 400 checksum_required: the switch reached its call (a foreign one is 404) and the
        # upload was then refused for want of Content-SHA256, before the body was read.
        {**API_ANON, "switch": 400},
        403,
        _by("call", "call_id"),
        body=lambda w: b"audio",
        content_type="audio/wav",
    ),
    # --- staff API
    Row("call-setup", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("call-download", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("call-detail", "GET", {**API_ANON, **staff(200)}, 404, _by("call", "call_id")),
    Row("recording-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("recording-detail", "GET", {**API_ANON, **staff(200)}, 404, _by("recording", "recording_id")),
    Row(
        "recording-playback", "POST", {**API_ANON, "investigator": 200}, 404, _by("recording", "recording_id")
    ),
    Row("recording-stream", "GET", {**API_ANON, "investigator": 403}, 404, _by("recording", "recording_id")),
    Row("inmate-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("inmate-detail", "GET", {**API_ANON, **staff(200), "auditor": 200}, 404, _by("inmate", "inmate_id")),
    Row("grant-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("grant-list", "POST", {**API_ANON, "facility_admin": 201}, 404, body=GRANT_BODY),
    Row("grant-detail", "DELETE", {**API_ANON, "facility_admin": 204}, 404, _by("grant", "grant_id")),
    Row("export-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row(
        "export-list",
        "POST",
        {**API_ANON, "investigator": 201},
        404,
        body=lambda w: {
            "recording_ids": [w.ids["recording"]],
            "case_reference": "M-3",
            "justification": "matrix",
        },
    ),
    Row(
        "export-detail",
        "GET",
        {**API_ANON, "investigator": 200, "facility_admin": 200},
        404,
        _by("export", "export_id"),
    ),
    Row(
        "export-approve",
        "POST",
        {**API_ANON, "facility_admin": 200, "investigator": 403},
        404,
        _by("export", "export_id"),
    ),
    Row("export-download", "GET", {**API_ANON, "investigator": 409}, 404, _by("export", "export_id")),
    Row(
        "suspension-lift",
        "POST",
        {**API_ANON},
        404,  # without the lift permission, an existing suspension looks like a missing one
        _by("suspension", "suspension_id"),
        body=lambda w: {"reason": "matrix"},
    ),
    # --- registry
    Row("attorney-numbers", "GET", {**API_ANON, "attorney": 200}, 403),
    Row(
        "attorney-numbers",
        "POST",
        {**API_ANON, "attorney": 201},
        403,
        body=lambda w: {"number": "+13125550100"},
    ),
    Row("attorney-number-detail", "GET", {**API_ANON, "attorney": 200}, 403, _by("exempt", "number_id")),
    Row("attorney-number-detail", "DELETE", {**API_ANON, "attorney": 200}, 403, _by("exempt", "number_id")),
    # The matrix's registration is pending: renewing it is an illegal transition (409).
    Row("attorney-number-renew", "POST", {**API_ANON, "attorney": 409}, 403, _by("exempt", "number_id")),
    Row(
        "registry-number-renew", "POST", {**API_ANON, "registry_clerk": 409}, 403, _by("exempt", "number_id")
    ),
    Row(
        "registry-number-decline-renewal",
        "POST",
        {**API_ANON, "registry_clerk": 409},
        403,
        _by("exempt", "number_id"),
        body=lambda w: {"reason": "matrix"},
    ),
    Row("registry-numbers", "GET", {**API_ANON, "registry_clerk": 200}, 403),
    Row(
        "registry-number-verify", "POST", {**API_ANON, "registry_clerk": 200}, 403, _by("exempt", "number_id")
    ),
    Row(
        "registry-number-reject",
        "POST",
        {**API_ANON, "registry_clerk": 200},
        403,
        _by("exempt", "number_id"),
        body=lambda w: {"reason": "matrix"},
    ),
    # --- audit
    Row("audit-events", "GET", {**API_ANON, "auditor": 200}, 403),
    Row("audit-exports", "POST", {**API_ANON, "auditor": 202}, 403, body=lambda w: {}),
    Row("audit-export-detail", "GET", {**API_ANON, "auditor": 200}, 403, _by("audit_export", "export_id")),
    Row("audit-export-download", "GET", {**API_ANON, "auditor": 409}, 403, _by("audit_export", "export_id")),
    Row("audit-public-key", "GET", {}, 200),
    Row("schema", "GET", API_ANON, 200),
    Row("healthz", "GET", {}, 200),
    # --- facility admin portal
    Row("portal:login", "GET", {"anonymous": 200}, 302),
    Row("portal:logout", "POST", {}, 302),
    Row("portal:password-reset", "GET", {}, 200),
    Row("portal:password-reset-done", "GET", {}, 200),
    Row("portal:password-reset-confirm", "GET", {}, 200, lambda w: {"uidb64": "MQ", "token": "bad-token"}),
    Row("portal:dashboard", "GET", PORTAL_ANON, 200),
    Row("portal:inmate-list", "GET", PORTAL_ANON, 200),
    Row(
        "portal:inmate-detail",
        "GET",
        {**PORTAL_ANON, **staff(200), "auditor": 200},
        404,
        _by("inmate", "inmate_id"),
    ),
    Row("portal:call-list", "GET", PORTAL_ANON, 200),
    Row("portal:call-download", "GET", PORTAL_ANON, 200),
    Row(
        "portal:recording-detail", "GET", {**PORTAL_ANON, **staff(200)}, 404, _by("recording", "recording_id")
    ),
    # The "Open" of the confirmation a record page shows when reached from outside the portal.
    Row(
        "portal:inmate-detail",
        "POST",
        {**PORTAL_ANON, **staff(200), "auditor": 200},
        404,
        _by("inmate", "inmate_id"),
    ),
    Row("portal:call-list", "POST", PORTAL_ANON, 200),
    Row("portal:call-download", "POST", PORTAL_ANON, 200),
    Row(
        "portal:recording-detail",
        "POST",
        {**PORTAL_ANON, **staff(200)},
        404,
        _by("recording", "recording_id"),
    ),
    Row(
        "portal:recording-play",
        "POST",
        {**PORTAL_ANON, "investigator": 200},
        404,
        _by("recording", "recording_id"),
    ),
    Row("portal:grant-list", "GET", PORTAL_ANON, 200),
    Row("portal:grant-create", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row("portal:grant-revoke", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404, _by("grant", "grant_id")),
    Row("portal:staff", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row("portal:staff-remove", "POST", PORTAL_ANON, 404),
    Row("portal:export-list", "GET", PORTAL_ANON, 200),
    Row(
        "portal:export-approve",
        "POST",
        {**PORTAL_ANON, "facility_admin": 302, "investigator": 302},
        404,
        _by("export", "export_id"),
    ),
    Row("portal:compliance", "GET", {**PORTAL_ANON, "auditor": 200}, 404),
    Row("portal:compliance-export", "POST", {**PORTAL_ANON, "auditor": 302}, 404),
    # --- attorney portal, clerk queue and privilege review
    Row("attorneys:login", "GET", {"anonymous": 200}, 302),
    Row("attorneys:logout", "POST", {}, 302),
    Row("attorneys:signup", "GET", {}, 200),
    Row("attorneys:verify-email", "GET", {}, 400, lambda w: {"uidb64": "MQ", "token": "bad-token"}),
    Row("attorneys:password-reset", "GET", {}, 200),
    Row("attorneys:password-reset-done", "GET", {}, 200),
    Row("attorneys:password-reset-confirm", "GET", {}, 200, lambda w: {"uidb64": "MQ", "token": "bad-token"}),
    Row("attorneys:home", "GET", {**PORTAL_ANON, "attorney": 200}, 404),
    Row("attorneys:profile", "GET", {**PORTAL_ANON, "attorney": 200}, 404),
    Row("attorneys:flag", "GET", {**PORTAL_ANON, "attorney": 200}, 404),
    Row("attorneys:number-detail", "GET", {**PORTAL_ANON, "attorney": 200}, 404, _by("exempt", "number_id")),
    Row("attorneys:number-revoke", "POST", {**PORTAL_ANON, "attorney": 302}, 404, _by("exempt", "number_id")),
    Row("attorneys:number-renew", "POST", {**PORTAL_ANON, "attorney": 302}, 404, _by("exempt", "number_id")),
    Row("attorneys:clerk-queue", "GET", {**PORTAL_ANON, "registry_clerk": 200}, 404),
    Row(
        "attorneys:clerk-decide",
        "POST",
        {**PORTAL_ANON, "registry_clerk": 302},
        404,
        lambda w: {"number_id": w.ids["exempt"], "decision": "verify"},
    ),
    Row(
        "attorneys:clerk-claim",
        "POST",
        PORTAL_ANON,
        404,
        lambda w: {"claim_id": 999999, "decision": "verify"},
    ),
    Row("attorneys:clerk-evidence", "GET", PORTAL_ANON, 404, lambda w: {"evidence_id": 999999}),
    Row(
        "attorneys:clerk-dispute",
        "POST",
        PORTAL_ANON,
        404,
        lambda w: {"dispute_id": 999999, "award_to": "claimant"},
    ),
    Row(
        "attorneys:clerk-identity",
        "POST",
        PORTAL_ANON,
        404,
        lambda w: {"change_id": 999999, "decision": "approve"},
    ),
    Row("attorneys:email-confirm", "GET", {}, 400, lambda w: {"uidb64": "MQ", "token": "bad-token"}),
    Row("attorneys:review-queue", "GET", {**PORTAL_ANON, "privilege_officer": 200}, 404),
    Row("attorneys:review-propose", "POST", PORTAL_ANON, 404, _by("recording", "recording_id")),
    Row("attorneys:review-confirm", "POST", PORTAL_ANON, 404, lambda w: {"decision_id": 999999}),
    Row(
        "attorneys:review-flag",
        "POST",
        PORTAL_ANON,
        404,
        lambda w: {"flag_id": 999999, "decision": "accept"},
    ),
    # The flag form itself: only attorneys; an attorney without that number gets the form back.
    Row(
        "attorneys:flag",
        "POST",
        {**PORTAL_ANON, "attorney": 200},
        404,
        body=lambda w: {"call_date": "2026-01-05", "facility": "home", "booking_number": w.booking},
    ),
    Row(
        "registry-claims",
        "POST",
        {**API_ANON, "switch": 201},
        403,
        body=lambda w: {"inmate": w.booking, "number": "+12125550999"},
    ),
]


def _cases() -> list[Any]:
    return [pytest.param(row, role, id=f"{row.name}-{row.method}-{role}") for row in MATRIX for role in ROLES]


@pytest.mark.parametrize(("row", "role"), _cases())
def test_the_matrix(world: World, row: Row, role: str) -> None:
    client = world.clients[role]
    url = reverse(row.name, kwargs=row.kwargs(world))
    body = row.body(world)
    call = getattr(client, row.method.lower())
    if row.method == "GET":
        response = call(url)
    elif isinstance(body, bytes):
        response = call(url, body, content_type=row.content_type)
    else:
        response = call(url, body or {}, format="json")
    expected = row.expected.get(role, row.default)
    assert response.status_code == expected, (
        f"{row.method} {url} as {role}: expected {expected}, got {response.status_code}: "
        f"{getattr(response, 'content', b'')[:300]!r}"
    )


def _named_urls(patterns: list[Any], prefix: str = "", namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(IGNORED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_urls(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"URL {route} has no name, so it cannot be in the matrix"
            names.add(namespace + pattern.name)
    return names


def test_every_url_has_a_row() -> None:
    covered = {row.name for row in MATRIX}
    missing = sorted(_named_urls(get_resolver().url_patterns) - covered)
    assert not missing, f"endpoints without a row in the authorization matrix: {missing}"


def test_the_exempt_number_fixture_is_the_attorneys(world: World) -> None:
    assert ExemptNumber.objects.get(pk=world.ids["exempt"]).attorney.user == world.users["attorney"]
