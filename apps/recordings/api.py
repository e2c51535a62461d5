"""Recordings API: the switch uploads a call's audio; staff list, read, play and stream it.
Every fetch is scoped (the switch to its own facility's calls, staff through restrict())."""

from __future__ import annotations

import io
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.actions.privilege_stop import StopResult, recording_stop_privileged
from apps.audit.scoped import get_in_scope_or_404
from apps.calls.reads import call_detail_served, call_rows_served
from apps.calls.selectors import calls_of_switch
from apps.calls.serializers import StaffCallOutput
from apps.common.api import user_of
from apps.common.errors import NotFoundError
from apps.common.querysets import Action
from apps.common.schema import ERROR_BODY, error_responses
from apps.facilities.permissions import IsSwitchAccount
from apps.recordings.errors import (
    ChecksumMismatchError,
    ChecksumRequiredError,
    EmptyRecordingError,
    IncompleteBodyError,
    InvalidChecksumHeaderError,
    InvalidContentLengthError,
    PrivilegedCallError,
    RecordingExistsError,
    RecordingTooLargeError,
    StorageUnavailableError,
    UnsupportedAudioTypeError,
)
from apps.recordings.models import Recording
from apps.recordings.playback import parse_range, playback_link_issue, recording_stream, stream_cookie_name
from apps.recordings.selectors import DISPLAY_RELATED, recordings_for, stoppable_by
from apps.recordings.services import recording_store


class RecordingOutput(serializers.ModelSerializer[Recording]):
    call = StaffCallOutput()

    class Meta:
        model = Recording
        fields = [
            "id",
            "call",
            "state",
            "size_bytes",
            "sha256",
            "content_type",
            "created_at",
            "retention_until",
        ]


class RecordingCursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _viewable(request: Request) -> Any:
    return recordings_for(user_of(request), Action.VIEW)


