"""Audit capture: the single function every act calls (invariant I3, transactional outbox)."""

from __future__ import annotations

import atexit
import functools
import logging
import os
import threading
import time
from typing import Any

import kombu.pools
from django.contrib.auth.models import AnonymousUser, User
from django.db import connection, models, transaction
from django.utils import timezone

from apps.audit.models import AuditEvent, Outcome
from apps.audit.references import scrub
from apps.common import context

logger = logging.getLogger(__name__)


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
    _request_sealing_after_commit()
    return event


def event_insert_sql(
    *,
    source: str,
    target_id: str,
    facility_id: str,
    details: str,
    action: str,
    actor: User,
    target_type: str,
    outcome: str = Outcome.SUCCESS,
) -> tuple[str, dict[str, Any]]:
    """``record_event`` as SQL, for an act written as a single PostgreSQL statement.

    Returns an ``INSERT ... SELECT`` that writes one event per row of ``source`` (a CTE of the
    caller's statement, whose column expressions are ``target_id``, ``facility_id`` and
    ``details``), and its named parameters (prefixed ``audit_``). Used as one more CTE of the
    act's own statement, the event commits with the act exactly as with ``record_event``; the
    columns are the same (tests compare the two). Call ``events_written()`` afterwards.
    """
    sql = f"""
        INSERT INTO audit_auditevent (created_at, actor_id, actor_label, action, outcome,
            target_type, target_id, facility_id, client_ip, request_id, details, prev_hash, hash)
        SELECT %(audit_created_at)s, CAST(%(audit_actor_id)s AS integer), %(audit_actor_label)s,
            %(audit_action)s, %(audit_outcome)s, %(audit_target_type)s, {target_id}, {facility_id},
            CAST(%(audit_client_ip)s AS inet), %(audit_request_id)s, {details}, '', ''
        FROM {source}
    """  # noqa: S608 - the fragments are the caller's constant SQL, values are parameters
    params = {
        "audit_created_at": timezone.now(),
        "audit_actor_id": actor.pk,
        "audit_actor_label": actor.get_username(),
        "audit_action": action,
        "audit_outcome": outcome,
        "audit_target_type": target_type,
        "audit_client_ip": context.client_ip.get(),
        "audit_request_id": context.request_id.get() or "",
    }
    return sql, params


def events_written() -> None:
    """After a statement built with ``event_insert_sql``: ask for sealing once it commits."""
    if connection.in_atomic_block:
        _request_sealing_after_commit()
    else:  # autocommit: the statement has committed already
        enqueue_sealing()


def _request_sealing_after_commit() -> None:
    """Ask for one sealing run per committed transaction, however many events it wrote.

    A callback registered inside a savepoint that rolls back is discarded by Django, so the
    check below re-registers it for the next event of the surviving transaction.
    """
    if any(entry[1] is enqueue_sealing for entry in connection.run_on_commit):
        return
    transaction.on_commit(enqueue_sealing, robust=True)


# How long the sender waits before trying the broker again after a failure.
ENQUEUE_RETRY_SECONDS = 5.0
# After a first request the sender lingers this long, so a burst of commits becomes one
# message (at most ~20 messages/s per process), at the cost of this much sealing latency.
ENQUEUE_LINGER_SECONDS = 0.05


def enqueue_sealing() -> None:
    """After commit: ask for a sealing run, without blocking or failing the request.

    In eager mode (embedded default, no broker) the sealing runs right here. Otherwise the
    request only raises a flag; one background sender per process turns any number of flags
    raised meanwhile into one broker message, so a burst of acts costs one message rather than
    one each, and a broker outage costs the request nothing: the sender logs, waits, retries,
    and beat seals anything a dead process never asked for.
    """
    from apps.audit.tasks import seal_audit_events

    if seal_audit_events.app.conf.task_always_eager:
        try:
            seal_audit_events.apply_async()
        except Exception:
            logger.exception("audit sealing failed; beat will seal pending events")
        return
    _sender.request()


def send_sealing_message() -> bool:
    """Publish one sealing task; True if it was sent."""
    from apps.audit.tasks import seal_audit_events

    return publish_task(seal_audit_events)


def publish_task(task: Any, *args: Any) -> bool:
    """Send a task through a connection that fails fast; log and return False if it cannot.

    One immediate reconnect covers a pooled connection gone stale (broker restarted); beyond
    that nothing waits, because callers run in or right after a request.
    """
    try:
        with _fast_fail_connections(task.app.conf.broker_url).acquire(block=True, timeout=2) as conn:
            task.apply_async(
                args=args,
                connection=conn,
                retry=True,
                retry_policy={
                    "max_retries": 1,
                    "interval_start": 0,
                    "interval_step": 0.2,
                    "interval_max": 0.2,
                },
            )
    except Exception:
        logger.warning("could not enqueue %s; will be retried or picked up by beat", task.name, exc_info=True)
        return False
    return True


class _SealRequestSender:
    """The per-process background sender behind ``enqueue_sealing`` (restarted after a fork)."""

    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        self._wanted.set()
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._wanted = threading.Event()
                self._wanted.set()
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="audit-seal-sender", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            time.sleep(ENQUEUE_LINGER_SECONDS)
            self._wanted.clear()
            if not send_sealing_message():
                self._wanted.set()
                time.sleep(ENQUEUE_RETRY_SECONDS)

    def flush(self) -> None:
        """At exit: send a request still pending, so a stopping process does not wait for beat."""
        if self._wanted.is_set() and self._pid == os.getpid():
            send_sealing_message()


_sender = _SealRequestSender()
atexit.register(_sender.flush)


@functools.lru_cache(maxsize=4)
def _fast_fail_connections(broker_url: str) -> Any:
    from celery import current_app

    options = {
        **(current_app.conf.broker_transport_options or {}),
        "max_retries": 0,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    return kombu.pools.connections[current_app.connection_for_write(broker_url, transport_options=options)]
