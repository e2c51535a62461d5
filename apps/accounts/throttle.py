"""Rate limits and audit references for the e-mails that anonymous forms make us send.

Sign-up, password reset and e-mail change each send an e-mail to an address someone typed in.
Without a limit they are a way to mail-bomb anyone and to probe accounts at speed. The limits
(``ACCOUNT_EMAIL_LIMITS``) count per source IP and per recipient, across all three flows (the
mailbox is the resource). Recipients are identified in the trail by a keyed reference (the
same address always gives the same reference, nobody can reverse it) plus a masked form.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.accounts.models import EmailRequestHit
from apps.common import context
from apps.common.errors import DomainError
from apps.common.locks import advisory_xact_lock


class TooManyRequestsError(DomainError):
    status_code = 429
    reason = "rate_limited"
    default_message = "Too many requests. Wait a while and try again."


def _key(scope: str, value: str) -> str:
    secret = hashlib.sha256(b"account-throttle:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(secret, f"{scope}:{value}".encode(), hashlib.sha256).hexdigest()


def email_reference(email: str) -> str:
    """A keyed, irreversible reference to an e-mail address (equal addresses, equal refs)."""
    return _key("email", email.strip().lower())[:24]


def mask_email(email: str) -> str:
    local, _, domain = email.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def email_request_admit(*, email: str, now: datetime | None = None) -> None:
    """Count one e-mail to ``email`` from the current client, or raise TooManyRequestsError and
    count nothing. Runs inside the caller's transaction; the per-key locks make two concurrent
    requests count one after the other on PostgreSQL (SQLite serialises writers anyway)."""
    if not connection.in_atomic_block:
        raise RuntimeError("email_request_admit must run inside the transaction of the request")
    now = now or timezone.now()
    keys = {
        "address": _key("address", email.strip().lower()),
        "ip": _key("ip", context.client_ip.get() or ""),
    }
    for scope in sorted(keys):
        advisory_xact_lock("account-email-throttle", keys[scope])
    for scope, key in keys.items():
        for seconds, limit in settings.ACCOUNT_EMAIL_LIMITS.get(scope, []):
            since = now - timedelta(seconds=seconds)
            if EmailRequestHit.objects.filter(scope=scope, key=key, at__gt=since).count() >= limit:
                raise TooManyRequestsError()
    EmailRequestHit.objects.bulk_create([EmailRequestHit(scope=s, key=k, at=now) for s, k in keys.items()])


def email_request_hits_purge(*, now: datetime | None = None) -> int:
    """Forget hits older than the longest window (beat: ``accounts.purge_request_hits``)."""
    now = now or timezone.now()
    longest = max((s for windows in settings.ACCOUNT_EMAIL_LIMITS.values() for s, _ in windows), default=0)
    with transaction.atomic():
        deleted, _ = EmailRequestHit.objects.filter(at__lt=now - timedelta(seconds=longest)).delete()
    return deleted
