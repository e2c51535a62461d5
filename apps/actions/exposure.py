"""Exposure accounting (issue 11, section 4): for one number (or its registration), everything
that happened to its calls before the platform knew they were privileged.

The report covers every call to the number in every facility (synthetic assurance calls left
out), what was stored (recordings stored, quarantined, purged, and their sizes), each playback
(who, when, which byte ranges, about how many seconds: read from ``recording.streamed`` by
apps.recordings.listening, the same reading the stop button uses), and every export that held
one of its recordings, with its download. Productions (recordings handed to a court or the
other side) do not exist yet: ``productions_containing`` is their hook and returns nothing.
The prompt the caller heard (section 7) is not in the calls yet either: add it to ``_call_row``
once the call stores it.

It is signed with the audit checkpoint key (apps/audit/signing.py) and kept as an append-only
``ExposureReport`` whose ``body`` is the exact canonical JSON signed. Numbers appear only as
keyed references (apps/audit/references.py); inmates only by id; staff by id and username
(the report is for privilege officers, who must know who listened).

Spans registry, calls, recordings, access and audit, so it lives in actions.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.access.models import ExportItem
from apps.actions.exposure_notice import attorney_notice_on_commit
from apps.audit import signing
from apps.audit.canonical import canonical_bytes, format_time
from apps.audit.references import protect_number
from apps.audit.services import record_event
from apps.calls.models import Call
from apps.calls.prompts import PROMPT_RELATED, prompt_for_call
from apps.common.querysets import Action
from apps.recordings.listening import heard_estimate, ranges_heard, recording_duration, served_requests
from apps.recordings.models import Recording, RecordingState
from apps.registry.models import ExemptNumber, ExposureReport, ExposureReportFacility

BODY_VERSION = 1
PRODUCTIONS_NOTE = "productions are not recorded by the platform yet (hook: productions_containing)"


@dataclass(frozen=True)
class Subject:
    """What a report is about: a number (E.164), and the registration that named it, if any."""

    number: str
    registration: ExemptNumber | None = None


def exposure_report_generate(
    *, subject: Subject, trigger: str, actor: User | None, notify_attorney: bool = False
) -> ExposureReport:
    """Build, sign and keep the report of ``subject``; audit it; if ``notify_attorney``, e-mail
    the registration's attorney counts and dates after commit. Runs in the caller's transaction
    when there is one (verification: see apps/actions/registry.py)."""
    with transaction.atomic():
        now = timezone.now()
        body = exposure_body(subject=subject, trigger=trigger, generated_at=now)
        payload = canonical_bytes(body)
        report = ExposureReport.objects.create(
            registration=subject.registration,
            number_ref=body["subject"]["number_ref"],
            trigger=trigger,
            generated_at=now,
            generated_by=actor,
            body=payload.decode(),
            key_id=signing.key_id(signing.public_key_bytes()),
            signature=signing.sign(payload),
        )
        ExposureReportFacility.objects.bulk_create(
            [
                ExposureReportFacility(report=report, facility_id=row["facility_id"])
                for row in body["calls"]["per_facility"]
            ]
        )
        record_event(
            action="exposure_report.generated",
            actor=actor,
            target=report,
            details={"trigger": trigger, "number_ref": report.number_ref, "summary": body["summary"]},
        )
        if notify_attorney and subject.registration is not None:
            attorney_notice_on_commit(report=report, registration=subject.registration, body=body)
    return report


def exposure_report_signature_valid(report: ExposureReport, *, public_key: bytes | None = None) -> bool:
    """Does the signature hold over the stored body (and does the body name this report's
    subject)? Pure check but for the key: pass ``public_key`` to verify with a copy held apart."""
    payload = report.body.encode()
    try:
        body = json.loads(payload)
    except ValueError:
        return False
    if body.get("subject", {}).get("number_ref") != report.number_ref:
        return False
    return signing.verify_signature(
        public_key=public_key or signing.public_key_bytes(), payload=payload, signature_b64=report.signature
    )


def exposure_body(*, subject: Subject, trigger: str, generated_at: datetime) -> dict[str, Any]:
    """The report's statement (what is signed)."""
    calls = list(
        Call.objects.filter(dialed_number=subject.number, synthetic=False)
        .select_related("recording", *PROMPT_RELATED)
        .order_by("started_at", "pk")
    )
    recordings = [call.recording for call in calls if _recording_of(call) is not None]
    playbacks, listening = _playbacks(recordings)
    exports = _exports([r.pk for r in recordings])
    registration = subject.registration
    body: dict[str, Any] = {
        "kind": "exposure_report",
        "version": BODY_VERSION,
        "generated_at": format_time(generated_at),
        "trigger": trigger,
        "subject": {
            "number_ref": protect_number(subject.number),
            "registration_id": registration.pk if registration else None,
            "registration_status": registration.status if registration else None,
            # None: every facility (a global registration) or no registration.
            "registration_facility_id": registration.facility_id if registration else None,
        },
        "calls": _calls(calls),
        "recordings": _recordings(recordings),
        "playbacks": playbacks,
        "listening": listening,
        "exports": exports,
        "productions": productions_containing([r.pk for r in recordings]),
        "productions_note": PRODUCTIONS_NOTE,
    }
    body["summary"] = _summary(body)
    return body


