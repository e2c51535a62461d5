"""The authorization matrix (I2): every endpoint and portal page x every role, one table.

Each row names a URL (by its name), a method, how to build its arguments from one shared
world, and the status each actor must get. A URL in the project that has no row fails
`test_every_url_has_a_row`, so a new endpoint cannot ship without deciding who may call it.

Size: over 400 lines on purpose: the table is read as one page (every URL, every role, side by side);
split, a reader could no longer see that a URL has exactly one row.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.models import ExportItem, ExportRequest, Suspension
from apps.actions.exposure import Subject, exposure_report_generate
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.compliance.services import compliance_report_generate, period_parse
from apps.facilities.models import PrivilegedStation
from apps.recordings.models import Recording
from apps.recordings.services import recording_store
from apps.recordings.storage import S3Storage, get_storage
from apps.registry.models import ExemptNumber
from tests.actors import (
    INVESTIGATOR,
    attorney_user,
    build_cast,
    cast_grant,
    home_facilities,
    registry_clerk,
    staff_member,
    switch_account,
)
from tests.factories import (
    CallFactory,
    ExemptNumberFactory,
    InmateFactory,
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
# in tests/common/test_admin.py) and static files.
IGNORED_PREFIXES = ("admin", "static")


@dataclass
class World:
    ids: dict[str, int]
    users: dict[str, User] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    booking: str = ""
    recordings_dir: Path | None = None


def _store_audio(call: Call) -> Recording:
    """Real audio through the storage gate, as the facility's switch uploads it."""
    audio = b"RIFF" + b"\x00" * 2048
    return recording_store(
        call=call,
        body=io.BytesIO(audio),
        content_type="audio/wav",
        content_length=len(audio),
        expected_sha256=None,
        actor=UserFactory(username=f"switch-for-{call.facility.code}"),
    )


