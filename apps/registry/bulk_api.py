"""Registry clerks' API for bulk changes (issue 11, section 1): the queue of changes waiting for
a second clerk, approve, reject; and a clerk's revocation of a registration, which past
REGISTRY_BULK_REVOCATIONS_PER_DAY answers 202 ``second_clerk_required`` and waits in the queue.

Routed by apps/registry/urls.py (under /api/v1/).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.services import record_event
from apps.common.api import user_of, validated
from apps.common.errors import NotFoundError
from apps.registry.bulk import bulk_change_approve, bulk_change_reject, pending_bulk_changes
from apps.registry.models import BulkChange, ExemptNumber
from apps.registry.permissions import IsRegistryClerk
from apps.registry.services import exempt_number_revoke


class BulkChangeOutput(serializers.ModelSerializer[BulkChange]):
    """What the approver needs to decide: the dry run, never the file itself."""

    proposed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    registration_ids = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()

    class Meta:
        model = BulkChange
        fields = [
            "id",
            "kind",
            "status",
            "proposed_by",
            "proposed_at",
            "file",
            "registration_ids",
            "preview",
            "decided_by",
            "decided_at",
            "decided_reason",
            "result",
        ]

    def get_registration_ids(self, change: BulkChange) -> list[int]:
        return list(change.payload.get("registration_ids", []))

    def get_file(self, change: BulkChange) -> str:
        return str(change.payload.get("file", ""))


class BulkChangesView(APIView):
    """The changes waiting for a second clerk, oldest first."""

    permission_classes = [IsRegistryClerk]

    @extend_schema(responses={200: BulkChangeOutput(many=True)})
    def get(self, request: Request) -> Response:
        changes = list(pending_bulk_changes()[:200])
        with transaction.atomic():
            record_event(
                action="registry.bulk_changes_listed",
                actor=user_of(request),
                target_type="registry.bulkchange",
                details={"ids": [c.pk for c in changes]},
            )
        return Response({"results": BulkChangeOutput(changes, many=True).data})


class BulkChangeApproveView(APIView):
    permission_classes = [IsRegistryClerk]

    @extend_schema(request=None, responses={200: BulkChangeOutput})
    def post(self, request: Request, change_id: int) -> Response:
        change = bulk_change_approve(change_id=change_id, clerk=user_of(request))
        return Response(BulkChangeOutput(change).data)


class BulkChangeRejectView(APIView):
    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(request=Input, responses={200: BulkChangeOutput})
    def post(self, request: Request, change_id: int) -> Response:
        data = validated(self.Input, request)
        change = bulk_change_reject(change_id=change_id, clerk=user_of(request), reason=data["reason"])
        return Response(BulkChangeOutput(change).data)


class RegistryRevokeView(APIView):
    """A clerk revokes a registration: 200 done, or 202 ``second_clerk_required`` with the
    ``bulk_change_id`` it waits in (past the daily limit)."""

    permission_classes = [IsRegistryClerk]

    @extend_schema(request=None, responses={200: None, 202: None})
    def post(self, request: Request, number_id: int) -> Response:
        if not ExemptNumber.objects.filter(pk=number_id).exists():
            raise NotFoundError()
        exempt = exempt_number_revoke(exempt_number_id=number_id, actor=user_of(request))
        return Response({"id": exempt.pk, "status": exempt.status})
