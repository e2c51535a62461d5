"""Auditor API: read the trail (each read is itself audited), request and fetch exports."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import FileResponse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit import exports, signing
from apps.audit.models import AuditEvent, AuditExport, ExportStatus
from apps.audit.permissions import CanExportAuditTrail, CanViewAuditTrail
from apps.audit.references import refs_in, revealed_values
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.selectors import events_filtered
from apps.audit.services import record_event
from apps.common.api import Pagination, user_of, validated


class FiltersInput(serializers.Serializer[Any]):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    facility_id = serializers.IntegerField(required=False, min_value=1)
    actor = serializers.CharField(required=False, max_length=150)
    action = serializers.CharField(required=False, max_length=64)


class EventOutput(serializers.ModelSerializer[AuditEvent]):
    # The clear values behind the event's keyed references: only for registry clerks and
    # privilege officers (an empty object for everyone else). Not part of the hashed event.
    revealed = serializers.SerializerMethodField()

    def get_revealed(self, event: AuditEvent) -> dict[str, str]:
        revealed: dict[str, str] = self.context.get("revealed", {})
        return {ref: revealed[ref] for ref in sorted(refs_in([event.details])) if ref in revealed}

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "sequence",
            "created_at",
            "actor_id",
            "actor_label",
            "action",
            "outcome",
            "target_type",
            "target_id",
            "facility_id",
            "client_ip",
            "request_id",
            "details",
            "prev_hash",
            "hash",
            "sealed_at",
            "revealed",
        ]


class AuditExportOutput(serializers.ModelSerializer[AuditExport]):
    progress = serializers.FloatField(read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)

    class Meta:
        model = AuditExport
        fields = [
            "id",
            "status",
            "progress",
            "total",
            "written",
            "filters",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "size_bytes",
            "sha256",
            "error",
        ]


class AuditEventsView(APIView):
    permission_classes = [CanViewAuditTrail]

    @extend_schema(
        summary="Auditor: list audit events (filtered)",
        parameters=[FiltersInput],
        responses={200: EventOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = FiltersInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = Pagination()
        with transaction.atomic():
            page = paginator.paginate_queryset(
                events_filtered(filters.validated_data).order_by("-id"), request, view=self
            )
            rows = page or []
            revealed = revealed_values(user_of(request), refs_in(row.details for row in rows))
            record_event(
                action="audit.events_read",
                actor=user_of(request),
                details={
                    "filters": exports.serialize_filters(dict(filters.validated_data)),
                    "page": request.query_params.get("page", "1"),
                    "returned": len(rows),
                    "first_id": rows[0].pk if rows else None,
                    "last_id": rows[-1].pk if rows else None,
                    "revealed": len(revealed),
                },
            )
        output = EventOutput(rows, many=True, context={"revealed": revealed})
        return paginator.get_paginated_response(output.data)


class AuditExportsView(APIView):
    permission_classes = [CanExportAuditTrail]

    @extend_schema(
        summary="Auditor: start an audit-trail export (background job)",
        request=FiltersInput,
        responses={202: AuditExportOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(FiltersInput, request)
        export = exports.audit_export_request(requested_by=user_of(request), filters=data)
        export.refresh_from_db()
        return Response(AuditExportOutput(export).data, status=status.HTTP_202_ACCEPTED)


def _own_exports(request: Request) -> Any:
    """An export is reachable by the auditor who requested it only (others: 404, I2)."""
    return AuditExport.objects.filter(requested_by=user_of(request)).select_related("requested_by")


class AuditExportDetailView(APIView):
    permission_classes = [CanExportAuditTrail]

    @extend_schema(summary="Auditor: read an audit export's progress", responses={200: AuditExportOutput})
    def get(self, request: Request, export_id: int) -> Response:
        export = get_in_scope_or_404(
            _own_exports(request), export_id, actor=user_of(request), action="audit.export_view"
        )
        return Response(AuditExportOutput(export).data)


class AuditExportDownloadView(APIView):
    permission_classes = [CanExportAuditTrail]

    @extend_schema(
        summary="Auditor: download a finished audit export (ZIP with signed manifest)",
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 409: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, export_id: int) -> Any:
        export = get_in_scope_or_404(
            _own_exports(request), export_id, actor=user_of(request), action="audit.export_download"
        )
        path = exports.export_path(export)
        if export.status != ExportStatus.DONE or not export.file_name or not path.is_file():
            return Response(
                {"reason": "export_not_ready", "detail": f"The export is {export.status}."},
                status=status.HTTP_409_CONFLICT,
            )
        handle = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
        with transaction.atomic():
            record_event(
                action="audit.export_downloaded",
                actor=user_of(request),
                target=export,
                details={"sha256": export.sha256, "size_bytes": export.size_bytes},
            )
        response = FileResponse(
            handle, as_attachment=True, filename=export.file_name, content_type="application/zip"
        )
        response["X-Content-SHA256"] = export.sha256
        return response


class AuditPublicKeyView(APIView):
    """The checkpoint and export verification key. Public by nature, so open to anyone."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        summary="The public key that verifies audit checkpoints and export manifests",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        public = signing.public_key_bytes()
        return Response(
            {"algorithm": "Ed25519", "public_key": signing.public_key_b64(), "key_id": signing.key_id(public)}
        )
