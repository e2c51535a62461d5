"""Staff API for inmates and investigator grants."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.actions.staff import grant_revoke
from apps.audit.paging import audited_page
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.api import user_of, validated
from apps.common.querysets import Action
from apps.inmates.models import Inmate, InmateUserObjectPermission
from apps.inmates.selectors import grants_managed_by, grants_visible_to, inmates_matching, inmates_visible_to
from apps.inmates.services import grant_investigator_find, inmate_grant_create


class InmateOutput(serializers.ModelSerializer[Inmate]):
    facility = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = Inmate
        fields = ["id", "facility", "booking_number", "first_name", "last_name"]


class GrantOutput(serializers.ModelSerializer[InmateUserObjectPermission]):
    investigator = serializers.CharField(source="user.username")
    inmate = InmateOutput(source="content_object")
    granted_by = serializers.CharField(source="granted_by.username", default=None)

    class Meta:
        model = InmateUserObjectPermission
        fields = ["id", "investigator", "inmate", "case_reference", "granted_by", "expires_at", "created_at"]


class InmateListView(APIView):
    @extend_schema(
        summary="List or search inmates you may see",
        responses={200: InmateOutput(many=True)},
        parameters=[OpenApiParameter("q", str)],
    )
    def get(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()[:64]
        inmates = inmates_matching(inmates_visible_to(user_of(request)), query)
        return audited_page(
            request, self, inmates, InmateOutput, action="inmates.listed", filters={"q": query}
        )


class InmateDetailView(APIView):
    @extend_schema(summary="Read one inmate", responses={200: InmateOutput})
    def get(self, request: Request, inmate_id: int) -> Response:
        user = user_of(request)
        inmate = get_in_scope_or_404(inmates_visible_to(user), inmate_id, actor=user, action="inmate.view")
        with transaction.atomic():
            record_event(action="inmate.viewed", actor=user, target=inmate, facility_id=inmate.facility_id)
        return Response(InmateOutput(inmate).data)


class GrantListView(APIView):
    class Input(serializers.Serializer[Any]):
        # A plain username: the service answers alike for unknown, suspended and foreign ones.
        investigator = serializers.CharField(max_length=150)
        inmate = serializers.IntegerField(min_value=1)
        case_reference = serializers.CharField(max_length=64)
        expires_at = serializers.DateTimeField()

    @extend_schema(
        summary="List investigator grants you may see",
        responses={200: GrantOutput(many=True)},
        parameters=[OpenApiParameter("investigator", str)],
    )
    def get(self, request: Request) -> Response:
        grants = grants_visible_to(user_of(request)).order_by("-created_at", "-id")
        investigator = request.query_params.get("investigator")
        if investigator:
            grants = grants.filter(user__username=investigator)
        filters = {"investigator": investigator}
        return audited_page(request, self, grants, GrantOutput, action="grants.listed", filters=filters)

    @extend_schema(
        summary="Grant an investigator access to an inmate's recordings for a case",
        request=Input,
        responses={201: GrantOutput},
    )
    def post(self, request: Request) -> Response:
        user = user_of(request)
        data = validated(self.Input, request)
        managed = Inmate.objects.restrict(user, Action.MANAGE)
        inmate = get_in_scope_or_404(managed, data["inmate"], actor=user, action="grant.create")
        investigator = grant_investigator_find(granted_by=user, inmate=inmate, username=data["investigator"])
        grant = inmate_grant_create(
            granted_by=user,
            investigator=investigator,
            inmate=inmate,
            case_reference=data["case_reference"],
            expires_at=data["expires_at"],
        )
        return Response(GrantOutput(grant).data, status=status.HTTP_201_CREATED)


class GrantDetailView(APIView):
    @extend_schema(summary="Revoke an investigator grant", responses={204: None})
    def delete(self, request: Request, grant_id: int) -> Response:
        user = user_of(request)
        grant = get_in_scope_or_404(grants_managed_by(user), grant_id, actor=user, action="grant.revoke")
        grant_revoke(grant=grant, revoked_by=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
