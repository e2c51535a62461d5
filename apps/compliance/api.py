"""Auditor API: list compliance reports, read one, download its files (each read audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.services import record_event
from apps.common.api import Pagination, user_of
from apps.compliance.models import ComplianceReport
from apps.compliance.selectors import report_get, reports_for, reports_listed
from apps.compliance.services import PARTS, report_file_read


class ComplianceReportOutput(serializers.ModelSerializer[ComplianceReport]):
    facility = serializers.CharField(source="facility.code", read_only=True)
    generated_by = serializers.SerializerMethodField()
    downloads = serializers.SerializerMethodField()

    class Meta:
        model = ComplianceReport
        fields = [
            "id",
            "facility",
            "period_start",
            "period_end",
            "status",
            "progress",
            "generated_at",
            "generated_by",
            "figures",
            "pdf_sha256",
            "pdf_bytes",
            "csv_sha256",
            "csv_bytes",
            "key_id",
            "signature",
            "downloads",
        ]

    def get_generated_by(self, report: ComplianceReport) -> str | None:
        """The auditor who asked for it; null: the schedule."""
        return report.generated_by.get_username() if report.generated_by else None

    def get_downloads(self, report: ComplianceReport) -> list[str]:
        return list(PARTS)


class ComplianceReportPage(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ComplianceReportOutput(many=True)


class ComplianceReportsView(APIView):
    @extend_schema(
        operation_id="compliance_reports_list",
        summary="Auditor: list compliance reports",
        parameters=[
            OpenApiParameter("page", int, description="The page to return (from 1)."),
            OpenApiParameter("page_size", int, description="Reports per page."),
        ],
        responses={200: ComplianceReportPage, 404: OpenApiTypes.OBJECT},
        description="The reports of the facilities the auditor audits, newest period first (paginated). "
        "Anyone but an auditor: 404, and the attempt is in the audit trail.",
    )
    def get(self, request: Request) -> Response:
        user = user_of(request)
        paginator = Pagination()
        page = paginator.paginate_queryset(reports_for(user, via="api"), request, view=self) or []
        reports_listed(user, via="api", ids=[report.pk for report in page])
        return paginator.get_paginated_response(ComplianceReportOutput(page, many=True).data)


class ComplianceReportDetailView(APIView):
    @extend_schema(
        summary="Auditor: one compliance report's figures and hashes",
        responses={200: ComplianceReportOutput, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, report_id: int) -> Response:
        user = user_of(request)
        report = report_get(user, report_id, attempted="compliance_report.view")
        with transaction.atomic():
            record_event(
                action="compliance_report.viewed", actor=user, target=report, facility_id=report.facility_id
            )
        return Response(ComplianceReportOutput(report).data)


class ComplianceReportDownloadView(APIView):
    @extend_schema(
        summary="Auditor: download one file of a compliance report",
        parameters=[
            OpenApiParameter(
                "part", str, OpenApiParameter.PATH, enum=list(PARTS), description="Which file of the report."
            )
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            400: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
            409: OpenApiTypes.OBJECT,
        },
        description="One file of a report: pdf, csv, manifest, signature, or bundle (a zip of the four, "
        "what `manage.py verify_compliance_report` checks offline).",
    )
    def get(self, request: Request, report_id: int, part: str) -> Any:
        user = user_of(request)
        report = report_get(user, report_id, attempted="compliance_report.download")
        data, name, content_type = report_file_read(report=report, part=part, actor=user, via="api")
        return _attachment(data, name, content_type)


def _attachment(data: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