def productions_containing(recording_ids: list[int]) -> list[dict[str, Any]]:
    """Hook: productions (recordings handed over outside an export) that held any of
    ``recording_ids``. None exist yet; when they do, return one row per production like
    ``_exports`` does, and the summary counts them."""
    return []


def _recording_of(call: Call) -> Recording | None:
    try:
        return call.recording
    except Recording.DoesNotExist:
        return None


def _calls(calls: list[Call]) -> dict[str, Any]:
    per_facility: dict[int, list[Call]] = {}
    for call in calls:
        per_facility.setdefault(call.facility_id, []).append(call)
    return {
        "count": len(calls),
        "first": format_time(calls[0].started_at) if calls else None,
        "last": format_time(calls[-1].started_at) if calls else None,
        "per_facility": [
            {
                "facility_id": facility_id,
                "count": len(rows),
                "first": format_time(rows[0].started_at),
                "last": format_time(rows[-1].started_at),
            }
            for facility_id, rows in sorted(per_facility.items())
        ],
        "rows": [_call_row(call) for call in calls],
    }


def _call_row(call: Call) -> dict[str, Any]:
    # What the caller was told (U.S. v. Hohn turned on it): the prompt setup named and the one
    # the switch reports played, each with its exact text.
    prompt = prompt_for_call(call)
    return {
        "call_id": call.pk,
        "facility_id": call.facility_id,
        "inmate_id": call.inmate_id,
        "started_at": format_time(call.started_at),
        "duration_seconds": call.duration_seconds,
        "decision": call.decision,
        "privileged": call.privileged,
        "prompt_told": prompt.told.as_dict() if prompt.told else None,
        "prompt_played": prompt.played.as_dict() if prompt.played else None,
        "prompt_reported": prompt.reported,
        "prompt_mismatch": prompt.mismatch,
    }


def _recordings(recordings: list[Recording]) -> dict[str, Any]:
    states = Counter(r.state for r in recordings)
    return {
        "count": len(recordings),
        "stored": states[RecordingState.STORED],
        "quarantined": states[RecordingState.QUARANTINED],
        "purged": states[RecordingState.PURGED],
        "bytes": sum(r.size_bytes for r in recordings),
        "rows": [
            {
                "recording_id": r.pk,
                "call_id": r.call_id,
                "facility_id": r.facility_id,
                "state": r.state,
                "size_bytes": r.size_bytes,
                "stored_at": format_time(r.created_at),
                "quarantined_at": format_time(r.quarantined_at),
                "purged_at": format_time(r.purged_at),
            }
            for r in recordings
        ],
    }


