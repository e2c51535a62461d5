"""Audit capture: the single function every act calls (invariant I3, transactional outbox)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, models
from django.utils import timezone

from apps.audit.models import AuditEvent, Outcome
from apps.common import context


def record_event(
    *,
    action: str,
    actor: User | AnonymousUser | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    facility_id: int | None = None,
    outcome: str = Outcome.SUCCESS,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event inside the caller's transaction.

    The caller must already be inside ``transaction.atomic()``: the event then commits or rolls
    back together with the act it records, so no committed act lacks its event and no event
    describes an act that did not happen. Nothing is sent to a broker here.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the act it records")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        created_at=timezone.now(),
        actor=user,
        actor_label=user.get_username() if user is not None else "",
        action=action,
        outcome=outcome,
        target_type=target_type,
        target_id=str(target_id),
        facility_id=facility_id,
        client_ip=context.client_ip.get(),
        request_id=context.request_id.get(),
        details=details or {},
    )
