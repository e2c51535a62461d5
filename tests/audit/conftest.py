"""Real services for the audit fault tests: a throwaway Redis broker and real Celery workers.

The broker is our own ``redis-server`` on port 6391 (never the machine's shared Redis), so a
test may stop and start it. Workers are ``celery -A callplatform worker -B`` subprocesses
pointed at the pytest-django test database; tests using them must be
``django_db(transaction=True)`` so the worker sees committed rows.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from callplatform.celery import app as celery_app

BROKER_PORT = 6391
BROKER_URL = f"redis://127.0.0.1:{BROKER_PORT}/0"
VENV_BIN = Path(sys.executable).parent


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Broker:
    """A private redis-server the test may stop and restart (data is not kept, like a crash)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(BROKER_PORT),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _port_open(BROKER_PORT), timeout=10, what="redis-server to listen")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
        wait_until(lambda: not _port_open(BROKER_PORT), timeout=10, what="redis-server to stop")


@pytest.fixture
def broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for the broker fault tests")
    if _port_open(BROKER_PORT):
        pytest.fail(f"port {BROKER_PORT} is taken; another test broker is running")
    server = Broker(tmp_path)
    server.start()
    previous = celery_app.conf.broker_url
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", BROKER_URL)
    celery_app.conf.broker_url = BROKER_URL
    try:
        yield server
    finally:
        celery_app.conf.broker_url = previous
        server.stop()


class Worker:
    """A real Celery worker process, supervised like systemd's Restart=on-failure does in
    production (infra/deploy/callplatform-worker.service): if it exits on its own, it is started
    again a second later. ``kill`` simulates a crash and leaves it dead until ``start``."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name, self.env, self.log = name, env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def _spawn(self) -> None:
        command = [
            str(VENV_BIN / "celery"),
            "-A",
            "callplatform",
            "worker",
            "-B",
            "-s",
            str(self.log.with_suffix(".beat")),
            "-n",
            f"{self.name}@%h",
            "--concurrency=2",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(  # noqa: S603
                command, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            process = self.process
            if process is None or process.poll() is None:
                time.sleep(0.2)
                continue
            if self._stopping.is_set():
                return
            with open(self.log, "ab") as out:
                out.write(f"supervisor: worker exited with {process.returncode}, restarting\n".encode())
            time.sleep(1)
            if not self._stopping.is_set():
                self.restarts += 1
                self._spawn()

    def start(self) -> None:
        ready_before = self.log.read_bytes().count(b" ready.") if self.log.exists() else 0
        self._stopping.clear()
        self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()
        wait_until(
            lambda: self.log.read_bytes().count(b" ready.") > ready_before,
            timeout=60,
            what=f"worker {self.name} to be ready (log: {self.log})",
        )

    def _signal(self, signum: int) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(5)
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the worker and every process it started (pool children, beat)."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        self._signal(signal.SIGTERM)
        if self.process is not None:
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None


def _database_url() -> str:
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}/{db['NAME']}"


@pytest.fixture
def workers(transactional_db: None, broker: Broker, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start real Celery workers (with an embedded beat sealing every second)."""
    started: list[Worker] = []

    def start(*, batch_size: int = 1000) -> Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "callplatform.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": BROKER_URL,
            "AUDIT_SEAL_EVERY_SECONDS": "1",
            "AUDIT_CHECKPOINT_EVERY_SECONDS": "2",
            "AUDIT_SEAL_BATCH_SIZE": str(batch_size),
            "AUDIT_EXPORT_DIR": str(tmp_path / "exports"),
            # Like the test process (tests/conftest.py): off hours twelve hours away from now.
            "ANOMALY_OFF_HOURS_START": str(settings.ANOMALY_OFF_HOURS["start"]),
            "ANOMALY_OFF_HOURS_END": str(settings.ANOMALY_OFF_HOURS["end"]),
            "ANOMALY_OFF_HOURS_TIMEZONE": settings.ANOMALY_OFF_HOURS["timezone"],
        }
        name = f"audit-test-{uuid.uuid4().hex[:8]}"
        worker = Worker(name, env, tmp_path / f"{name}.log")
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    connection.close()
