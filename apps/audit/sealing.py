"""Asking for sealing after events commit: one request per committed transaction, and one
broker message per burst of them (the broker plumbing itself is ``apps/common/broker.py``)."""

from __future__ import annotations

import atexit
import logging

from django.db import connection, transaction

from apps.common.broker import CoalescingSender, publish_task

logger = logging.getLogger(__name__)

# How long the sender waits before trying the broker again after a failure.
ENQUEUE_RETRY_SECONDS = 5.0
# After a first request the sender lingers this long, so a burst of commits becomes one
# message (at most ~20 messages/s per process), at the cost of this much sealing latency.
ENQUEUE_LINGER_SECONDS = 0.05


def request_sealing_after_commit() -> None:
    """Ask for one sealing run per committed transaction, however many events it wrote.

    A callback registered inside a savepoint that rolls back is discarded by Django, so the
    check below re-registers it for the next event of the surviving transaction.
    """
    if any(entry[1] is enqueue_sealing for entry in connection.run_on_commit):
        return
    transaction.on_commit(enqueue_sealing, robust=True)


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


_sender = CoalescingSender(
    send_sealing_message,
    name="audit-seal-sender",
    linger_seconds=ENQUEUE_LINGER_SECONDS,
    retry_seconds=ENQUEUE_RETRY_SECONDS,
)
atexit.register(_sender.flush)