def _playbacks(recordings: list[Recording]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each stream request (who, when, range, about how many seconds), and per recording and
    listener the distinct bytes and seconds heard (apps.recordings.listening's estimate)."""
    requests: list[dict[str, Any]] = []
    listening: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    for recording in recordings:
        duration = recording_duration(recording)
        served = served_requests(recording)
        if not served:
            continue
        wanted = {s.user_id for s in served} - names.keys()
        names.update(User.objects.filter(pk__in=wanted).values_list("pk", "username"))
        for s in served:
            one = ranges_heard([(s.first, s.last)], recording.size_bytes, duration)
            requests.append(
                {
                    "recording_id": recording.pk,
                    "user_id": s.user_id,
                    "username": names.get(s.user_id),
                    "at": format_time(s.at),
                    "range": [s.first, s.last],
                    "bytes": one.bytes_served,
                    "seconds": one.seconds_heard,
                }
            )
        for user_id, heard in sorted(heard_estimate(recording, duration, served).listeners.items()):
            listening.append(
                {
                    "recording_id": recording.pk,
                    "user_id": user_id,
                    "username": names.get(user_id),
                    "bytes_served": heard.bytes_served,
                    "bytes_heard": heard.bytes_heard,
                    "seconds_heard": heard.seconds_heard,
                }
            )
    return requests, listening


def _exports(recording_ids: list[int]) -> list[dict[str, Any]]:
    """Every export request that contained one of the recordings, whatever became of it (a
    rejected request still shows who asked), with its download if it happened."""
    items = (
        ExportItem.objects.filter(recording_id__in=recording_ids)
        .select_related("export__requested_by", "export__approved_by")
        .order_by("export_id", "recording_id")
    )
    exports: dict[int, dict[str, Any]] = {}
    for item in items:
        export = item.export
        row = exports.setdefault(
            export.pk,
            {
                "export_id": export.pk,
                "status": export.status,
                "requested_by": export.requested_by.get_username(),
                "approved_by": export.approved_by.get_username() if export.approved_by else None,
                "requested_at": format_time(export.created_at),
                "approved_at": format_time(export.approved_at),
                # Only the requester can download an export (apps.access.exports).
                "downloaded_by": export.requested_by.get_username() if export.downloaded_at else None,
                "downloaded_at": format_time(export.downloaded_at),
                "recording_ids": [],
                "withheld_recording_ids": [],
            },
        )
        key = "withheld_recording_ids" if item.packaged is False else "recording_ids"
        row[key].append(item.recording_id)
    return [exports[pk] for pk in sorted(exports)]


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    """The counts and dates: what the attorney is told, and the first line of the page."""
    played = {p["recording_id"] for p in body["playbacks"]}
    exported = {r for e in body["exports"] for r in e["recording_ids"] + e["withheld_recording_ids"]}
    downloaded = {r for e in body["exports"] if e["downloaded_at"] for r in e["recording_ids"]}
    return {
        "calls": body["calls"]["count"],
        "facilities": len(body["calls"]["per_facility"]),
        "recorded": body["recordings"]["count"],
        "played": len(played),
        "playback_requests": len(body["playbacks"]),
        "listeners": len({p["user_id"] for p in body["playbacks"]}),
        "seconds_heard": round(sum(row["seconds_heard"] or 0 for row in body["listening"]), 1),
        "exported": len(exported),
        "exports": len(body["exports"]),
        "downloaded": len(downloaded),
        "productions": len(body["productions"]),
        "first_call": body["calls"]["first"],
        "last_call": body["calls"]["last"],
    }


def exposure_reports_for(user: User) -> QuerySet[ExposureReport]:
    """The reports ``user`` may read in full (see ExposureReportQuerySet.scope)."""
    return ExposureReport.objects.restrict(user, Action.VIEW)


def exposure_report_body(report: ExposureReport) -> dict[str, Any]:
    """The signed statement, as data."""
    body: dict[str, Any] = json.loads(report.body)
    return body
