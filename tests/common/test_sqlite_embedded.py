"""Issue 9, "Also found by fuzzing": the embedded default (SQLite) answered 500 "database is
locked" to two clients at once, and its audit tables had no append-only triggers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.chain import audit_checkpoint_create
from apps.audit.models import AuditEvent, Checkpoint
from tests.audit.test_chain import _sealed
from tests.support.live import LiveServer, live_server

CLIENTS = 6
CALLS_EACH = 10


def _post(live: LiveServer, path: str, token: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(  # noqa: S310 - our own http server
        live.url + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_concurrent_clients_get_no_database_is_locked(tmp_path: Path) -> None:
    with live_server(tmp_path / "var") as live:
        facility = live.seed["facilities"][0]
        inmate = next(i for i in live.seed["inmates"] if i["facility"] == facility["code"])

        def client(n: int) -> list[int]:
            statuses = []
            for k in range(CALLS_EACH):
                body = {
                    "switch_call_id": f"conc-{n}-{k}",
                    "inmate": inmate["booking_number"],
                    "dialed_number": f"+1212555{n:02d}{k:02d}",
                    "started_at": "2026-01-05T10:00:00Z",
                }
                statuses.append(_post(live, "/api/v1/calls/", facility["switch_token"], body))
                statuses.append(live.get("/api/v1/calls/", live.token("investigator"))[0])
            return statuses

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [s for batch in pool.map(client, range(CLIENTS)) for s in batch]
        assert 500 not in statuses, live.log.read_text()[-3000:]
        assert statuses.count(201) == CLIENTS * CALLS_EACH


@pytest.mark.django_db
def test_the_embedded_defaults_audit_tables_are_append_only() -> None:
    """The detail (sealing rules, checkpoints) runs on both databases in tests/audit/test_chain.py."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite triggers; PostgreSQL's are tested in tests/audit")
    _sealed(2)
    audit_checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(sequence=1).update(action="test.other")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.all().delete()
