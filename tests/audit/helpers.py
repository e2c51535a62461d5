"""Shared helpers for audit tests: acts that write events, and direct database tampering."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection, transaction

from apps.audit.services import record_event


def act(
    count: int = 1, *, action: str = "test.act", actor: object = None, facility_id: int | None = None
) -> None:
    """``count`` acts, each in its own transaction, each recording its event."""
    for number in range(count):
        with transaction.atomic():
            record_event(
                action=action,
                actor=actor,  # type: ignore[arg-type]
                facility_id=facility_id,
                target_type="test.thing",
                target_id=number,
                details={"n": number, "note": "ünïcode ✓"},
            )


def sqlite_triggers() -> tuple[list[str], list[str]]:
    """(create, drop) statements of the embedded default's append-only triggers, from their
    migration (found by name, so a renumbering does not break the tests)."""
    folder = Path(__file__).resolve().parents[2] / "apps" / "audit" / "migrations"
    (path,) = folder.glob("*_sqlite_append_only_triggers*.py")
    migration = importlib.import_module(f"apps.audit.migrations.{path.stem}")
    return migration.FORWARD, migration.BACKWARD


@contextmanager
def tampering() -> Iterator[None]:
    """Switch off the append-only triggers, as a table owner attacking the trail would."""
    if connection.vendor == "sqlite":
        create, drop = sqlite_triggers()
        with connection.cursor() as cursor:
            for statement in drop:
                cursor.execute(statement)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for statement in create:
                    cursor.execute(statement)
        return
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_append_only")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")
            cursor.execute("ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_append_only")
