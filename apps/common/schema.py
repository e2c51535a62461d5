"""OpenAPI schema generation (drf-spectacular): component names, documented errors, and the
field glossary that gives every field a description (tests/common/test_api_docs.py walks the
schema and fails on any operation without a summary or any field without a description)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from apps.common.errors import DomainError

# Names a client generator turns into classes; the rule below covers the rest.
COMPONENT_NAMES = {
    "CallOutput": "CallDecision",
    "StaffCallOutput": "CallRecord",
    "ClerkExemptNumberOutput": "ExemptNumberForClerk",
    "AttorneyNumbersView.Input": "ExemptNumberRegistration",
    "ExportListView.Input": "NewExportRequest",
    "ExportOutput": "ExportRequest",
    "GrantListView.Input": "NewGrant",
    "GrantOutput": "Grant",
    "FiltersInput": "AuditFilters",
    "EventOutput": "AuditEvent",
}


def component_name(qualname: str) -> str:
    """``CallSetupView.Input`` -> ``CallSetupRequest``, ``RecordingOutput`` -> ``Recording``:
    a view's nested ``Input`` is named after the view (every view's ``Input`` would otherwise
    be one component, and a vendor's generated client would get the wrong fields)."""
    if qualname in COMPONENT_NAMES:
        return COMPONENT_NAMES[qualname]
    outer, _, inner = qualname.rpartition(".")
    if outer:
        base = re.sub(r"View$", "", outer.replace(".", ""))
        return base + {"Input": "Request", "Output": "Response"}.get(inner, inner)
    return re.sub(r"(Output|Input)$", "", qualname) or qualname


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        return component_name(type(serializer).__qualname__)


class SameOriginSessionScheme(SessionScheme):
    """The portal's session cookie (accepted only from the portal's own pages)."""

    target_class = "apps.common.auth.SameOriginSessionAuthentication"


ERROR_BODY = inline_serializer(
    "Error",
    {
        "reason": serializers.CharField(
            help_text="Stable, machine-readable cause; the response's description lists the values."
        ),
        "detail": serializers.CharField(help_text="A human message (may change; do not parse it)."),
    },
)


def error_responses(*errors: type[DomainError]) -> dict[int, OpenApiResponse]:
    """The documented error answers of an operation, built from the error classes the view's
    services raise, so the schema's ``reason`` values are the code's and cannot drift."""
    by_status: dict[int, list[type[DomainError]]] = defaultdict(list)
    for error in errors:
        by_status[error.status_code].append(error)
    return {
        code: OpenApiResponse(
            response=ERROR_BODY,
            description="\n".join(f"- `{e.reason}`: {e.default_message}" for e in classes),
            examples=[
                OpenApiExample(
                    e.reason,
                    value={"reason": e.reason, "detail": e.default_message},
                    response_only=True,
                    status_codes=[str(code)],
                )
                for e in classes
            ],
        )
        for code, classes in sorted(by_status.items())
    }


