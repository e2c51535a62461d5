"""Registry clerks' API for bulk changes (issue 11, section 1): the queue of changes waiting for
a second clerk, approve (with the ``digest`` the queue showed: the approver approves what they
saw, see apps/registry/bulk.py), reject; and a clerk's revocation of a registration, which past
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

from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.api import user_of, validated
from apps.registry.bulk import (
    bulk_change_approve,
    bulk_change_digest,
    bulk_change_reject,
    pending_bulk_changes,
)
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
    digest = serializers.SerializerMethodField(
        help_text=(
            "SHA-256 of what approval applies (the sorted registration ids of a revocation batch, "
            "or the import's file). Approve with it: if more was queued since, approval answers "
            "409 `bulk_change_changed`."
        )
    )

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
            "digest",
            "preview",
            "decided_by",
            "decided_at",
            "decided_reason",
            "result",
        ]

    def get_registration_ids(self, change: BulkChange) -> list[int]:
        return list(change.payload.get("registration_ids", []))

    def get_digest(self, change: BulkChange) -> str:
        return bulk_change_digest(change)

    def get_file(self, change: BulkChange) -> str:
        return str(change.payload.get("file", ""))


class BulkChangesView(APIView):
    """The changes waiting for a second clerk, oldest first."""

    permission_classes = [IsRegistryClerk]

    @extend_schema(
        summary="Clerk: list bulk changes waiting for a second clerk",
        responses={200: BulkChangeOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        changes = list(pending_bulk_changes()[:200])
        with transaction.atomic():
            record_event(
                action="registry.bulk_changes_listed",
                actor=user_of(request),
                target_type="registry.bulkchange",
                # What each change was when shown: an approval names one of these digests.
                details={
                    "ids": [c.pk for c in changes],
                    "digests": {str(c.pk): bulk_change_digest(c) for c in changes},
                },
            )
        return Response({"results": BulkChangeOutput(changes, many=True).data})


class BulkChangeApproveView(APIView):
    """Apply a pending change, as reviewed: ``digest`` is the one the queue showed for it. A
    change that grew since (revocations queued after the listing) answers 409
    ``bulk_change_changed`` and stays pending; list it again to see what it holds now."""

    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        digest = serializers.RegexField(
            r"^[0-9a-fA-F]{64}$",
            help_text="The `digest` of the change as listed (GET /api/v1/registry/bulk-changes/).",
        )

    @extend_schema(
        summary="Clerk: approve (apply) a bulk change as reviewed",
        request=Input,
        responses={200: BulkChangeOutput},
        description=(
            "Approve (apply) a pending bulk change reviewed by a second registry clerk. The body "
            "repeats the `digest` the listing showed; 409 `bulk_change_changed` if the change differs "
            "now (e.g. revocations queued after the listing): nothing is applied."
        ),
    )
    def post(self, request: Request, change_id: int) -> Response:
        data = validated(self.Input, request)
        change = bulk_change_approve(change_id=change_id, clerk=user_of(request), digest=data["digest"])
        return Response(BulkChangeOutput(change).data)


class BulkChangeRejectView(APIView):
    permission_classes = [IsRegistryClerk]

    class Input(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(summary="Clerk: reject a bulk change", request=Input, responses={200: BulkChangeOutput})
    def post(self, request: Request, change_id: int) -> Response:
        data = validated(self.Input, request)
        change = bulk_change_reject(change_id=change_id, clerk=user_of(request), reason=data["reason"])
        return Response(BulkChangeOutput(change).data)


class RegistryRevokeView(APIView):
    """A clerk revokes a registration: 200 done, or 202 ``second_clerk_required`` with the
    ``bulk_change_id`` it waits in (past the daily limit)."""

    permission_classes = [IsRegistryClerk]

    @extend_schema(
        summary="Clerk: revoke a registration (a second clerk past the daily limit)",
        request=None,
        responses={200: None, 202: None},
    )
    def post(self, request: Request, number_id: int) -> Response:
        get_in_scope_or_404(
            ExemptNumber.objects.all(), number_id, actor=user_of(request), action="exempt_number.revoke"
        )
        exempt = exempt_number_revoke(exempt_number_id=number_id, actor=user_of(request))
        return Response({"id": exempt.pk, "status": exempt.status})
