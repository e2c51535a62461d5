"""Admin API for privileged stations (issue 11, section 6): list, register, retire.

Only users who manage a facility reach its stations: the list is ``restrict(user, manage)``;
a register naming, or a retire reaching, a facility or station outside that scope answers the
same audited 404 as a missing one. Registering goes through apps.actions.stations (it also
quarantines audio already stored from the station).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.actions.stations import station_register, station_retire
from apps.audit.paging import audited_page
from apps.audit.scoped import get_in_scope_or_404
from apps.common.api import user_of, validated
from apps.common.querysets import Action
from apps.facilities.models import Facility, PrivilegedStation


class StationOutput(serializers.ModelSerializer[PrivilegedStation]):
    facility = serializers.SlugRelatedField(slug_field="code", read_only=True)  # type: ignore[var-annotated]
    registered_by = serializers.CharField(source="registered_by.username")
    retired_by = serializers.CharField(source="retired_by.username", default=None)
    live = serializers.BooleanField(read_only=True)

    class Meta:
        model = PrivilegedStation
        fields = [
            "id",
            "facility",
            "station_id",
            "label",
            "live",
            "registered_by",
            "registered_at",
            "retired_by",
            "retired_at",
            "retire_reason",
        ]


class StationRegisterOutput(StationOutput):
    quarantined = serializers.IntegerField(
        read_only=True, help_text="Recordings already stored from the station, now held for review."
    )

    class Meta(StationOutput.Meta):
        fields = [*StationOutput.Meta.fields, "quarantined"]


def _managed(request: Request) -> QuerySet[PrivilegedStation]:
    return PrivilegedStation.objects.restrict(user_of(request), Action.MANAGE).select_related(
        "facility", "registered_by", "retired_by"
    )


class StationListView(APIView):
    class Input(serializers.Serializer[Any]):
        facility = serializers.IntegerField(min_value=1)
        station = serializers.CharField(
            max_length=64,
            help_text="The station's phone number (any format of the facility's region) or its station id.",
        )
        label = serializers.CharField(  # type: ignore[assignment]
            max_length=100, help_text="What the station is, e.g. 'Attorney booth 1'."
        )

    @extend_schema(
        summary="Admin: list the privileged stations of the facilities one manages",
        responses={200: StationOutput(many=True)},
        parameters=[OpenApiParameter("live", bool, description="Only live (true) or retired (false).")],
    )
    def get(self, request: Request) -> Response:
        stations = _managed(request).order_by("facility__code", "station_id", "-registered_at", "-id")
        live = request.query_params.get("live")
        if live in ("true", "false"):
            stations = stations.filter(retired_at__isnull=live == "true")
        return audited_page(
            request, self, stations, StationOutput, action="stations.listed", filters={"live": live}
        )

    @extend_schema(
        summary="Admin: register a privileged station (calls from it are never recorded)",
        request=Input,
        responses={201: StationRegisterOutput},
    )
    def post(self, request: Request) -> Response:
        user = user_of(request)
        data = validated(self.Input, request)
        facilities = Facility.objects.restrict(user, Action.MANAGE)
        facility = get_in_scope_or_404(facilities, data["facility"], actor=user, action="station.register")
        registered, quarantined = station_register(
            facility=facility, station=data["station"], label=data["label"], actor=user
        )
        registered.quarantined = quarantined  # type: ignore[attr-defined]
        return Response(StationRegisterOutput(registered).data, status=status.HTTP_201_CREATED)


class StationRetireView(APIView):
    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=500, help_text="Why the station is no longer privileged.")

    @extend_schema(
        summary="Admin: retire a privileged station", request=Input, responses={200: StationOutput}
    )
    def post(self, request: Request, station_id: int) -> Response:
        user = user_of(request)
        data = validated(self.Input, request)
        station = get_in_scope_or_404(_managed(request), station_id, actor=user, action="station.retire")
        return Response(
            StationOutput(station_retire(station=station, reason=data["reason"], actor=user)).data
        )