# What a field name means wherever it appears; "Component.field" entries say it for one
# component only. Fields described in their serializer (help_text) keep their own text.
GLOSSARY = {
    "id": "This object's id.",
    "inmate": "The inmate's booking number at the facility.",
    "facility": "The facility's code.",
    "facility_id": "The facility's id.",
    "booking_number": "The inmate's booking number, unique within the facility.",
    "first_name": "The inmate's first name.",
    "last_name": "The inmate's last name.",
    "switch_call_id": "The switch's own id for the call, unique per facility; sending it again "
    "returns the same call (idempotent).",
    "dialed_number": "The number dialed, in any format the facility's region reads "
    "(stored and shown in E.164); null where it is masked (a privileged call).",
    "started_at": "When it started (ISO 8601 with offset).",
    "ended_at": "When the call ended (ISO 8601 with offset).",
    "finished_at": "When it finished; null while running.",
    "duration_seconds": "Call length in whole seconds; null until the call ends.",
    "decision": "`record` or `exempt`: the decision made at call setup.",
    "privileged": "True when the call is to a verified privileged number: its audio is never stored.",
    "record": "True when the switch must record the call; false: do not record.",
    "reason": "Why: a stable, machine-readable cause.",
    "attorney": "The registration's attorney; null where it is masked.",
    "prompt_played": "The prompt the switch actually played (id and version from call setup).",
    "version": "A version number.",
    "PromptPlayed.version": "The version of the prompt played.",
    "PromptPlayed.id": "The id of the prompt played (from call setup's `prompt`).",
    "Prompt.id": "The prompt's id: report it back in `prompt_played`.",
    "Prompt.version": "The prompt's version: report it back in `prompt_played`.",
    "Prompt.kind": "`recording_notice` (the call is recorded) or `private_call_notice` (it is not).",
    "call": "The call the recording belongs to.",
    "state": "`stored` (playable with a grant), `quarantined` (privileged: never served) or `purged`.",
    "size_bytes": "Size in bytes.",
    "sha256": "SHA-256 of the content, hex.",
    "content_type": "The audio's media type as uploaded (audio/*).",
    "created_at": "When it was created.",
    "retention_until": "When the recording is purged unless a hold keeps it.",
    "url": "The single-use link to stream the audio; it expires at `expires_at`.",
    "expires_at": "When it expires.",
    "number": "The phone number, E.164 (any format the region reads is accepted on input).",
    "label": "The attorney's own label for the number (free text).",
    "status": "The current status.",
    "effective_from": "When the exemption starts.",
    "effective_until": "When the exemption ends; null: until revoked (or the configured window).",
    "verified_at": "When a registry clerk verified the number; null until then.",
    "renewal_requested_at": "When the attorney asked to renew; null if not asked.",
    "decided_reason": "The clerk's written reason for the decision.",
    "decided_at": "When the decision was made.",
    "case_reference": "The case this is for (free text, as the agency writes it).",
    "justification": "Why the recordings are needed, for the approver to judge.",
    "recording_ids": "The recordings' ids.",
    "requested_by": "Username of the requester.",
    "approved_by": "Username of the approver (a different user); null until approved.",
    "approved_at": "When it was approved; null until then.",
    "progress": "Progress from 0 to 1.",
    "package_sha256": "SHA-256 of the export package, hex (also sent as X-Content-SHA256).",
    "package_size": "Size of the export package in bytes.",
    "download_expires_at": "When the package can no longer be downloaded.",
    "downloaded_at": "When the requester downloaded it; null if not yet.",
    "investigator": "The investigator's username.",
    "granted_by": "Username of the administrator who granted it.",
    "sequence": "The event's position in the hash chain.",
    "actor": "The acting user's username.",
    "actor_id": "The acting user's id; null for the system.",
    "actor_label": "The acting user's name as it was at the time.",
    "action": "What was done, e.g. `recording.streamed` (a dotted event name).",
    "outcome": "How it ended: `success`, `denied`, `refused` or `failed`.",
    "target_type": "The kind of object acted on, e.g. `recordings.recording`.",
    "target_id": "The id of the object acted on.",
    "client_ip": "The client's address (or the one trusted proxies vouch for).",
    "request_id": "The request's id (X-Request-ID), to match proxy and switch logs.",
    "details": "What else the event records (JSON; numbers appear as keyed references).",
    "prev_hash": "The previous event's hash (the chain link).",
    "hash": "This event's hash over its content and `prev_hash`.",
    "sealed_at": "When the event was sealed into the chain; null until then.",
    "revealed": "Clear values behind the event's keyed references (registry clerks and "
    "privilege officers only; empty for everyone else).",
    "since": "Only from this time on (ISO 8601).",
    "until": "Only up to this time (ISO 8601).",
    "filters": "The filters the export was started with.",
    "total": "Events to write.",
    "written": "Events written so far.",
    "error": "Why the export failed; empty unless it did.",
    "kind": "The kind of change.",
    "file": "The imported file's name (an import only).",
    "registration_ids": "The registrations a revocation batch covers.",
    "preview": "The dry run: what approval would do.",
    "result": "What approval did.",
    "proposed_by": "Username of the clerk who proposed it.",
    "proposed_at": "When it was proposed.",
    "decided_by": "Username of the second clerk who decided it.",
    "fallback": "What the switch does when its list is unusable (see the operation's description).",
    "file_format": "`csv` (default) or `json`.",
    "q": "An exact booking number or the start of a last name.",
    "current_version": "The facility's current list version.",
    "stale_since": "Since when the switch's version has missed a change; null when current.",
    "published_at": "When this version was published.",
    "issued_at": "When this answer was issued.",
    "count": "How many items match, on all pages.",
    "next": "The next page's URL; null on the last page.",
    "previous": "The previous page's URL; null on the first page.",
    "results": "This page's items.",
    "category": "Whose number it is: `attorney`, `doctor`, `clergy`, `consular_officer` or "
    "`defence_social_worker`. Every category is exempt; the category decides the evidence a clerk checks.",
    "credential": "The category's credential (licence number, ordination or accreditation reference, "
    "counsel's bar number); empty for an attorney (the account's bar number is the evidence).",
    "credential_issuer": "Who issued the credential (state, endorsing body, mission); empty for an attorney.",
    "decision_reason": "The approver's or the system's written reason for the decision; empty if none.",
    "station_id": "The station: its phone number in E.164, or its station id (upper-cased).",
    "live": "True while the station is privileged (not retired).",
    "registered_by": "Username of the administrator who registered it.",
    "registered_at": "When it was registered.",
    "retired_by": "Username of the administrator who retired it; null while live.",
    "retired_at": "When it was retired; null while live.",
    "retire_reason": "Why it was retired; empty while live.",
    "period_start": "First day of the report's period (the facility's local date).",
    "period_end": "Last day of the report's period (the facility's local date).",
    "generated_at": "When the report was generated.",
    "figures": "The report's figures, exactly as its signed manifest states them.",
    "pdf_sha256": "SHA-256 of the PDF, hex (also in the signed manifest).",
    "pdf_bytes": "Size of the PDF in bytes.",
    "csv_sha256": "SHA-256 of the CSV, hex (also in the signed manifest).",
    "csv_bytes": "Size of the CSV in bytes.",
    "key_id": "Fingerprint of the audit key that signed it.",
    "signature": "Ed25519 signature of the manifest, base64.",
    "downloads": "The report's files and where to download each.",
}
_PATH_ID = re.compile(r"^(\w+)_id$")


def _describe(prop: dict[str, Any], text: str) -> dict[str, Any]:
    if "$ref" in prop:  # siblings of a $ref are ignored: wrap it
        return {"allOf": [{"$ref": prop["$ref"]}], "description": text}
    return {**prop, "description": text}


def describe_from_glossary(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: fills every missing field and parameter description from GLOSSARY."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        for field, prop in (component.get("properties") or {}).items():
            text = GLOSSARY.get(f"{name}.{field}") or GLOSSARY.get(field)
            if text and not prop.get("description"):
                component["properties"][field] = _describe(prop, text)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("description"):
                    continue
                name = parameter["name"]
                match = _PATH_ID.match(name)
                if parameter.get("in") == "path" and match:
                    parameter["description"] = f"The {match.group(1).replace('_', ' ')}'s id."
                elif name in GLOSSARY:
                    parameter["description"] = GLOSSARY[name]
    return result