class RecordingListView(APIView):
    @extend_schema(
        summary="List recordings you may see (or play)",
        responses={200: RecordingOutput(many=True)},
        parameters=[OpenApiParameter("playable", bool, description="only what the caller may play")],
    )
    def get(self, request: Request) -> Response:
        paginator = RecordingCursor()
        user = user_of(request)
        action = Action.PLAY if request.query_params.get("playable") in {"1", "true"} else Action.VIEW
        # Two steps: the page of ids from the scope indexes alone (index-only), then the rows.
        ids = (
            paginator.paginate_queryset(
                Recording.objects.restrict(user, action).only("id"), request, view=self
            )
            or []
        )
        rows = Recording.objects.select_related(*DISPLAY_RELATED).in_bulk([r.pk for r in ids])
        page = [rows[r.pk] for r in ids]
        call_rows_served(
            user=user,
            action="recordings.listed",
            calls=[recording.call for recording in page],
            recording_ids=[recording.pk for recording in page],
            filters={"playable": action == "play"},
        )
        data = RecordingOutput(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class RecordingDetailView(APIView):
    @extend_schema(summary="Read one recording's metadata", responses={200: RecordingOutput})
    def get(self, request: Request, recording_id: int) -> Response:
        user = user_of(request)
        recording = get_in_scope_or_404(_viewable(request), recording_id, actor=user, action="recording.view")
        call_detail_served(user=user, action="recording.viewed", call=recording.call, recording=recording)
        return Response(RecordingOutput(recording, context={"request": request}).data)


class PlaybackView(APIView):
    @extend_schema(
        summary="Issue a short-lived playback link (counted against your quota)",
        request=None,
        responses={
            200: inline_serializer(
                "PlaybackLink", {"url": serializers.CharField(), "expires_at": serializers.DateTimeField()}
            ),
            **error_responses(NotFoundError),
            # The access app's QuotaExceededError (not imported here: access sits above us).
            429: OpenApiResponse(
                response=ERROR_BODY, description="`reason`: `quota_exceeded`: over the playback quota."
            ),
        },
    )
    def post(self, request: Request, recording_id: int) -> Response:
        user = user_of(request)
        playable = Recording.objects.restrict(user, Action.PLAY).select_related("call")
        recording = get_in_scope_or_404(playable, recording_id, actor=user, action="recording.play")
        link = playback_link_issue(user=user, recording=recording)
        return Response({"url": request.build_absolute_uri(link.url), "expires_at": link.expires_at})


class StreamView(APIView):
    """The target of a playback link: authenticated as the same user, re-checked every time."""

    @extend_schema(
        summary="Stream a recording's audio through a playback link (Range supported)",
        responses={(200, "audio/*"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, recording_id: int) -> StreamingHttpResponse:
        user = user_of(request)
        playable = Recording.objects.restrict(user, Action.PLAY).select_related("call")
        recording = get_in_scope_or_404(playable, recording_id, actor=user, action="recording.stream")
        byte_range = parse_range(request.headers.get("Range"), recording.size_bytes)
        chunks, granted = recording_stream(
            user=user,
            recording=recording,
            token=request.query_params.get("t", ""),
            cookie=request.COOKIES.get(stream_cookie_name(recording.pk), ""),
            byte_range=byte_range,
        )
        response = StreamingHttpResponse(
            chunks, content_type=recording.content_type, status=206 if byte_range else 200
        )
        if granted.cookie_value is not None:
            # The spent link's stand-in for the player's next Range requests: this path only.
            response.set_cookie(
                granted.cookie_name,
                granted.cookie_value,
                max_age=granted.max_age,
                path=request.path,
                secure=request.is_secure(),
                httponly=True,
                samesite="Strict",
            )
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "no-store"
        response["Content-Disposition"] = "inline"
        if byte_range:
            first, last = byte_range
            response["Content-Range"] = f"bytes {first}-{last}/{recording.size_bytes}"
            response["Content-Length"] = str(last - first + 1)
        else:
            response["Content-Length"] = str(recording.size_bytes)
        return response


def stop_output(result: StopResult) -> dict[str, Any]:
    press = result.press
    return {
        "recording": press.recording_id,
        "state": "quarantined",
        "hold": press.hold_id,
        "pressed_by": press.pressed_by.get_username(),
        "pressed_at": press.pressed_at,
        "heard": {
            "bytes_served": press.bytes_served,
            "bytes_heard": press.bytes_heard,
            "seconds_heard": press.seconds_heard,
            "listeners": press.listeners,
        },
        "exports_pulled": press.exports_pulled,
        "exports_already_downloaded": press.exports_already_downloaded,
        "officers_notified": press.officers_notified,
        "repeated": not result.created,
    }


class StopPrivilegedView(APIView):
    """ "This sounds privileged - stop" (apps.actions.privilege_stop): for anyone who may play
    the recording; 200 with what the stop did (again, unchanged, on a second press)."""

    @extend_schema(
        summary='"This sounds privileged - stop": quarantine the recording',
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, recording_id: int) -> Response:
        user = user_of(request)
        recording = get_in_scope_or_404(
            stoppable_by(user), recording_id, actor=user, action="recording.stop_privileged"
        )
        return Response(stop_output(recording_stop_privileged(user=user, recording=recording)))


class RecordingUploadView(APIView):
    """PUT raw audio with its Content-SHA256. The body is read only after the privilege gate
    has let the call pass; a body shorter than Content-Length is refused (nothing stored)."""

    permission_classes = [IsSwitchAccount]

    @extend_schema(
        summary="Switch: upload a call's audio (refused if the call is privileged)",
        description=(
            "Send the raw audio as the body with `Content-Type: audio/*` and `Content-SHA256`. "
            "The privilege gate runs before a byte is read: audio of a privileged call is refused "
            "(403 `privileged`) and nothing is stored, whatever the number's format."
        ),
        request={"audio/*": OpenApiTypes.BINARY},
        responses={
            201: inline_serializer(
                "StoredRecording",
                {
                    "id": serializers.IntegerField(help_text="The recording's id."),
                    "call": serializers.IntegerField(help_text="The call's id."),
                    "size_bytes": serializers.IntegerField(help_text="Bytes stored (before encryption)."),
                    "sha256": serializers.CharField(help_text="SHA-256 of the audio, hex (as sent)."),
                    "state": serializers.CharField(help_text="`stored`."),
                },
            ),
            **error_responses(
                ChecksumRequiredError,
                InvalidChecksumHeaderError,
                ChecksumMismatchError,
                EmptyRecordingError,
                IncompleteBodyError,
                InvalidContentLengthError,
                PrivilegedCallError,
                NotFoundError,
                RecordingExistsError,
                RecordingTooLargeError,
                UnsupportedAudioTypeError,
                StorageUnavailableError,
            ),
        },
        parameters=[
            OpenApiParameter(
                "Content-SHA256",
                str,
                location=OpenApiParameter.HEADER,
                required=True,
                description="hex SHA-256 of the audio; the body must also be as long as Content-Length",
            )
        ],
    )
    def put(self, request: Request, call_id: int) -> Response:
        user = user_of(request)
        call = get_in_scope_or_404(calls_of_switch(user), call_id, actor=user, action="recording.upload")
        stream = request.stream
        recording = recording_store(
            call=call,
            body=stream if stream is not None else io.BytesIO(),
            content_type=request.content_type or "",
            content_length=_content_length(request),
            expected_sha256=_content_sha256(request),
            actor=user,
        )
        return Response(
            {
                "id": recording.pk,
                "call": call.pk,
                "size_bytes": recording.size_bytes,
                "sha256": recording.sha256,
                "state": recording.state,
            },
            status=status.HTTP_201_CREATED,
        )


def _content_sha256(request: Request) -> str:
    """Required from switches: the digest the switch's own recorder computed is what we store
    and verify on every read, so a truncated or altered upload can never be stored as whole,
    whatever the transfer framing (Content-Length or chunked)."""
    value = request.headers.get("Content-SHA256")
    if not value:
        raise ChecksumRequiredError()
    return value


def _content_length(request: Request) -> int | None:
    raw = request.META.get("CONTENT_LENGTH") or ""
    if raw == "":
        return None
    if not raw.isdigit():
        raise InvalidContentLengthError()
    return int(raw)
