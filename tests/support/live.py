"""A real server in a child process, on a fresh seeded database: the embedded default (SQLite
in a temporary VAR_DIR) or a PostgreSQL database of its own. For fuzzing and concurrency
tests, which must see what a client sees (threads, real connections, real transactions)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from tests.support.fresh import ROOT, run_python


@dataclass
class LiveServer:
    url: str
    seed: dict[str, Any]
    log: Path

    def token(self, role: str) -> str:
        if role == "switch":
            return str(self.seed["facilities"][0]["switch_token"])
        if role == "attorney":
            return str(self.seed["attorneys"][0]["token"])
        return str(self.seed["users"][role]["token"])

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path)  # noqa: S310 - our own http server
        if token:
            request.add_header("Authorization", f"Token {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fresh_postgres(url: str, name: str) -> str:
    """A new, empty database next to the one ``url`` names (dropped first if left over)."""
    import psycopg

    parsed = urlparse(url)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


def _drop_postgres(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    with psycopg.connect(urlunparse(parsed._replace(path="/postgres")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')


def _manage(args: list[str], environ: dict[str, str]) -> str:
    result = run_python(["manage.py", *args], environ)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


@contextmanager
def live_server(var_dir: Path, *, postgres_url: str | None = None) -> Iterator[LiveServer]:
    """Migrate, seed and serve; stop the server (and drop its database) afterwards."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
        "DJANGO_SETTINGS_MODULE": "callplatform.settings.base",
        "VAR_DIR": str(var_dir),
        # A key of its own: the public one would (rightly) warn on PostgreSQL.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",
        # Fuzzing is many requests from one user: quotas and anomaly rules would rightly stop
        # it long before it has covered the API; they have their own tests.
        "QUOTA_CALL_ROWS_PER_HOUR": "100000000",
        "QUOTA_CALL_ROWS_PER_DAY": "100000000",
        "QUOTA_PLAYBACK_PER_HOUR": "100000000",
        "QUOTA_PLAYBACK_PER_DAY": "100000000",
        "ANOMALY_DENIED_PROBES": "100000000",
        "ANOMALY_PLAYBACK_BURST": "100000000",
        "ANOMALY_DISTINCT_INMATES": "100000000",
        "ANOMALY_EXPORT_BURST": "100000000",
        "ANOMALY_QUOTA_HITS": "100000000",
        "ANOMALY_OFF_HOURS_BULK": "100000000",
        "ANOMALY_BASELINE_MIN": "100000000",
    }
    database = None
    if postgres_url:
        database = _fresh_postgres(postgres_url, f"{urlparse(postgres_url).path.lstrip('/')}_live")
        environ["DATABASE_URL"] = database
    var_dir.mkdir(parents=True, exist_ok=True)
    _manage(["migrate", "--noinput", "-v0"], environ)
    seed = json.loads(_manage(["seed_demo", "--json"], environ))
    # Calls, recordings and claims for the fuzzer's ids to land on.
    _manage(["simulate_calls", "--calls", "30"], environ)
    # The canaries sit on the lowest ids, the first a fuzzer tries: touching one suspends the
    # fuzzing user and the rest of the pass would only see 401s. Canaries have their own tests.
    _manage(["shell", "-c", "from apps.access.models import Canary; Canary.objects.all().delete()"], environ)
    port = _free_port()
    log = var_dir / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    live = LiveServer(url=f"http://127.0.0.1:{port}", seed=seed, log=log)
    try:
        for _ in range(300):
            try:
                if live.get("/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the server did not start:\n{log.read_text()[-3000:]}")
        yield live
    finally:
        server.terminate()
        server.wait(timeout=30)
        if database:
            _drop_postgres(database)
