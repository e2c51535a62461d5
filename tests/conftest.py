"""Shared actors and service wiring.

The people tests act as come from tests/actors.py (one set, built with the project's own role
definitions and services); the fixtures below expose them.

Under `make test` the environment points at real services (PostgreSQL, Redis, the Ceph S3
server) and REQUIRE_SERVICES=1: a test marked for a service then fails instead of skipping
when the service is missing, so a green run really ran against them.
"""

from __future__ import annotations

import importlib
import os
import uuid
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.storage import S3Storage, get_storage
from apps.registry.models import Attorney, ExemptNumber
from tests.actors import (
    Actor,
    Cast,
    actor,
    attorney_user,
    build_cast,
    client_for,
    grant_facility,
    home_facilities,
    registry_clerk,
    switch_account,
)
from tests.factories import InmateFactory, UserFactory
from tests.support.insider import insider  # noqa: F401 - a fixture, shared by app test packages

# Re-exported: test modules import these from here.
__all__ = ["Actor", "Cast", "actor", "grant_facility"]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _need(condition: bool, what: str) -> None:
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required under REQUIRE_SERVICES=1 but is not configured")
    pytest.skip(f"needs {what} (run `make test`)")


@pytest.fixture(autouse=True)
def _service_markers(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        _need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")
    if request.node.get_closest_marker("s3"):
        _need(settings.RECORDINGS_STORAGE == "s3", "the S3 server (RECORDINGS_STORAGE=s3)")
    if request.node.get_closest_marker("broker"):
        _need(not settings.CELERY_TASK_ALWAYS_EAGER, "a Celery broker (CELERY_BROKER_URL)")


@pytest.fixture(scope="session", autouse=True)
def _sqlite_flush_passes_the_audit_triggers() -> Iterator[None]:
    """SQLite has no TRUNCATE: the flush after a transactional test deletes every row, which
    the append-only triggers refuse (PostgreSQL's TRUNCATE does not fire them). Drop them for
    the flush and put them back, as a table owner could."""
    from tests.audit.helpers import sqlite_triggers

    if connection.vendor != "sqlite":
        yield
        return
    operations = type(connection.ops)
    create, drop = sqlite_triggers()
    # The prompt texts are append-only too (apps/facilities/migrations/0002_prompt_texts.py).
    prompts = importlib.import_module("apps.facilities.migrations.0002_prompt_texts")
    create, drop = [*create, *prompts.SQLITE_APPEND_ONLY], [*drop, *prompts.SQLITE_APPEND_ONLY_DROP]
    original = operations.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, **options: Any) -> list[str]:
        statements = original(self, style, tables, **options)
        return [*drop, *statements, *create] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(operations, "sql_flush", sql_flush)
        yield


@pytest.fixture(autouse=True)
def _off_hours_away_from_now(settings: Any) -> None:
    """The off-hours rule depends on the clock; tests other than its own must not. Put the
    off hours twelve hours away from now so a run at night is judged like one by day."""
    hour = timezone.now().astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).hour
    start = (hour + 12) % 24
    settings.ANOMALY_OFF_HOURS = {"start": start, "end": (start + 1) % 24, "timezone": settings.TIME_ZONE}


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache (the process-local LocMemCache). Without this a
    quota override a test writes stays cached for LIMITS_CACHE_SECONDS (apps.access.quotas)
    and throttles whatever test runs next within those seconds."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def storage(settings: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """Each test gets its own recordings area: a fresh local folder, or the real S3 bucket."""
    if settings.RECORDINGS_STORAGE == "local":  # type: ignore[attr-defined]
        settings.RECORDINGS_DIR = tmp_path / "recordings"  # type: ignore[attr-defined]
    # A checkpoint witness of this test's own (local folder, or a prefix of the test bucket).
    settings.AUDIT_WITNESS_DIR = tmp_path / "witness"  # type: ignore[attr-defined]
    settings.AUDIT_WITNESS_PREFIX = f"audit-checkpoints/test-{uuid.uuid4().hex}/"  # type: ignore[attr-defined]
    get_storage.cache_clear()
    backend = get_storage()
    if isinstance(backend, S3Storage):
        backend.ensure_bucket()
    yield backend
    get_storage.cache_clear()


@dataclass
class Switch:
    user: User
    facility: Facility
    client: APIClient


def _client_for(user: User) -> APIClient:
    return client_for(user)


@pytest.fixture
def facilities(db: None) -> tuple[Facility, Facility]:
    return home_facilities()


@pytest.fixture
def facility(facilities: tuple[Facility, Facility]) -> Facility:
    return facilities[0]


@pytest.fixture
def other_facility(facilities: tuple[Facility, Facility]) -> Facility:
    return facilities[1]


@pytest.fixture
def cast(facility: Facility, other_facility: Facility) -> Cast:
    """The standard staff of the home facility (tests/actors.py): admin, investigator (no
    grant yet), officer, auditor."""
    return build_cast(facility, other_facility)


@pytest.fixture
def switch(facility: Facility) -> Switch:
    who = switch_account(facility, "switch-home")
    return Switch(who.user, facility, who.client)


@pytest.fixture
def other_switch(other_facility: Facility) -> Switch:
    who = switch_account(other_facility, "switch-other")
    return Switch(who.user, other_facility, who.client)


@pytest.fixture
def inmate(facility: Facility) -> Inmate:
    return InmateFactory(facility=facility, booking_number="A1001")


@pytest.fixture
def attorney(db: None) -> Attorney:
    return attorney_user("attorney")


@pytest.fixture
def attorney_client(attorney: Attorney) -> APIClient:
    return client_for(attorney.user)


@pytest.fixture
def clerk(db: None) -> User:
    return registry_clerk("clerk").user


@pytest.fixture
def clerk_client(clerk: User) -> APIClient:
    return client_for(clerk)


@pytest.fixture
def stranger_client(db: None) -> APIClient:
    return client_for(UserFactory(username="stranger"))


@pytest.fixture
def store_recording(storage: object) -> Any:
    """Store real audio for a call through the gate (the path the switch uses)."""
    import io

    from apps.recordings.services import recording_store

    def store(call: Any, audio: bytes = b"RIFF" + b"\x00" * 2048) -> Any:
        switch_user = UserFactory(username=f"switch-for-{call.facility.code}")
        return recording_store(
            call=call,
            body=io.BytesIO(audio),
            content_type="audio/wav",
            content_length=len(audio),
            expected_sha256=None,
            actor=switch_user,
        )

    return store


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Run tasks in-process for tests about what a task does (not about delivery)."""
    from callplatform.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def wipe_registry() -> None:
    """Empty the registry, as another platform's fresh install would be (portability tests).

    Production never deletes a registration (a PostgreSQL trigger refuses it, whatever the
    path); TRUNCATE is the database owner's path and does not fire row triggers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Deferred foreign-key checks of this test's inserts must run before a TRUNCATE.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE registry_exemptnumber, registry_attorney CASCADE")
    else:
        ExemptNumber.objects.all().delete()
        Attorney.objects.all().delete()
