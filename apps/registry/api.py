"""Registry API: attorneys manage their own numbers; clerks decide them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.actions import registry as registry_actions
from apps.audit.paging import audited_page
from apps.audit.scoped import get_in_scope_or_404
from apps.common.api import user_of, validated
from apps.common.errors import NotFoundError
from apps.facilities.models import Facility
from apps.facilities.permissions import IsSwitchAccount, switch_facility
from apps.registry import services
from apps.registry.claims import claim_report
from apps.registry.models import ExemptNumber, ExemptStatus, InmateClaim, RegistrationCategory
from apps.registry.permissions import IsAttorney, IsRegistryClerk
from apps.registry.selectors import numbers_of


class ExemptNumberOutput(serializers.ModelSerializer[ExemptNumber]):
    facility: serializers.SlugRelatedField[Facility] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )

    class Meta:
        model = ExemptNumber
        fields = [
            "id",
            "number",
            "label",
            "category",
            "credential",
            "credential_issuer",
            "status",
            "facility",
            "effective_from",
            "effective_until",
            "verified_at",
            "renewal_requested_at",
            "decided_reason",
            "created_at",
        ]


class ClerkExemptNumberOutput(ExemptNumberOutput):
    attorney: serializers.StringRelatedField[Any] = serializers.StringRelatedField()

    class Meta(ExemptNumberOutput.Meta):
        fields = [*ExemptNumberOutput.Meta.fields, "attorney"]


def _own_numbers(request: Request) -> QuerySet[ExemptNumber]:
    return numbers_of(user_of(request).attorney)


class AttorneyNumbersView(APIView):
    permission_classes = [IsAttorney]

    class Input(serializers.Serializer[Any]):
        number = serializers.CharField(max_length=40)
        label = serializers.CharField(max_length=100, required=False, default="")  # type: ignore[assignment]
        category = serializers.ChoiceField(
            choices=RegistrationCategory.choices, required=False, default=RegistrationCategory.ATTORNEY
        )
        credential = serializers.CharField(
            max_length=48,
            required=False,
            default="",
            allow_blank=True,
            help_text="Every category but attorney: licence, accreditation or ordination reference, "
            "or defence counsel's bar number (apps.registry.categories).",
        )
        credential_issuer = serializers.CharField(
            max_length=100,
            required=False,
            default="",
            allow_blank=True,
            help_text="Who issued the credential: a state (doctor, counsel's bar), the endorsing body "
            "or the mission.",
        )
        facility = serializers.SlugRelatedField(
            slug_field="code",
            queryset=Facility.objects.all(),
            required=False,
            default=None,
            help_text="Only for a facility-scoped registration; omit for a global one.",
        )

    @extend_schema(
        summary="Attorney: list your registered numbers", responses={200: ExemptNumberOutput(many=True)}
    )
    def get(self, request: Request) -> Response:
        return audited_page(
            request, self, _own_numbers(request), ExemptNumberOutput, action="attorney_numbers.listed"
        )

    @extend_schema(
        summary="Attorney: register a number as privileged (pending until a clerk verifies it)",
        request=Input,
        responses={201: ExemptNumberOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.Input, request)
        exempt = services.exempt_number_register(
            attorney=user_of(request).attorney,
            number=data["number"],
            label=data["label"],
            facility=data["facility"],
            category=data["category"],
            credential=data["credential"],
            credential_issuer=data["credential_issuer"],
            actor=user_of(request),
        )
        return Response(ExemptNumberOutput(exempt).data, status=status.HTTP_201_CREATED)


class AttorneyNumberDetailView(APIView):
    permission_classes = [IsAttorney]

    @extend_schema(summary="Attorney: read one of your registrations", responses={200: ExemptNumberOutput})
    def get(self, request: Request, number_id: int) -> Response:
        exempt = get_in_scope_or_404(
            _own_numbers(request), number_id, actor=user_of(request), action="exempt_number.view"
        )
        return Response(ExemptNumberOutput(exempt).data)

    @extend_schema(
        summary="Attorney: revoke a registration (calls to it are recorded again)",
        responses={200: ExemptNumberOutput},
    )
    def delete(self, request: Request, number_id: int) -> Response:
        exempt = get_in_scope_or_404(
            _own_numbers(request), number_id, actor=user_of(request), action="exempt_number.revoke"
        )
        exempt = services.exempt_number_revoke(exempt_number_id=exempt.pk, actor=user_of(request))
        return Response(ExemptNumberOutput(exempt).data)


class AttorneyNumberRenewView(APIView):
    """The attorney asks to renew: a verified registration gets a renewal request (exempt until a
    clerk decides, 200); a lapsed, expired, revoked or rejected one starts over as a new pending
    registration (201)."""

    permission_classes = [IsAttorney]

    @extend_schema(
        summary="Attorney: ask to renew a registration",
        request=None,
        responses={200: ExemptNumberOutput, 201: ExemptNumberOutput},
    )
    def post(self, request: Request, number_id: int) -> Response:
        exempt = get_in_scope_or_404(
            _own_numbers(request), number_id, actor=user_of(request), action="exempt_number.renew"
        )
        renewed = services.exempt_number_renew(exempt_number_id=exempt.pk, actor=user_of(request))
        code = status.HTTP_200_OK if renewed.pk == exempt.pk else status.HTTP_201_CREATED
        return Response(ExemptNumberOutput(renewed).data, status=code)


class RegistryNumbersView(APIView):
    permission_classes = [IsRegistryClerk]

    @extend_schema(
        summary="Clerk: list registrations, optionally by status and category",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=ExemptStatus.values,
                required=False,
                description="Only registrations in this state.",
            ),
            OpenApiParameter(
                "category",
                str,
                enum=RegistrationCategory.values,
                required=False,
                description="Only registrations of this category (attorney, doctor, clergy, ...).",
            ),
        ],
        responses={200: ClerkExemptNumberOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        queryset = ExemptNumber.objects.select_related("attorney", "facility")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in ExemptStatus.values:
                raise serializers.ValidationError({"status": f"one of {ExemptStatus.values}"})
            queryset = queryset.filter(status=wanted)
        category = request.query_params.get("category")
        if category:
            if category not in RegistrationCategory.values:
                raise serializers.ValidationError({"category": f"one of {RegistrationCategory.values}"})
            queryset = queryset.filter(category=category)
        return audited_page(
            request,
            self,
            queryset,
            ClerkExemptNumberOutput,
            action="registry_numbers.listed",
            filters={"status": wanted, "category": category},
        )


class RegistryVerifyView(APIView):
    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        effective_until = serializers.DateTimeField(required=False, default=None)

    @extend_schema(
        summary="Clerk: verify a registration (quarantines earlier recordings of the number)",
        request=Input,
        responses={200: ClerkExemptNumberOutput},
    )
    def post(self, request: Request, number_id: int) -> Response:
        data = validated(self.Input, request)
        exempt = get_in_scope_or_404(
            ExemptNumber.objects.all(), number_id, actor=user_of(request), action="exempt_number.verify"
        )
        exempt, quarantined = registry_actions.exempt_number_verify(
            exempt_number_id=exempt.pk,
            clerk=user_of(request),
            effective_until=data["effective_until"],
        )
        body = ClerkExemptNumberOutput(exempt).data
        return Response({**body, "quarantined_recordings": quarantined})


class RegistryRenewView(APIView):
    """A clerk grants a requested renewal; ``effective_until`` (optional) must lie within the
    configured window bounds from the current end, else 400 ``effective_until_out_of_range``."""

    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        effective_until = serializers.DateTimeField(required=False, default=None)

    @extend_schema(
        summary="Clerk: grant a requested renewal", request=Input, responses={200: ClerkExemptNumberOutput}
    )
    def post(self, request: Request, number_id: int) -> Response:
        data = validated(self.Input, request)
        exempt = get_in_scope_or_404(
            ExemptNumber.objects.all(), number_id, actor=user_of(request), action="exempt_number.renew"
        )
        exempt = registry_actions.exempt_number_renewal_approve(
            exempt_number_id=exempt.pk, clerk=user_of(request), effective_until=data["effective_until"]
        )
        return Response(ClerkExemptNumberOutput(exempt).data)


class RegistryDeclineRenewalView(APIView):
    """A clerk declines a requested renewal; the attorney is told, with at least the reminder
    lead of notice before the exemption ends."""

    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=1000)

    @extend_schema(
        summary="Clerk: decline a requested renewal", request=Input, responses={200: ClerkExemptNumberOutput}
    )
    def post(self, request: Request, number_id: int) -> Response:
        data = validated(self.Input, request)
        exempt = get_in_scope_or_404(
            ExemptNumber.objects.all(),
            number_id,
            actor=user_of(request),
            action="exempt_number.decline_renewal",
        )
        exempt = services.exempt_number_renewal_decline(
            exempt_number_id=exempt.pk, clerk=user_of(request), reason=data["reason"]
        )
        return Response(ClerkExemptNumberOutput(exempt).data)


class RegistryRejectView(APIView):
    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=1000)

    @extend_schema(
        summary="Clerk: reject a pending registration",
        request=Input,
        responses={200: ClerkExemptNumberOutput},
    )
    def post(self, request: Request, number_id: int) -> Response:
        data = validated(self.Input, request)
        exempt = get_in_scope_or_404(
            ExemptNumber.objects.all(), number_id, actor=user_of(request), action="exempt_number.reject"
        )
        exempt = services.exempt_number_reject(
            exempt_number_id=exempt.pk, clerk=user_of(request), reason=data["reason"]
        )
        return Response(ClerkExemptNumberOutput(exempt).data)


class InmateClaimOutput(serializers.ModelSerializer[InmateClaim]):
    facility: serializers.SlugRelatedField[Facility] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    inmate = serializers.SlugRelatedField(slug_field="booking_number", read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = InmateClaim
        fields = ["id", "facility", "inmate", "number", "status", "created_at"]


class InmateClaimView(APIView):
    """The switch reports that an inmate names a number as their attorney's. The facility is
    the switch's own (its service account is bound to one); calls from it to the number are
    recorded into quarantine until a registry clerk decides the claim."""

    permission_classes = [IsSwitchAccount]

    class Input(serializers.Serializer[Any]):
        inmate = serializers.CharField(max_length=32)
        number = serializers.CharField(max_length=40)
        facility = serializers.CharField(
            max_length=32, required=False, help_text="Optional; must be the switch's own facility."
        )

    @extend_schema(
        summary="Switch: report that an inmate names a number as their attorney's",
        request=Input,
        responses={201: InmateClaimOutput, 200: InmateClaimOutput},
    )
    def post(self, request: Request) -> Response:
        data = validated(self.Input, request)
        facility = switch_facility(request.user)
        if data.get("facility") not in (None, facility.code):
            raise NotFoundError()
        claim, created = claim_report(
            facility=facility, booking_number=data["inmate"], number=data["number"], actor=user_of(request)
        )
        return Response(
            InmateClaimOutput(claim).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
