"""Prepared statements for the few queries every call pays for (call setup, token lookup,
privilege decision)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import psycopg
from django.db import connection


def fetchone_prepared(sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """Run one statement with named parameters and return its first row.

    Django binds parameters on the client (the values are spliced into the query text), so
    PostgreSQL plans every statement afresh; for the call-setup statement planning costs more
    than executing (~0.3-0.5 ms). On PostgreSQL this runs the statement as a server-side
    prepared statement instead: planned once per connection (psycopg keeps up to 100 per
    connection; CONN_MAX_AGE keeps connections). Parameters then arrive typed, so SQL meant for
    this must cast parameters PostgreSQL cannot type from context (``CAST(%(x)s AS bigint)``).
    Behind PgBouncer this needs its protocol-level prepared statement support (>= 1.21).
    Same connection and transaction as the ORM; errors are Django's; the query is logged
    like any other when query logging is on (tests, DEBUG).
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    # What Django's own cursor does first: drop a connection that failed its health check
    # (after a PostgreSQL restart), refuse to run inside a transaction marked for rollback.
    connection.close_if_health_check_failed()
    connection.validate_no_broken_transaction()
    connection.validate_thread_sharing()
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        row = cursor.fetchone()
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return row