def _build_world() -> World:
    """Every role of the matrix (the standard cast of tests/actors.py, plus the roles that
    work on no facility) and one object of each kind the URLs take."""
    home, other = home_facilities()
    cast = build_cast(home, other, prefix="m-")
    users: dict[str, User] = {
        "switch": switch_account(home, "m-switch").user,
        "facility_admin": cast.admin.user,
        "investigator": cast.investigator.user,
        "privilege_officer": cast.officer.user,
        "registry_clerk": registry_clerk("m-registry_clerk").user,
        "auditor": cast.auditor.user,
        "other_facility": staff_member("m-other_facility", INVESTIGATOR, other).user,
        # Outside ROLES: the one who may lift a suspension (controls of uniform-denial rows).
        "superuser": UserFactory(username="m-superuser", is_superuser=True),
    }
    attorney = attorney_user("m-attorney")
    users["attorney"] = attorney.user
    inmate = InmateFactory(facility=home)
    call = CallFactory(inmate=inmate)
    recording = _store_audio(call)
    grant = cast_grant(cast, inmate, case_reference="M-1", days=2)
    # Awaiting the privilege review (a late registration quarantined it).
    quarantined = _store_audio(CallFactory(inmate=inmate, dialed_number="+12125550198"))
    Recording.objects.filter(pk=quarantined.pk).update(state="quarantined", quarantined_at=timezone.now())
    exempt = ExemptNumberFactory(attorney=attorney)
    exposure = exposure_report_generate(
        subject=Subject(number="+12125550198"), trigger="command", actor=users["privilege_officer"]
    )
    export = ExportRequest.objects.create(
        requested_by=users["investigator"], case_reference="M-1", justification="matrix"
    )
    ExportItem.objects.create(export=export, recording=recording, facility=home)
    suspension = Suspension.objects.create(user=UserFactory(username="m-suspended"), rule="manual")
    audit_export = _audit_export(users["auditor"])
    station = PrivilegedStation.objects.create(
        facility=home,
        station_id="BOOTH-M",
        label="Matrix booth",
        registered_by=users["facility_admin"],
        registered_at=timezone.now(),
    )
    compliance_report, _ = compliance_report_generate(
        period=period_parse(facility_code=home.code, start="2026-01-01", end="2026-06-30"), actor=None
    )
    sessions = {}
    for role, user in users.items():
        client = APIClient()
        client.force_login(user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    ids = {
        "home": home.pk,
        "call": call.pk,
        "recording": recording.pk,
        "quarantined": quarantined.pk,
        "inmate": inmate.pk,
        "grant": grant.pk,
        "exempt": exempt.pk,
        "exposure": exposure.pk,
        "export": export.pk,
        "suspension": suspension.pk,
        "audit_export": audit_export,
        "station": station.pk,
        "compliance_report": compliance_report.pk,
    }
    return World(ids, users, sessions, booking=inmate.booking_number)


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The world, built once for the whole matrix (several hundred cases) instead of per case.

    Like Django's ``setUpTestData``: built inside a transaction that stays open for the module
    and is rolled back at its end; each case runs in a savepoint of it (the ``db`` fixture), so
    what a case changes (a revoked grant, an approved export) is undone before the next one.
    """
    recordings = tmp_path_factory.mktemp("matrix-recordings")
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        with (
            django_db_blocker.unblock(),
            override_settings(RECORDINGS_DIR=recordings, COMPLIANCE_REPORT_DIR=recordings / "compliance"),
        ):
            get_storage.cache_clear()
            backend = get_storage()
            if isinstance(backend, S3Storage):
                backend.ensure_bucket()
            built = _build_world()
        built.recordings_dir = recordings
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        get_storage.cache_clear()


@pytest.fixture(autouse=True)
def storage(world: World, settings: Any, tmp_path: Path) -> Iterator[object]:
    """The recordings area the module's world was stored in (replaces tests/conftest.py's
    per-test folder, which the world built once cannot follow)."""
    if settings.RECORDINGS_STORAGE == "local":
        settings.RECORDINGS_DIR = world.recordings_dir
        settings.COMPLIANCE_REPORT_DIR = world.recordings_dir / "compliance"  # type: ignore[operator]
    settings.AUDIT_WITNESS_DIR = tmp_path / "witness"
    get_storage.cache_clear()
    yield get_storage()
    get_storage.cache_clear()


def _audit_export(auditor: User) -> int:
    from apps.audit.models import AuditExport

    return AuditExport.objects.create(requested_by=auditor).pk


def _client(world: World, role: str) -> APIClient:
    """A fresh client per case (a case that logs out must not log out the next one), on the
    session and token the world made for the role."""
    client = APIClient()
    if role == "anonymous":
        return client
    user = world.users[role]
    # Navigating within the portal: a record page reached from elsewhere asks first (200).
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}", HTTP_SEC_FETCH_SITE="same-origin")
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


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
    Row("switch-decision-list", "GET", {**API_ANON, "switch": 200}, 403),
    Row(
        "switch-decision-list-held",
        "POST",
        {**API_ANON, "switch": 200},
        403,
        body=lambda w: {"version": 1},
    ),
    Row("call-setup", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("call-download", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("call-detail", "GET", {**API_ANON, **staff(200)}, 404, _by("call", "call_id")),
    Row("recording-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("recording-detail", "GET", {**API_ANON, **staff(200)}, 404, _by("recording", "recording_id")),
    Row(
        "recording-playback", "POST", {**API_ANON, "investigator": 200}, 404, _by("recording", "recording_id")
    ),
    Row("recording-stream", "GET", {**API_ANON, "investigator": 403}, 404, _by("recording", "recording_id")),
    # "This sounds privileged - stop": whoever may play it (the case's rollback undoes the stop).
    Row(
        "recording-stop-privileged",
        "POST",
        {**API_ANON, "investigator": 200},
        404,
        _by("recording", "recording_id"),
    ),
    Row("inmate-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("inmate-detail", "GET", {**API_ANON, **staff(200), "auditor": 200}, 404, _by("inmate", "inmate_id")),
    Row("grant-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row("grant-list", "POST", {**API_ANON, "facility_admin": 201}, 404, body=GRANT_BODY),
    Row("grant-detail", "DELETE", {**API_ANON, "facility_admin": 204}, 404, _by("grant", "grant_id")),
    # Privileged stations: listed to everyone (scoped: only the facilities one manages),
    # registered and retired by the facility's admin only.
    Row("station-list", "GET", {**API_ANON, **ALL_AUTH_OK}, 200),
    Row(
        "station-list",
        "POST",
        {**API_ANON, "facility_admin": 201},
        404,
        body=lambda w: {"facility": w.ids["home"], "station": "booth-new", "label": "Matrix booth 2"},
    ),
    Row(
        "station-retire",
        "POST",
        {**API_ANON, "facility_admin": 200},
        404,
        _by("station", "station_id"),
        body=lambda w: {"reason": "matrix"},
    ),
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
    # The requester may not decide their own request (403, self_approval); the admin rejects.
    Row(
        "export-reject",
        "POST",
        {**API_ANON, "facility_admin": 200, "investigator": 403},
        404,
        _by("export", "export_id"),
        body=lambda w: {"reason": "matrix"},
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
    # Bulk changes (a registry import, revocations past the daily limit) wait for a second clerk.
    Row("registry-bulk-changes", "GET", {**API_ANON, "registry_clerk": 200}, 403),
    Row(
        "registry-bulk-change-approve",
        "POST",
        {**API_ANON, "registry_clerk": 404},  # the world holds no bulk change
        403,
        lambda w: {"change_id": 999_999},
        body=lambda w: {"digest": "0" * 64},  # the approver names the change as they saw it
    ),
    Row(
        "registry-bulk-change-reject",
        "POST",
        {**API_ANON, "registry_clerk": 404},
        403,
        lambda w: {"change_id": 999_999},
        body=lambda w: {"reason": "matrix"},
    ),
    Row(
        "registry-number-revoke", "POST", {**API_ANON, "registry_clerk": 200}, 403, _by("exempt", "number_id")
    ),
    # --- audit
    Row("audit-events", "GET", {**API_ANON, "auditor": 200}, 403),
    Row("audit-exports", "POST", {**API_ANON, "auditor": 202}, 403, body=lambda w: {}),
    Row("audit-export-detail", "GET", {**API_ANON, "auditor": 200}, 403, _by("audit_export", "export_id")),
    Row("audit-export-download", "GET", {**API_ANON, "auditor": 409}, 403, _by("audit_export", "export_id")),
    Row("audit-public-key", "GET", {}, 200),
    # --- compliance reports (auditors of the report's facility; everyone else 404, audited)
    Row("compliance-reports", "GET", {**API_ANON, "auditor": 200}, 404),
    Row(
        "compliance-report-detail",
        "GET",
        {**API_ANON, "auditor": 200},
        404,
        _by("compliance_report", "report_id"),
    ),
    Row(
        "compliance-report-download",
        "GET",
        {**API_ANON, "auditor": 200},
        404,
        lambda w: {"report_id": w.ids["compliance_report"], "part": "pdf"},
    ),
    Row("schema", "GET", API_ANON, 200),
    Row("api-docs", "GET", PORTAL_ANON, 200),  # the pages hold no data; the schema they load is checked
    Row("api-redoc", "GET", PORTAL_ANON, 200),
    Row("healthz", "GET", {}, 200),
    # --- facility admin portal
    Row("portal:login", "GET", {"anonymous": 200}, 302),
    Row("portal:logout", "POST", {}, 302),
    Row("portal:password-reset", "GET", {}, 200),
    Row("portal:password-reset-done", "GET", {}, 200),
    Row("portal:password-reset-confirm", "GET", {}, 200, lambda w: {"uidb64": "MQ", "token": "bad-token"}),
    # Clerks and attorneys work at no facility: "/" sends them to their own workspace.
    Row("portal:dashboard", "GET", {**PORTAL_ANON, "registry_clerk": 302, "attorney": 302}, 200),
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
        {**PORTAL_ANON, "investigator": 302},  # POST-redirect-GET to the player page
        404,
        _by("recording", "recording_id"),
    ),
    # 400: the investigator reached the recording (everyone else 404) and the stop was then
    # refused for want of its confirmation box (a JSON body carries no form field).
    Row(
        "portal:recording-stop",
        "POST",
        {**PORTAL_ANON, "investigator": 400},
        404,
        _by("recording", "recording_id"),
    ),
    Row("portal:grant-list", "GET", PORTAL_ANON, 200),
    Row("portal:grant-create", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row("portal:grant-revoke", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404, _by("grant", "grant_id")),
    Row("portal:staff", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row("portal:staff-remove", "POST", PORTAL_ANON, 404),
    Row("portal:suspension-list", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    # m-suspended works at no facility: only compliance (the lift permission) may lift it.
    Row("portal:suspension-lift", "GET", PORTAL_ANON, 404, _by("suspension", "suspension_id")),
    Row(
        "portal:suspension-lift",
        "POST",
        PORTAL_ANON,
        404,
        _by("suspension", "suspension_id"),
        body=lambda w: {"reason": "matrix"},
    ),
    # A JSON body carries no form field: the admin gets the form back with its errors (400).
    Row("portal:staff-invite", "POST", {**PORTAL_ANON, "facility_admin": 400}, 404),
    Row("portal:password-change", "GET", PORTAL_ANON, 200),
    # Prompt texts: only facility admins; a JSON body carries no form field, so the admin's
    # POST gets the form back (200) and publishes nothing.
    Row("portal:prompt-list", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row("portal:prompt-list", "POST", {**PORTAL_ANON, "facility_admin": 200}, 404),
    # Privileged stations and the inmate's "do not record": facility admins only. A JSON body
    # carries no form field: the station forms come back unfilled (200), the toggle redirects to
    # the inmate page with a message (302), and none of them changes anything.
    Row("portal:station-list", "GET", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row("portal:station-list", "POST", {**PORTAL_ANON, "facility_admin": 200}, 404),
    Row(
        "portal:station-retire",
        "GET",
        {**PORTAL_ANON, "facility_admin": 200},
        404,
        _by("station", "station_id"),
    ),
    Row(
        "portal:station-retire",
        "POST",
        {**PORTAL_ANON, "facility_admin": 200},
        404,
        _by("station", "station_id"),
    ),
    Row(
        "portal:inmate-do-not-record",
        "POST",
        {**PORTAL_ANON, "facility_admin": 302},
        404,
        _by("inmate", "inmate_id"),
    ),
    Row("portal:export-list", "GET", PORTAL_ANON, 200),
    # Exports (issue 15, item 6). A JSON body carries no form field: the approval (its
    # confirmation box) and the rejection (its reason) answer 400 to whoever reaches them; a
    # request's POST without its fields is the cross-site confirmation's "Open" (the form, 200).
    Row("portal:export-new", "GET", PORTAL_ANON, 200),
    Row("portal:export-new", "POST", PORTAL_ANON, 200),
    Row(
        "portal:export-detail",
        "GET",
        {**PORTAL_ANON, "facility_admin": 200, "investigator": 200},
        404,
        _by("export", "export_id"),
    ),
    Row(
        "portal:export-detail",
        "POST",
        {**PORTAL_ANON, "facility_admin": 200, "investigator": 200},
        404,
        _by("export", "export_id"),
    ),
    Row(
        "portal:export-approve",
        "POST",
        {**PORTAL_ANON, "facility_admin": 400, "investigator": 400},
        404,
        _by("export", "export_id"),
    ),
    Row(
        "portal:export-reject",
        "POST",
        {**PORTAL_ANON, "facility_admin": 400, "investigator": 400},
        404,
        _by("export", "export_id"),
    ),
    # Only the requester reaches the download; still pending, so back to the list (302).
    Row(
        "portal:export-download",
        "POST",
        {**PORTAL_ANON, "investigator": 302},
        404,
        _by("export", "export_id"),
    ),
    Row("portal:compliance", "GET", {**PORTAL_ANON, "auditor": 200}, 404),
    Row("portal:compliance-export", "POST", {**PORTAL_ANON, "auditor": 302}, 404),
    Row("portal:compliance-reports", "GET", {**PORTAL_ANON, "auditor": 200}, 404),
    Row(
        "portal:compliance-report-download",
        "GET",
        {**PORTAL_ANON, "auditor": 200},
        404,
        lambda w: {"report_id": w.ids["compliance_report"], "part": "csv"},
    ),
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
    # Without confirm=1 the attorney gets the confirmation page (200), not the act.
    Row("attorneys:number-revoke", "POST", {**PORTAL_ANON, "attorney": 200}, 404, _by("exempt", "number_id")),
    Row("attorneys:number-renew", "POST", {**PORTAL_ANON, "attorney": 302}, 404, _by("exempt", "number_id")),
    Row("attorneys:clerk-queue", "GET", {**PORTAL_ANON, "registry_clerk": 200}, 404),
    Row(
        "attorneys:clerk-decide",
        "POST",
        {**PORTAL_ANON, "registry_clerk": 200},  # the confirmation page (no confirm=1)
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
    # Registry search and a number's history: clerks only; everyone else's 404 is audited.
    Row("attorneys:clerk-search", "GET", {**PORTAL_ANON, "registry_clerk": 200}, 404),
    Row(
        "attorneys:clerk-history",
        "GET",
        {**PORTAL_ANON, "registry_clerk": 200},
        404,
        _by("exempt", "number_id"),
    ),
    Row(
        "attorneys:clerk-alarm-acknowledge",
        "POST",
        PORTAL_ANON,
        404,
        lambda w: {"alarm_id": 999999},
        body=lambda w: {"reason": "matrix"},
    ),
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
    Row("attorneys:exposure-list", "GET", {**PORTAL_ANON, "privilege_officer": 200}, 404),
    Row(
        "attorneys:exposure-detail",
        "GET",
        {**PORTAL_ANON, "privilege_officer": 200},
        404,
        _by("exposure", "report_id"),
    ),
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


def _request(
    client: APIClient, method: str, url: str, body: Any, content_type: str, form: bool = False
) -> Any:
    call = getattr(client, method.lower())
    if method == "GET":
        return call(url)
    if isinstance(body, bytes):
        return call(url, body, content_type=content_type)
    return call(url, body or {}, format="multipart" if form else "json")


def _cases() -> list[Any]:
    return [pytest.param(row, role, id=f"{row.name}-{row.method}-{role}") for row in MATRIX for role in ROLES]


@pytest.mark.parametrize(("row", "role"), _cases())
def test_the_matrix(db: None, world: World, row: Row, role: str) -> None:
    url = reverse(row.name, kwargs=row.kwargs(world))
    response = _request(_client(world, role), row.method, url, row.body(world), row.content_type)
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


def test_the_exempt_number_fixture_is_the_attorneys(db: None, world: World) -> None:
    assert ExemptNumber.objects.get(pk=world.ids["exempt"]).attorney.user == world.users["attorney"]


# --- rows where every role gets the same denial -----------------------------------------------
#
# Such a row alone cannot tell a permission check from a missing object: were the check broken,
# a role would still get 404 for an object that is not there. Each gets a control: the request
# made by someone who IS allowed (a success, or a 404 the trail shows is the missing object's),
# and the trail of each denied role, which must never say the object was missing: a refusal at
# the role gate looks nothing up; a refusal by scope finds the object (``access.denied`` with
# ``exists: true``, apps/common/scoping.py).


@dataclass(frozen=True)
class Control:
    allowed: str  # a role of ROLES, or "superuser"
    status: int  # what the allowed user gets; 404 only where the object is missing
    kwargs: Callable[[World], dict[str, Any]] | None = None  # default: the row's
    body: Callable[[World], Any] | None = None  # default: the row's
    form: bool = False  # a portal form post rather than JSON


REVIEW_FORM = {"action": "release", "reason": "matrix control"}
CONTROLS: dict[tuple[str, str], Control] = {
    ("suspension-lift", "POST"): Control("superuser", 200, body=lambda w: {"reason": "matrix control"}),
    ("portal:suspension-lift", "GET"): Control("superuser", 200),
    ("portal:suspension-lift", "POST"): Control(
        "superuser", 302, body=lambda w: {"reason": "matrix control"}, form=True
    ),
    ("portal:staff-remove", "POST"): Control(
        "facility_admin",
        302,
        body=lambda w: {"facility": w.ids["home"], "user": w.users["investigator"].pk, "confirm": "1"},
        form=True,
    ),
    ("attorneys:review-propose", "POST"): Control(
        "privilege_officer", 302, _by("quarantined", "recording_id"), body=lambda w: REVIEW_FORM, form=True
    ),
    # Ids no row holds: the allowed role passes the gate, looks up, and finds nothing.
    ("attorneys:clerk-claim", "POST"): Control("registry_clerk", 404),
    ("attorneys:clerk-evidence", "GET"): Control("registry_clerk", 404),
    ("attorneys:clerk-alarm-acknowledge", "POST"): Control(
        "registry_clerk", 404, body=lambda w: {"reason": "x"}, form=True
    ),
    ("attorneys:clerk-dispute", "POST"): Control("registry_clerk", 404, body=lambda w: {"reason": "x"}),
    ("attorneys:clerk-identity", "POST"): Control("registry_clerk", 404),
    ("attorneys:review-confirm", "POST"): Control("privilege_officer", 404),
    ("attorneys:review-flag", "POST"): Control("privilege_officer", 404),
}
AUTHENTICATED = [role for role in ROLES if role != "anonymous"]


def _uniform_denials() -> list[Row]:
    rows = []
    for row in MATRIX:
        statuses = {row.expected.get(role, row.default) for role in AUTHENTICATED}
        if len(statuses) == 1 and statuses <= {403, 404}:
            rows.append(row)
    return rows


def _lookups(user: User) -> list[dict[str, Any]]:
    """What the trail says each of ``user``'s refused lookups found."""
    return list(
        AuditEvent.objects.filter(action="access.denied", actor=user).values_list("details", flat=True)
    )


