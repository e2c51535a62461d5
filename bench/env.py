"""Environment checks and the bench database: created, migrated and seeded once per run.

The bench never touches the dev database: it uses a database of its own on the same
PostgreSQL server (``callplatform_bench`` by default), created here with the credentials of
DATABASE_URL, and an S3 bucket of its own (``callplatform-bench``) on the same S3 server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

SETTINGS_MODULE = "bench.settings"


class BenchEnvironmentError(Exception):
    """The environment cannot run the benchmark (a message for the user, no traceback)."""


def log(message: str) -> None:
    """Progress goes to stderr; figures go to stdout."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def check_environment() -> None:
    hint = (
        "run `make bench`, which starts PostgreSQL, Redis and the S3 server (infra/services.sh up) "
        "and exports DATABASE_URL, RECORDINGS_STORAGE=s3, S3_* and AWS_* for the benchmark"
    )
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise BenchEnvironmentError(
            f"DATABASE_URL must point at PostgreSQL (got {url.split('@')[-1] or 'nothing'}): {hint}"
        )
    missing = [
        name
        for name in ("S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        if not os.environ.get(name)
    ]
    if os.environ.get("RECORDINGS_STORAGE") != "s3" or missing:
        detail = "RECORDINGS_STORAGE is not 's3'" if not missing else f"{', '.join(missing)} not set"
        raise BenchEnvironmentError(f"S3 is not configured ({detail}): {hint}")


def _source_db() -> dict[str, Any]:
    import environ

    return dict(environ.Env.db_url_config(os.environ["DATABASE_URL"]))


def bench_db_name() -> str:
    return os.environ.get("BENCH_DB_NAME", "callplatform_bench")


def _admin_connection() -> Any:
    """An autocommit connection to the *source* database, to create or drop the bench one."""
    import psycopg

    cfg = _source_db()
    return psycopg.connect(
        dbname=cfg["NAME"],
        user=cfg.get("USER") or None,
        password=cfg.get("PASSWORD") or None,
        host=cfg.get("HOST") or None,
        port=str(cfg["PORT"]) if cfg.get("PORT") else None,
        autocommit=True,
        connect_timeout=10,
    )


def ensure_bench_database(*, reset: bool) -> bool:
    """Create the bench database if it is missing (drop it first on reset). True if created."""
    from psycopg import sql

    name = bench_db_name()
    if name == _source_db()["NAME"]:
        raise BenchEnvironmentError(f"BENCH_DB_NAME ({name}) must differ from the DATABASE_URL database")
    with _admin_connection() as conn:
        if reset:
            log(f"dropping database {name}")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        log(f"creating database {name}")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


@dataclass(frozen=True)
class Fixture:
    """What the sections need from the seeded bench database."""

    facility_code: str
    switch_username: str
    switch_token: str
    booking_numbers: list[str]


_FIXTURE: Fixture | None = None


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    import django

    django.setup()


def prepare(*, reset: bool = False) -> Fixture:
    """Bench database created, migrated and seeded; Django set up with bench.settings."""
    global _FIXTURE
    if _FIXTURE is not None:
        return _FIXTURE
    ensure_bench_database(reset=reset)
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    from apps.demo.seed import seed_demo
    from apps.recordings.storage import S3Storage, get_storage
    from bench.views import CREATE_PROBE_TABLE

    storage = get_storage()
    if isinstance(storage, S3Storage):
        storage.ensure_bucket()  # the bench stores recordings there

    log("migrating the bench database")
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(CREATE_PROBE_TABLE)
    log("seeding demo facilities, inmates and switch accounts (apps.demo.seed.seed_demo)")
    seed = seed_demo()
    facility = seed.facilities[0]
    _FIXTURE = Fixture(
        facility_code=facility["code"],
        switch_username=f"switch-{facility['code']}",
        switch_token=facility["switch_token"],
        booking_numbers=[i["booking_number"] for i in seed.inmates if i["facility"] == facility["code"]],
    )
    return _FIXTURE


def ensure_apt_package(command: str, package: str) -> str:
    """Path of ``command``, installing the Debian ``package`` with apt-get if it is missing."""
    found = shutil.which(command)
    if found:
        return found
    apt = ["apt-get", "install", "-y", "-q", package]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise BenchEnvironmentError(f"{command} is missing; install it: apt-get install -y {package}")
        apt = ["sudo", *apt]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log(f"{command} is missing: {' '.join(apt)}")
    if subprocess.run(apt, env=env, capture_output=True, check=False).returncode != 0:
        log("apt-get install failed; running apt-get update and retrying")
        update = [*apt[: apt.index("install")], "update", "-q"]
        subprocess.run(update, env=env, capture_output=True, check=False)
        result = subprocess.run(apt, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BenchEnvironmentError(
                f"could not install {package} with apt-get:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
    found = shutil.which(command)
    if not found:
        raise BenchEnvironmentError(f"{package} installed but {command} is not on PATH")
    return found
