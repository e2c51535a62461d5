"""Quotas (I4): checked and counted in one atomic step at the moment of access.

Each user has a QuotaAccount row; consuming takes that row's lock (SELECT ... FOR UPDATE), sums
the user's usage over every rolling window of the kind, and records the new usage, all inside
the caller's transaction. Two concurrent requests of one user therefore run one after the
other: the second sees the first's usage. Superusers are counted like everyone else.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.access.errors import QuotaExceededError
from apps.access.models import QUOTA_LIMITS_CACHE_KEY, QuotaAccount, QuotaLimit, QuotaUsage
from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.common.db import fetchone_prepared


@dataclass(frozen=True)
class Window:
    seconds: int
    limit: int


# Admin overrides are few and rarely change: read them at most every few seconds per process.
LIMITS_CACHE_SECONDS = 10


def _overrides() -> list[dict[str, Any]]:
    rows = cache.get_or_set(
        QUOTA_LIMITS_CACHE_KEY,
        lambda: list(QuotaLimit.objects.values("kind", "window_seconds", "limit", "group_id", "facility_id")),
        LIMITS_CACHE_SECONDS,
    )
    return list(rows or [])


def limits_for(user: User, kinds: Sequence[str], facility_id: int | None = None) -> dict[str, list[Window]]:
    """The user's windows per kind: settings defaults, overridden by QuotaLimit rows.

    The most specific matching override wins (role and facility > facility > role > all).
    """
    windows = {kind: dict(settings.ACCESS_QUOTAS.get(kind, [])) for kind in kinds}
    overrides = [o for o in _overrides() if o["kind"] in windows and o["facility_id"] in (None, facility_id)]
    if any(o["group_id"] is not None for o in overrides):
        groups = set(user.groups.values_list("id", flat=True))
        overrides = [o for o in overrides if o["group_id"] is None or o["group_id"] in groups]
    for o in sorted(overrides, key=lambda o: (o["facility_id"] is not None, o["group_id"] is not None)):
        windows[o["kind"]][o["window_seconds"]] = o["limit"]
    return {kind: [Window(sec, lim) for sec, lim in sorted(w.items())] for kind, w in windows.items()}


def quota_consume(*, user: User, kind: str, amount: int = 1, facility_id: int | None = None) -> None:
    quota_consume_many(user=user, charges=[(kind, amount)], facility_id=facility_id)


def quota_consume_many(
    *, user: User, charges: Sequence[tuple[str, int]], facility_id: int | None = None
) -> None:
    """Count every charge for ``user``, or raise QuotaExceededError and count nothing.

    Must run inside the transaction of the act it pays for, so an act that fails rolls its
    usage back with it. Three statements whatever the number of kinds and windows (the admin
    overrides are cached): the lock, one conditional aggregate over every window, one insert.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("quota_consume must run inside the transaction of the act")
    charges = [(kind, amount) for kind, amount in charges if amount > 0]
    if not charges:
        return
    _lock_account(user)
    now = timezone.now()
    kinds = sorted({kind for kind, _ in charges})
    limits = limits_for(user, kinds, facility_id)
    windows = [(kind, w) for kind in kinds for w in limits[kind]]
    used = _usage(user, windows, now) if windows else []
    charged = Counter[str]()
    for kind, amount in charges:
        charged[kind] += amount
    for (kind, window), spent in zip(windows, used, strict=True):
        amount = charged[kind]
        if spent + amount > window.limit:
            raise QuotaExceededError(kind=kind, window_seconds=window.seconds, limit=window.limit, used=spent)
    QuotaUsage.objects.bulk_create([QuotaUsage(user=user, kind=k, amount=a, at=now) for k, a in charges])


@functools.cache
def _usage_sql(windows: int) -> str:
    """One conditional sum per (kind, window), in one pass over the user's recent usage. The
    text depends only on how many windows there are, so it is prepared once per connection
    (the ORM's version recompiled on every playback, about as costly as running it)."""
    sums = ", ".join(
        f"COALESCE(SUM(amount) FILTER (WHERE kind = %(kind{i})s AND at > %(since{i})s), 0)"
        for i in range(windows)
    )
    return f"SELECT {sums} FROM access_quotausage WHERE user_id = %(user)s AND at > %(since)s"  # noqa: S608


def _usage(user: User, windows: list[tuple[str, Window]], now: datetime) -> list[int]:
    adapt = connection.ops.adapt_datetimefield_value
    params: dict[str, Any] = {"user": user.pk}
    for i, (kind, window) in enumerate(windows):
        params[f"kind{i}"] = kind
        params[f"since{i}"] = adapt(now - timedelta(seconds=window.seconds))
    params["since"] = adapt(now - timedelta(seconds=max(w.seconds for _, w in windows)))
    row = fetchone_prepared(_usage_sql(len(windows)), params)
    return [int(value) for value in row or ()]


def _lock_account(user: User) -> None:
    """Take the user's quota row lock (creating the row the first time)."""
    sql = "SELECT 1 FROM access_quotaaccount WHERE user_id = %(user)s"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    if fetchone_prepared(sql, {"user": user.pk}):
        return
    try:
        with transaction.atomic():
            QuotaAccount.objects.create(user=user)
    except IntegrityError:
        pass  # created concurrently
    QuotaAccount.objects.select_for_update().get(user=user)


@contextmanager
def metered(
    *, user: User, charges: Sequence[tuple[str, int]], facility_id: int | None, target: Model | None = None
) -> Iterator[None]:
    """Run the body in one transaction with its quota charges; a refusal is audited.

    The refusal's audit event is written in its own transaction after the act's transaction
    rolled back (it must survive the rollback it explains).
    """
    try:
        with transaction.atomic():
            quota_consume_many(user=user, charges=charges, facility_id=facility_id)
            yield
    except QuotaExceededError as exc:
        with transaction.atomic():
            record_event(
                action="quota.exceeded",
                actor=user,
                target=target,
                outcome=Outcome.DENIED,
                facility_id=facility_id,
                details={"reason": exc.reason, **exc.extra},
            )
        raise
