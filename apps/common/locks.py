from __future__ import annotations

import hashlib

from django.db import connection


def advisory_xact_lock(namespace: str, value: str) -> None:
    """Take a transaction-scoped lock on a name (released at commit or rollback).

    On PostgreSQL this is pg_advisory_xact_lock, which can lock something that has no row yet
    (a phone number nobody has registered). SQLite already serialises every writer, so there
    the call is a no-op. Must be called inside transaction.atomic().
    """
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("advisory_xact_lock needs an open transaction")
    digest = hashlib.sha256(f"{namespace}:{value}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
