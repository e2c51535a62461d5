"""Exposure accounting (issue 11, section 4): a late registration's report, its notice to the
attorney, the officers' pages, append-only storage, the signature, and the command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO
from typing import Any
from urllib.parse import urlparse

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, transaction
from django.test import Client

from apps.access.models import ExportItem, ExportRequest, ExportStatus
from apps.actions import registry as actions
from apps.actions.exposure import exposure_report_body, exposure_report_signature_valid
from apps.audit.models import AuditEvent
from apps.audit.references import reference
from apps.calls.models import Call
from apps.facilities.models import Facility, PromptText
from apps.registry.models import ExemptNumber, ExposureReport, ExposureReportFacility
from apps.registry.services import exempt_number_register
from tests.actors import PRIVILEGE_OFFICER, Cast, cast_grant, grant_facility, staff_member
from tests.factories import AttorneyFactory, CallFactory, InmateFactory

pytestmark = pytest.mark.django_db
AUDIO = b"RIFF" + bytes(range(256)) * 820  # 209,924 bytes
DURATION = 100
DIALED = "+12125550177"
T1 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)
T3 = datetime(2026, 4, 1, 11, 15, tzinfo=UTC)


@pytest.fixture
def world(cast: Cast, other_facility: Facility, store_recording: Any) -> dict[str, Any]:
    """Three recorded calls to a number in two facilities (one played, two exported), an
    unrecorded one, a synthetic one; then the attorney registers it (pending)."""
    here = InmateFactory(facility=cast.facility, booking_number="EXP-1", last_name="Zebulon")
    there = InmateFactory(facility=other_facility, booking_number="EXP-2")
    cast_grant(cast, here)
    calls = [
        CallFactory(inmate=here, dialed_number=DIALED, started_at=T1, duration_seconds=DURATION),
        CallFactory(inmate=here, dialed_number=DIALED, started_at=T2, duration_seconds=DURATION),
        CallFactory(inmate=there, dialed_number=DIALED, started_at=T3, duration_seconds=DURATION),
    ]
    recordings = [store_recording(call, AUDIO) for call in calls]
    CallFactory(inmate=here, dialed_number=DIALED, started_at=T2, decision="record")  # not recorded
    CallFactory(inmate=here, dialed_number=DIALED, started_at=T2, synthetic=True)  # left out
    CallFactory(inmate=here, started_at=T2)  # another number

    who = cast.investigator
    link = who.client.post(f"/api/v1/recordings/{recordings[0].pk}/playback/").json()["url"]
    url = f"{urlparse(link).path}?{urlparse(link).query}"
    assert who.client.get(url, headers={"Range": "bytes=0-20999"}).status_code == 206
    assert who.client.get(urlparse(link).path, headers={"Range": "bytes=10000-41999"}).status_code == 206

    downloaded = ExportRequest.objects.create(
        requested_by=who.user,
        approved_by=cast.admin.user,
        case_reference="C-9",
        justification="j",
        status=ExportStatus.DOWNLOADED,
        downloaded_at=T3,
    )
    ExportItem.objects.create(
        export=downloaded, recording=recordings[0], facility=cast.facility, packaged=True
    )
    pending = ExportRequest.objects.create(requested_by=who.user, case_reference="C-10", justification="j")
    ExportItem.objects.create(export=pending, recording=recordings[1], facility=cast.facility)

    officer = staff_member("officer-both", PRIVILEGE_OFFICER, cast.facility)
    grant_facility(officer.user, other_facility, "view_facility", "view_facility_calls")
    attorney = AttorneyFactory(contact_email="counsel@example.org", full_name="Ada Counsel")
    registration = exempt_number_register(attorney=attorney, number=DIALED, actor=attorney.user)
    return {
        "cast": cast,
        "recordings": recordings,
        "officer": officer.user,
        "registration": registration,
        "exports": (downloaded, pending),
    }


def _verify(world: dict[str, Any], clerk: User, capture: Any) -> ExposureReport:
    with capture(execute=True):
        actions.exempt_number_verify(exempt_number_id=world["registration"].pk, clerk=clerk)
    return ExposureReport.objects.get(registration=world["registration"])


def _portal(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_late_verification_produces_the_report_with_the_right_counts(
    world: dict[str, Any], clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    cast, recordings = world["cast"], world["recordings"]
    # The first call was set up under the facility's recording notice (factory calls predate
    # prompts otherwise): the report must say what its caller was told, with the text.
    notice = PromptText.objects.filter(facility=cast.facility, kind="recording_notice").latest("version")
    first_call = recordings[0].call_id
    Call.objects.filter(pk=first_call).update(prompt=notice)
    report = _verify(world, clerk, django_capture_on_commit_callbacks)
    body = exposure_report_body(report)

    assert report.trigger == "verification" and report.generated_by == clerk
    assert report.number_ref == reference("number", DIALED) == body["subject"]["number_ref"]
    assert DIALED not in report.body and DIALED[2:] not in report.body
    calls = body["calls"]
    assert calls["count"] == 4  # the synthetic call and the other number are not in it
    assert (calls["first"], calls["last"]) == (
        T1.isoformat(timespec="microseconds"),
        T3.isoformat(timespec="microseconds"),
    )
    per_facility = {row["facility_id"]: row["count"] for row in calls["per_facility"]}
    assert per_facility == {cast.facility.pk: 3, cast.other_facility.pk: 1}
    told = {row["call_id"]: row["prompt_told"] for row in calls["rows"]}
    assert told[first_call] == {
        "id": notice.pk,
        "kind": "recording_notice",
        "version": notice.version,
        "text": notice.text,
    }
    assert all(told[call] is None for call in told if call != first_call)  # not known
    assert all(row["prompt_reported"] is False for row in calls["rows"])  # no switch reported one
    assert set(report.facilities.values_list("facility_id", flat=True)) == set(per_facility)

    stored = body["recordings"]
    assert (stored["count"], stored["quarantined"], stored["stored"], stored["purged"]) == (3, 3, 0, 0)
    assert stored["bytes"] == 3 * len(AUDIO)

    plays = body["playbacks"]
    assert [p["range"] for p in plays] == [[0, 20999], [10000, 41999]]
    assert {p["username"] for p in plays} == {cast.investigator.user.username}
    assert plays[0]["seconds"] == round(21000 * DURATION / len(AUDIO), 1)
    [heard] = body["listening"]
    assert heard["bytes_heard"] == 42000  # the overlap counted once
    assert heard["seconds_heard"] == round(42000 * DURATION / len(AUDIO), 1)

    downloaded, pending = world["exports"]
    exports = {e["export_id"]: e for e in body["exports"]}
    assert exports[downloaded.pk]["recording_ids"] == [recordings[0].pk]
    assert exports[downloaded.pk]["downloaded_by"] == cast.investigator.user.username
    assert exports[pending.pk]["downloaded_at"] is None
    assert body["productions"] == []

    summary = body["summary"]
    assert (summary["calls"], summary["recorded"], summary["played"], summary["exported"]) == (4, 3, 1, 2)
    assert (summary["exports"], summary["downloaded"], summary["facilities"]) == (2, 1, 2)
    event = AuditEvent.objects.get(action="exposure_report.generated")
    assert event.target_id == str(report.pk) and event.details["summary"] == summary
    assert exposure_report_signature_valid(report)


def test_the_attorney_is_told_counts_and_dates_only(
    world: dict[str, Any], clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    mail.outbox.clear()  # the attorney's sign-up and registration mails
    report = _verify(world, clerk, django_capture_on_commit_callbacks)
    [message] = [m for m in mail.outbox if f"#{report.pk}" in m.body]
    assert message.to == ["counsel@example.org"]
    text = message.subject + message.body
    for fact in ("Calls: 4 (from 2026-03-02 to 2026-04-01)", "Recorded: 3", "Played: 1", "Exported: 2"):
        assert fact in text
    cast = world["cast"]
    staff = [cast.investigator.user, cast.admin.user, clerk, world["officer"]]
    secrets = [
        DIALED,
        DIALED[2:],
        "EXP-1",
        "EXP-2",
        "Zebulon",
        cast.facility.name,
        *(u.username for u in staff),
    ]
    for secret in secrets:
        assert secret not in text, secret


def test_a_verification_that_quarantines_nothing_makes_no_report(clerk: User) -> None:
    attorney = AttorneyFactory()
    pending = exempt_number_register(attorney=attorney, number="+12125550178", actor=attorney.user)
    actions.exempt_number_verify(exempt_number_id=pending.pk, clerk=clerk)
    assert not ExposureReport.objects.exists()


def test_a_failing_report_rolls_the_verification_back(
    world: dict[str, Any], clerk: User, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("report failed")

    monkeypatch.setattr(actions, "exposure_report_generate", broken)
    with pytest.raises(RuntimeError):
        actions.exempt_number_verify(exempt_number_id=world["registration"].pk, clerk=clerk)
    assert ExemptNumber.objects.get(pk=world["registration"].pk).status == "pending"
    assert world["recordings"][0].__class__.objects.filter(state="quarantined").count() == 0


def test_reports_are_append_only(
    world: dict[str, Any], clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _verify(world, clerk, django_capture_on_commit_callbacks)
    for change in (
        lambda: ExposureReport.objects.filter(pk=report.pk).update(body="{}"),
        lambda: ExposureReport.objects.filter(pk=report.pk).delete(),
        lambda: ExposureReportFacility.objects.filter(report=report).update(facility_id=report.pk),
        lambda: ExposureReportFacility.objects.filter(report=report).delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    assert ExposureReport.objects.get(pk=report.pk).body == report.body


def test_the_signature_fails_when_the_report_is_tampered_with(
    world: dict[str, Any], clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _verify(world, clerk, django_capture_on_commit_callbacks)
    assert exposure_report_signature_valid(report)
    body = exposure_report_body(report)
    body["summary"]["played"] = 0
    report.body = json.dumps(body, sort_keys=True, separators=(",", ":"))  # in memory: past the triggers
    assert not exposure_report_signature_valid(report)
    report.refresh_from_db()
    report.number_ref = reference("number", "+12125550100")
    assert not exposure_report_signature_valid(report)


def test_officers_read_the_pages_and_every_read_is_audited_and_metered(
    world: dict[str, Any], clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _verify(world, clerk, django_capture_on_commit_callbacks)
    client = _portal(world["officer"])

    listing = client.get("/attorney/review/exposure/")
    assert listing.status_code == 200
    assert f"/attorney/review/exposure/{report.pk}/" in listing.content.decode()
    assert DIALED in listing.content.decode()  # officers see the clear number
    assert AuditEvent.objects.filter(action="exposure_report.list_viewed", actor=world["officer"]).exists()

    detail = client.get(f"/attorney/review/exposure/{report.pk}/")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "0–20999" in page and "verifies" in page
    read = AuditEvent.objects.get(action="exposure_report.viewed", actor=world["officer"])
    assert read.details["rows"] == 4 and len(read.details["call_ids"]) == 4


def test_others_get_a_404_and_the_attempt_is_audited(
    world: dict[str, Any], clerk: User, attorney: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report = _verify(world, clerk, django_capture_on_commit_callbacks)
    cast = world["cast"]
    # The cast's officer works in one of the report's two facilities only: a report is read in
    # full or not at all.
    people = [
        clerk,
        attorney.user,
        cast.investigator.user,
        cast.admin.user,
        cast.auditor.user,
        cast.officer.user,
    ]
    for user in people:
        client = _portal(user)
        assert client.get(f"/attorney/review/exposure/{report.pk}/").status_code == 404, user
        denied = AuditEvent.objects.filter(action="access.denied", actor=user, outcome="denied")
        assert denied.exists(), user
    listing = _portal(cast.officer.user).get("/attorney/review/exposure/")
    assert listing.status_code == 200
    assert f"/attorney/review/exposure/{report.pk}/" not in listing.content.decode()


def test_the_command_produces_prints_and_verifies(world: dict[str, Any]) -> None:
    officer = world["officer"]
    out = StringIO()
    call_command(
        "exposure_report", "--as", officer.username, str(world["registration"].pk), "--json", stdout=out
    )
    printed = json.loads(out.getvalue())
    report = ExposureReport.objects.get(pk=printed["report_id"])
    assert report.trigger == "command" and report.generated_by == officer
    assert printed["body"]["summary"]["calls"] == 4 and printed["body"]["summary"]["played"] == 1
    assert printed["body"]["subject"]["registration_status"] == "pending"
    assert AuditEvent.objects.filter(action="exposure_report.viewed", actor=officer).exists()

    out = StringIO()
    call_command("exposure_report", "--as", officer.username, DIALED, stdout=out)
    assert "4 call(s) in 2 facility(ies)" in out.getvalue()
    assert "bytes 0-20999" in out.getvalue()

    out = StringIO()
    call_command("exposure_report", "--as", officer.username, "--verify", str(report.pk), stdout=out)
    assert "signature verifies" in out.getvalue()


def test_the_command_needs_an_officer_and_refuses_a_tampered_report(
    world: dict[str, Any], clerk: User, monkeypatch: Any
) -> None:
    with pytest.raises(CommandError, match="privilege officer"):
        call_command("exposure_report", "--as", clerk.username, DIALED)
    call_command("exposure_report", "--as", world["officer"].username, DIALED, stdout=StringIO())
    report = ExposureReport.objects.get()
    monkeypatch.setattr(
        "apps.actions.management.commands.exposure_report.exposure_report_signature_valid", lambda r: False
    )
    with pytest.raises(CommandError, match="does NOT verify"):
        call_command("exposure_report", "--as", world["officer"].username, "--verify", str(report.pk))
    # An officer of one facility only: the report is kept, not shown.
    with pytest.raises(CommandError, match="outside your scope"):
        call_command("exposure_report", "--as", world["cast"].officer.user.username, DIALED)
