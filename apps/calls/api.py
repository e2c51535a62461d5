"""Call API: the switch sets up and ends calls; staff search, download and read call metadata.
Thin: parse, call a service or selector, answer. (The recording upload is apps.recordings.api.)"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.scoped import get_in_scope_or_404
from apps.calls import services
from apps.calls.downloads import FORMATS, attachment_response, call_download
from apps.calls.errors import (
    CallConflictError,
    InvalidCallEndError,
    PromptVersionError,
    UnknownInmateError,
    UnknownPromptError,
)
from apps.calls.models import Call
from apps.calls.reads import call_detail_served, call_rows_served
from apps.calls.selectors import CallSearch, calls_of_switch, calls_visible_to, search_calls
from apps.calls.serializers import StaffCallOutput
from apps.common.api import Pagination, user_of, validated, validated_query
from apps.common.errors import InvalidPhoneNumberError, NotFoundError
from apps.common.schema import error_responses
from apps.common.visibility import can_see_privileged_details
from apps.facilities.models import PromptKind
from apps.facilities.permissions import IsSwitchAccount, switch_facility

_SAFE_ID = r"^[A-Za-z0-9._:-]+$"
SEARCH_PARAMETERS = [
    OpenApiParameter("inmate", str),
    OpenApiParameter("facility", str),
    OpenApiParameter("number", str),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
]


class PromptOutput(serializers.Serializer[Any]):
    """The prompt the switch must play before connecting (issue 11, section 7)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=PromptKind.choices)
    version = serializers.IntegerField()


class PromptPlayedInput(serializers.Serializer[Any]):
    """What the switch played: the id and version call setup named (or another, reported as is)."""

    id = serializers.IntegerField(min_value=1)
    version = serializers.IntegerField(min_value=1)


class CallOutput(serializers.Serializer[Call]):
    id = serializers.IntegerField()
    record = serializers.SerializerMethodField()
    privileged = serializers.BooleanField()
    reason = serializers.CharField(
        help_text=(
            "Why: `verified_attorney_number`, `verified_inmate_claim`, `privileged_station`, "
            "`inmate_do_not_record` (the most restrictive rule wins, the number's first), "
            "`pending_inmate_claim` or `not_exempt`."
        )
    )
    prompt = PromptOutput(
        allow_null=True,
        help_text=(
            "Play this prompt before connecting: the recording notice when `record` is true, the "
            "private-call notice when it is false. Report it back in `prompt_played` at the end. "
            "Null only for calls set up before prompts existed."
        ),
    )

    def get_record(self, call: Call) -> bool:
        return call.decision == "record" and not call.privileged


def _switch_call(request: Request, call_id: int, action: str) -> Call:
    return get_in_scope_or_404(calls_of_switch(request.user), call_id, actor=user_of(request), action=action)


def _staff_calls(request: Request) -> QuerySet[Call]:
    return calls_visible_to(user_of(request))


