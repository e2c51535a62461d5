"""Export requests (two-person rule) and suspension lifting."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access import exports
from apps.access.models import ExportRequest
from apps.access.selectors import exports_visible_to, suspensions_liftable_by
from apps.access.suspensions import suspension_lift
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.common.api import Pagination, user_of, validated


class ExportOutput(serializers.ModelSerializer[ExportRequest]):
    requested_by = serializers.CharField(source="requested_by.username")
    approved_by = serializers.CharField(source="approved_by.username", default=None)
    recording_ids = serializers.SerializerMethodField()

    class Meta:
        model = ExportRequest
        fields = [
            "id",
            "status",
            "case_reference",
            "justification",
            "requested_by",
            "approved_by",
            "approved_at",
            "decision_reason",
            "progress",
            "recording_ids",
            "package_sha256",
            "package_size",
            "download_expires_at",
            "downloaded_at",
            "created_at",
        ]

    def get_recording_ids(self, export: ExportRequest) -> list[int]:
        return sorted(item.recording_id for item in export.items.all())


def _visible_exports(request: Request) -> QuerySet[ExportRequest]:
    return exports_visible_to(user_of(request))


class ExportListView(APIView):
    class Input(serializers.Serializer[Any]):
        recording_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000
        )
        case_reference = serializers.CharField(max_length=64)
        justification = serializers.CharField(max_length=2000)

    @extend_schema(
        summary="List export requests you made or may approve", responses={200: ExportOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(_visible_exports(request), request, view=self) or []
        page_read_record(actor=user_of(request), action="exports.listed", rows=len(page))
        return paginator.get_paginated_response(ExportOutput(page, many=True).data)

    @extend_schema(
        summary="Request an export of recordings (needs a second person's approval)",
        request=Input,
        responses={201: ExportOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.Input, request)
        export = exports.export_request_create(
            user=user_of(request),
            recording_ids=data["recording_ids"],
            case_reference=data["case_reference"],
            justification=data["justification"],
        )
        return Response(ExportOutput(export).data, status=status.HTTP_201_CREATED)


class ExportDetailView(APIView):
    @extend_schema(summary="Read one export request", responses={200: ExportOutput})
    def get(self, request: Request, export_id: int) -> Response:
        export = get_in_scope_or_404(
            _visible_exports(request), export_id, actor=user_of(request), action="export.view"
        )
        return Response(ExportOutput(export).data)


class ExportApproveView(APIView):
    @extend_schema(
        summary="Approve another user's export request", request=None, responses={200: ExportOutput}
    )
    def post(self, request: Request, export_id: int) -> Response:
        user = user_of(request)
        export = get_in_scope_or_404(
            _visible_exports(request), export_id, actor=user, action="export.approve"
        )
        export = exports.export_request_approve(export=export, approver=user)
        export.refresh_from_db()
        return Response(ExportOutput(export).data)


class ExportRejectView(APIView):
    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(
            max_length=2000, help_text="Why the export is rejected; the requester reads it."
        )

    @extend_schema(
        summary="Reject a pending export request (a second person, with a written reason)",
        request=Input,
        responses={200: ExportOutput},
    )
    def post(self, request: Request, export_id: int) -> Response:
        user = user_of(request)
        data = validated(self.Input, request)
        export = get_in_scope_or_404(_visible_exports(request), export_id, actor=user, action="export.reject")
        export = exports.export_request_reject(export=export, approver=user, reason=data["reason"])
        export.refresh_from_db()
        return Response(ExportOutput(export).data)


class ExportDownloadView(APIView):
    @extend_schema(
        summary="Download an approved export package (requester only)",
        responses={(200, "application/zip"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, export_id: int) -> StreamingHttpResponse:
        user = user_of(request)
        export = get_in_scope_or_404(
            ExportRequest.objects.filter(requested_by=user), export_id, actor=user, action="export.download"
        )
        chunks = exports.export_download(export=export, user=user)
        response = StreamingHttpResponse(chunks, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="export-{export.pk}.zip"'
        response["X-Content-SHA256"] = export.package_sha256
        response["Cache-Control"] = "no-store"
        return response


class SuspensionLiftView(APIView):
    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        summary="Lift a user's suspension, with a written reason",
        request=Input,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, suspension_id: int) -> Response:
        user = user_of(request)
        data = validated(self.Input, request)
        suspension = get_in_scope_or_404(
            suspensions_liftable_by(user), suspension_id, actor=user, action="suspension.lift"
        )
        suspension = suspension_lift(suspension=suspension, lifted_by=user, reason=data["reason"])
        return Response(
            {
                "id": suspension.pk,
                "user": suspension.user.get_username(),
                "lifted_at": suspension.lifted_at,
                "lift_reason": suspension.lift_reason,
            }
        )