def test_every_uniform_denial_has_a_control() -> None:
    uniform = {(row.name, row.method) for row in _uniform_denials()}
    assert uniform == set(CONTROLS)


@pytest.mark.parametrize(
    "row", [pytest.param(row, id=f"{row.name}-{row.method}") for row in _uniform_denials()]
)
def test_a_uniform_denial_is_a_permission_check_not_a_missing_object(
    db: None, world: World, row: Row
) -> None:
    control = CONTROLS[(row.name, row.method)]
    url = reverse(row.name, kwargs=(control.kwargs or row.kwargs)(world))
    body = (control.body or row.body)(world)
    for role in AUTHENTICATED:
        if role == control.allowed:
            continue
        response = _request(_client(world, role), row.method, url, body, row.content_type, form=control.form)
        assert response.status_code == row.default, f"{row.method} {url} as {role}"
        assert all(found["exists"] for found in _lookups(world.users[role])), (
            f"{row.method} {url} as {role}: refused for a missing object; the permission check went untested"
        )
    allowed = world.users[control.allowed]
    response = _request(
        _client(world, control.allowed), row.method, url, body, row.content_type, form=control.form
    )
    assert response.status_code == control.status, f"{row.method} {url} as {control.allowed}"
    if control.status == 404:  # the 404 is the missing object's: the gate let the user through
        assert [found["exists"] for found in _lookups(allowed)] == [False]
