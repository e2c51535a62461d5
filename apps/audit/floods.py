"""Unauthenticated rejections, aggregated per source and minute, and the flood rule.

One ``auth.rejected`` event per bad request let anyone write ~10 rows a second per connection
into the trail (and into every export and every analysis run). Now each rejection is counted
by an upsert on the (source, minute) row of ``AuthRejectionWindow``:

* the first rejection of a window writes ``auth.rejected`` at once (a single probe is still
  visible immediately, with its details);
* the others only count; ``auth_rejections_flush`` (beat, and every sealing run) turns each
  closed window with more than one rejection into one ``auth.rejected_aggregate`` event
  carrying the count;
* a source reaching ``AUDIT_AUTH_FLOOD_THRESHOLD`` in one window is a flood: there is no user
  to suspend, so the rule writes ``auth.flood_detected`` and e-mails ``COMPLIANCE_EMAILS``,
  at most once per source per hour.

The source is the audited ``client_ip`` (how it is computed behind proxies is not decided
here).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.canonical import format_time
from apps.audit.models import AuthRejectionWindow, Outcome
from apps.audit.services import record_event

WINDOW = timedelta(minutes=1)
ALERT_EVERY = timedelta(hours=1)
KEEP_FLUSHED = timedelta(days=1)
FLUSH_BATCH = 500


def _window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def _count_one(source: str, start: datetime, reason: str) -> int:
    """Add one to the window's count in one statement (no lost update under concurrency)."""
    table = AuthRejectionWindow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (source, window_start, count, last_reason, alerted, flushed_at) "  # noqa: S608
            "VALUES (%s, %s, 1, %s, FALSE, NULL) "
            "ON CONFLICT (source, window_start) DO UPDATE "
            f"SET count = {table}.count + 1, last_reason = excluded.last_reason RETURNING count",
            [source, connection.ops.adapt_datetimefield_value(start), reason[:32]],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 1


def auth_rejection_record(
    *, source: str, reason: str, details: dict[str, Any] | None = None, now: datetime | None = None
) -> None:
    """Count one unauthenticated rejection from ``source`` (inside the caller's transaction)."""
    now = now or timezone.now()
    start = _window_start(now)
    source = (source or "unknown")[:64]
    count = _count_one(source, start, reason)
    if count == 1:
        record_event(
            action="auth.rejected",
            outcome=Outcome.DENIED,
            details={
                **(details or {}),
                "reason": reason,
                "source": source,
                "note": "first of its minute; more are counted in auth.rejected_aggregate",
            },
        )
    if count == settings.AUDIT_AUTH_FLOOD_THRESHOLD:
        _flood_detected(source, start, count)


def _flood_detected(source: str, start: datetime, count: int) -> None:
    recent = AuthRejectionWindow.objects.filter(
        source=source, alerted=True, window_start__gte=start - ALERT_EVERY
    ).exists()
    AuthRejectionWindow.objects.filter(source=source, window_start=start).update(alerted=True)
    if recent:
        return
    threshold = settings.AUDIT_AUTH_FLOOD_THRESHOLD
    record_event(
        action="auth.flood_detected",
        outcome=Outcome.DENIED,
        details={
            "source": source,
            "window_start": format_time(start),
            "count": count,
            "threshold": threshold,
        },
    )
    transaction.on_commit(lambda: _alert(source, start, threshold))


def _alert(source: str, start: datetime, threshold: int) -> None:
    send_mail(
        subject=f"[callplatform] authentication flood from {source}",
        message=(
            f"{source} sent at least {threshold} unauthenticated requests in the minute from "
            f"{start:%Y-%m-%d %H:%M} UTC. There is no account to suspend: block the source at the "
            "proxy if it goes on. The trail has auth.flood_detected and the per-minute counts "
            "(auth.rejected_aggregate)."
        ),
        from_email=None,
        recipient_list=settings.COMPLIANCE_EMAILS,
        fail_silently=True,
    )


def auth_rejections_flush(*, now: datetime | None = None) -> int:
    """Write one ``auth.rejected_aggregate`` event per closed window that counted more than
    one rejection; return how many were written. Idempotent (each window is flushed once)."""
    now = now or timezone.now()
    current = _window_start(now)
    closed = AuthRejectionWindow.objects.filter(flushed_at__isnull=True, window_start__lt=current)
    if not closed.exists():  # the common case, on every sealing run: one indexed read, no write
        return 0
    written = 0
    with transaction.atomic():
        windows = list(closed.select_for_update(skip_locked=True).order_by("window_start")[:FLUSH_BATCH])
        for window in windows:
            if window.count > 1:
                record_event(
                    action="auth.rejected_aggregate",
                    outcome=Outcome.DENIED,
                    details={
                        "source": window.source,
                        "window_start": format_time(window.window_start),
                        "window_seconds": int(WINDOW.total_seconds()),
                        "count": window.count,
                        "last_reason": window.last_reason,
                    },
                )
                written += 1
        AuthRejectionWindow.objects.filter(pk__in=[w.pk for w in windows]).update(flushed_at=now)
        AuthRejectionWindow.objects.filter(
            flushed_at__isnull=False, window_start__lt=current - KEEP_FLUSHED
        ).delete()
    return written