class CallSetupView(APIView):
    """GET: staff search call metadata (scoped). POST: the switch sets up a call."""

    def get_permissions(self) -> list[Any]:
        if self.request.method == "POST":
            return [IsSwitchAccount()]
        return [IsAuthenticated()]

    @extend_schema(
        summary="Search call records you may see (metered, audited)",
        responses={200: StaffCallOutput(many=True)},
        parameters=SEARCH_PARAMETERS,
    )
    def get(self, request: Request) -> Response:
        filters = validated_query(CallSearch, request)
        unmasked = can_see_privileged_details(request.user)
        calls = search_calls(_staff_calls(request), **filters, unmasked=unmasked)
        paginator = Pagination()
        page = paginator.paginate_queryset(calls, request, view=self)
        call_rows_served(user=user_of(request), action="calls.searched", calls=page or [], filters=filters)
        return paginator.get_paginated_response(
            StaffCallOutput(page, many=True, context={"request": request, "unmasked": unmasked}).data
        )

    class Input(serializers.Serializer[Any]):
        switch_call_id = serializers.RegexField(_SAFE_ID, max_length=64)
        inmate = serializers.CharField(max_length=32)
        dialed_number = serializers.CharField(max_length=40)
        started_at = serializers.DateTimeField()
        station = serializers.CharField(
            max_length=64,
            required=False,
            allow_blank=True,
            default="",
            help_text=(
                "The phone or station the call is placed from: its phone number in any format the "
                "facility's region reads (normalised to E.164), or an opaque station id of 1 to 64 "
                "letters, digits, '.', '_', ':' or '-' (case-insensitive). A call from a station the "
                "facility registered as privileged (an attorney booth, a visit room) is not recorded, "
                "whatever number it dials (reason `privileged_station`). Omit it if the switch "
                "cannot tell; an unreadable station is a 400 with reason `invalid_station`."
            ),
        )

    @extend_schema(
        summary="Switch: set up a call and get the record/exempt decision",
        request=Input,
        responses={
            201: CallOutput,
            200: CallOutput,
            **error_responses(UnknownInmateError, InvalidPhoneNumberError, CallConflictError),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(self.Input, request)
        call, created = services.call_setup(
            facility=switch_facility(request.user),
            switch_call_id=data["switch_call_id"],
            booking_number=data["inmate"],
            dialed_number=data["dialed_number"],
            started_at=data["started_at"],
            actor=user_of(request),
            station=data["station"],
        )
        return Response(
            CallOutput(call).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class CallDownloadView(APIView):
    """GET: the caller's scoped, filtered call list as one CSV or JSON file (metered, audited)."""

    class Query(CallSearch):
        file_format = serializers.ChoiceField(choices=sorted(FORMATS), default="csv")

    @extend_schema(
        summary="Download your filtered call records as CSV or JSON",
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, "application/json"): OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("file_format", str, enum=sorted(FORMATS)),
            *SEARCH_PARAMETERS,
        ],
    )
    def get(self, request: Request) -> HttpResponse:
        query = validated_query(self.Query, request)
        file_format = query.pop("file_format")
        unmasked = can_see_privileged_details(request.user)
        download = call_download(
            user=user_of(request),
            calls=search_calls(_staff_calls(request), **query, unmasked=unmasked),
            file_format=file_format,
            filters={k: str(v) for k, v in query.items() if v},
            unmasked=unmasked,
        )
        return attachment_response(download)


class CallDetailView(APIView):
    @extend_schema(summary="Read one call record", responses={200: StaffCallOutput})
    def get(self, request: Request, call_id: int) -> Response:
        user = user_of(request)
        call = get_in_scope_or_404(_staff_calls(request), call_id, actor=user, action="call.view")
        call_detail_served(user=user, action="call.viewed", call=call)
        return Response(StaffCallOutput(call, context={"request": request}).data)


class CallEndView(APIView):
    permission_classes = [IsSwitchAccount]

    class Input(serializers.Serializer[Any]):
        ended_at = serializers.DateTimeField()
        # Optional so that switches older than prompts can still end calls (an unended call
        # loses its duration, which is worse than an unreported prompt); absent or null is
        # stored as "not reported" and said so in the call.end event.
        prompt_played = PromptPlayedInput(required=False, allow_null=True)

    @extend_schema(
        summary="Switch: end a call and report the prompt played",
        request=Input,
        responses={
            200: CallOutput,
            **error_responses(
                InvalidCallEndError, UnknownPromptError, PromptVersionError, NotFoundError, CallConflictError
            ),
        },
    )
    def post(self, request: Request, call_id: int) -> Response:
        data = validated(self.Input, request)
        call = _switch_call(request, call_id, "call.end")
        played = data.get("prompt_played")
        call = services.call_end(
            call=call,
            ended_at=data["ended_at"],
            actor=user_of(request),
            prompt_played=services.PromptReport(**played) if played else None,
        )
        return Response(CallOutput(call).data)
