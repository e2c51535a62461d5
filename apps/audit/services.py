"""Audit capture: the single function every act calls (invariant I3, transactional outbox),
and the same event as one SQL statement for the hot path. Asking for sealing once the events
commit is ``apps/audit/sealing.py``; the broker plumbing under it is ``apps/common/broker.py``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, models
from django.utils import timezone

from apps.audit.models import AuditEvent, Outcome
from apps.audit.references import scrub
from apps.audit.sealing import enqueue_sealing, request_sealing_after_commit
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
    describes an act that did not happen. Nothing is sent to a broker here: sealing is only
    requested after commit, and a broker outage is logged, never raised (beat catches up).

    ``details`` follow the masking rule of apps/audit/references.py: a number or an inmate
    linked to one goes in as a keyed reference; any E.164 number left in is replaced here.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the act it records")
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    user = actor if isinstance(actor, User) else None
    event = AuditEvent.objects.create(
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
        details=scrub(details or {}),
    )
    request_sealing_after_commit()
    return event


def event_insert_sql(
    *,
    source: str,
    target_id: str,
    facility_id: str,
    details: str,
    action: str,
    actor: User | None,
    target_type: str,
    outcome: str = Outcome.SUCCESS,
    actor_sql: tuple[str, str] | None = None,
) -> tuple[str, dict[str, Any]]:
    """``record_event`` as SQL, for an act written as a single PostgreSQL statement.

    Returns an ``INSERT ... SELECT`` that writes one event per row of ``source`` (a CTE of the
    caller's statement, whose column expressions are ``target_id``, ``facility_id`` and
    ``details``), and its named parameters (prefixed ``audit_``). Used as one more CTE of the
    act's own statement, the event commits with the act exactly as with ``record_event``; the
    columns are the same (tests compare the two). Call ``events_written()`` afterwards.

    ``details`` is built in SQL, so ``scrub`` cannot mask it: the expression must not carry a
    number or an inmate linked to one (call setup's carries the decision and reason only, and
    tests/audit/test_sql_events.py fails if its details differ from record_event's scrubbed ones).

    ``actor_sql`` (the actor's id and username as SQL expressions) replaces ``actor`` when the
    statement itself finds the actor (call setup's lean endpoint authenticates in the statement).
    """
    if actor_sql is not None:
        actor_id_sql, actor_label_sql = actor_sql
    elif actor is not None:
        actor_id_sql, actor_label_sql = "CAST(%(audit_actor_id)s AS integer)", "%(audit_actor_label)s"
    else:
        raise ValueError("event_insert_sql needs an actor or actor_sql")
    sql = f"""
        INSERT INTO audit_auditevent (created_at, actor_id, actor_label, action, outcome,
            target_type, target_id, facility_id, client_ip, request_id, details, prev_hash, hash)
        SELECT %(audit_created_at)s, {actor_id_sql}, {actor_label_sql},
            %(audit_action)s, %(audit_outcome)s, %(audit_target_type)s, {target_id}, {facility_id},
            CAST(%(audit_client_ip)s AS inet), %(audit_request_id)s, {details}, '', ''
        FROM {source}
    """  # noqa: S608 - the fragments are the caller's constant SQL, values are parameters
    params = {
        "audit_created_at": timezone.now(),
        "audit_action": action,
        "audit_outcome": outcome,
        "audit_target_type": target_type,
        "audit_client_ip": context.client_ip.get(),
        "audit_request_id": context.request_id.get() or "",
    }
    if actor_sql is None and actor is not None:
        params |= {"audit_actor_id": actor.pk, "audit_actor_label": actor.get_username()}
    return sql, params


def events_written() -> None:
    """After a statement built with ``event_insert_sql``: ask for sealing once it commits."""
    if connection.in_atomic_block:
        request_sealing_after_commit()
    else:  # autocommit: the statement has committed already
        enqueue_sealing()
