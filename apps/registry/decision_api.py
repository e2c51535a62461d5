"""The switch's decision-list API (issue 11, section 2). The service is
apps/registry/decision_list.py and apps/registry/drift.py; the format is pinned in the README
("Switches: the decision list") and in the OpenAPI schema below."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.common.api import validated
from apps.facilities.models import SwitchAccount
from apps.facilities.permissions import IsSwitchAccount
from apps.registry.decision_list import FALLBACK, BadSinceError, ListRequest
from apps.registry.drift import decision_list_fetch, switch_list_held_report

FALLBACK_RULE = (
    "**Fallback (fail-safe): an unknown state means do not record.** When the switch cannot "
    "reach call setup it decides with its copy of this list: a dialed number (normalised to "
    "E.164) whose HMAC is in the list is not recorded. It must also not record *any* call when it "
    "holds no list, when its copy is past `expires_at`, when the signature does not verify with "
    "the audit public key (GET /api/v1/audit/public-key/), or when its copy after a delta does "
    "not match `count` and `entries_sha256`. The storage gate still refuses privileged audio at "
    "upload: the list is a fallback, never the final check."
)

_ERRORS = {
    400: OpenApiResponse(
        description="`reason`: `bad_since` (not a positive integer, or key_version without since or "
        "newer than since) or `unknown_version` (never published)."
    ),
    410: OpenApiResponse(description="`reason`: `full_required`: the base or key is too old for a delta."),
}


def _version_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise BadSinceError(f"{name} must be a positive integer (a published list version), not {raw!r}.")
    return int(raw)


def _switch(request: Request) -> SwitchAccount:
    user: Any = request.user  # IsSwitchAccount made sure it has one
    return user.switch_account


class DecisionListOutput(serializers.Serializer[Any]):
    """The pinned answer (README, "Switches: the decision list")."""

    format = serializers.CharField(help_text='"callplatform.decision-list/1".')
    kind = serializers.ChoiceField(choices=["full", "delta"])
    facility = serializers.CharField(help_text="The switch's facility code.")
    version = serializers.IntegerField(help_text="The version this answer brings the switch to.")
    published_at = serializers.DateTimeField()
    since = serializers.IntegerField(allow_null=True, help_text="The delta's base; null for a full list.")
    key_version = serializers.IntegerField(
        help_text="The version whose key hashed the entries: `version` for a full list, the key the "
        "switch already holds for a delta (so the delta applies to its copy without re-hashing)."
    )
    key_id = serializers.CharField(help_text="Fingerprint of the HMAC key (first 16 hex of SHA-256).")
    hash = serializers.CharField(help_text="How entries are computed: HMAC-SHA256(key, E.164), hex.")
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(
        help_text="Past this instant the switch must treat its copy as unknown (do not record)."
    )
    fallback = serializers.ChoiceField(choices=[FALLBACK], help_text=FALLBACK_RULE)
    count = serializers.IntegerField(help_text="Entries the switch's list holds at `version`.")
    entries_sha256 = serializers.CharField(
        help_text="SHA-256 of the sorted entry hashes (under key_version) joined by newlines."
    )
    signing_key_id = serializers.CharField(help_text="Which audit signing key signed (key rotation).")
    entries = serializers.ListField(child=serializers.CharField(), required=False, help_text="Full only.")
    added = serializers.ListField(child=serializers.CharField(), required=False, help_text="Delta only.")
    removed = serializers.ListField(child=serializers.CharField(), required=False, help_text="Delta only.")
    signature = serializers.CharField(
        help_text="Ed25519 (base64) over the compact, key-sorted ASCII JSON of every other field "
        "except `hmac_key`."
    )
    hmac_key = serializers.CharField(help_text="The HMAC key (base64). Keep it as secret as the token.")


class DecisionListView(APIView):
    """GET the facility's decision list: full, or a delta with ``?since=N``."""

    permission_classes = [IsSwitchAccount]

    @extend_schema(
        summary="The switch's signed decision list (full, or delta since a version)",
        description=(
            "Keyed hashes of the numbers this switch must not record (global registrations, its "
            "facility's registrations and verified inmate claims), never numbers. Each fetch "
            "publishes a new version first if the registry's covered set changed. "
            "Without `since`: the full list under this version's key. With `since=N`: what was "
            "added and removed since N, under the key of `key_version` (default N).\n\n" + FALLBACK_RULE
        ),
        parameters=[
            OpenApiParameter("since", OpenApiTypes.INT, description="The version the switch holds."),
            OpenApiParameter(
                "key_version",
                OpenApiTypes.INT,
                description="The version whose key the switch's copy is hashed under (after deltas, "
                "its last full list's version). Default: since.",
            ),
        ],
        responses={200: DecisionListOutput, **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        list_request = ListRequest(
            since=_version_param(request, "since"), key_version=_version_param(request, "key_version")
        )
        return Response(decision_list_fetch(switch=_switch(request), request=list_request))


class DecisionListHeldView(APIView):
    """POST the version the switch decides with, once installed."""

    permission_classes = [IsSwitchAccount]

    class Input(serializers.Serializer[Any]):
        version = serializers.IntegerField(min_value=1, help_text="The list version the switch now holds.")

    @extend_schema(
        summary="Report the decision-list version the switch holds",
        description=(
            "Send it after installing a list (and at least every DECISION_LIST_MAX_STALENESS). A "
            "switch whose reported version has missed a change of its list for longer than that "
            "raises the drift alarm; reporting a current version ends the episode."
        ),
        request=Input,
        responses={
            200: inline_serializer(
                "DecisionListHeld",
                {
                    "version": serializers.IntegerField(),
                    "current_version": serializers.IntegerField(),
                    "stale_since": serializers.DateTimeField(allow_null=True),
                },
            ),
            400: _ERRORS[400],
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(self.Input, request)
        report = switch_list_held_report(switch=_switch(request), version=data["version"])
        return Response(
            {
                "version": report.version,
                "current_version": report.current_version,
                "stale_since": report.stale_since,
            },
            status=status.HTTP_200_OK,
        )
