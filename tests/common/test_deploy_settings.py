"""Issue 9, Medium 8: the default deployment must not run on the repository's public key.

Each case imports the settings in a fresh interpreter with a crafted environment (settings are
read once per process, so this is the only honest way to test a start).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.support.fresh import run_python

PUBLIC_KEY = "insecure-embedded-default-do-not-use-in-production"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _production_env(tmp_path: Path, **changes: str | None) -> dict[str, str]:
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "VAR_DIR": str(tmp_path / "var"),
        "DJANGO_SETTINGS_MODULE": "callplatform.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "RECORDINGS_MASTER_KEY": _b64(secrets.token_bytes(32)),
        "AUDIT_SIGNING_KEY": _b64(secrets.token_bytes(32)),
        "AUDIT_REFERENCE_KEY": _b64(secrets.token_bytes(32)),
        "DECISION_LIST_KEY": _b64(secrets.token_bytes(32)),
        "ALLOWED_HOSTS": "calls.example.org",
        "EMAIL_URL": "smtp+tls://mailer:pw@mail.example.org:587",
        "DATABASE_URL": "postgres://callplatform:pw@127.0.0.1:5432/callplatform",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


def _import_settings(environ: dict[str, str], code: str | None = None) -> subprocess.CompletedProcess[str]:
    module = environ.get("DJANGO_SETTINGS_MODULE", "callplatform.settings.base")
    return run_python(["-c", code or f"import {module}"], environ)


def test_a_complete_production_environment_starts(tmp_path: Path) -> None:
    result = _import_settings(_production_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def _derived(purpose: bytes, key: str) -> str:
    return _b64(hashlib.sha256(purpose + key.encode()).digest())


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("public_secret_key", "SECRET_KEY is the repository's public default"),
        ("missing_secret_key", "SECRET_KEY is missing"),
        ("short_secret_key", "SECRET_KEY is too weak"),
        ("repetitive_secret_key", "SECRET_KEY is too weak"),
        ("django_insecure_key", "django-insecure-"),
        ("missing_master_key", "RECORDINGS_MASTER_KEY is missing"),
        ("master_key_from_public_key", "RECORDINGS_MASTER_KEY is derived from SECRET_KEY"),
        ("master_key_from_own_key", "RECORDINGS_MASTER_KEY is derived from SECRET_KEY"),
        ("missing_signing_key", "AUDIT_SIGNING_KEY is missing"),
        ("signing_key_from_public_key", "AUDIT_SIGNING_KEY is derived from SECRET_KEY"),
        ("signing_key_from_own_key", "AUDIT_SIGNING_KEY is derived from SECRET_KEY"),
        ("missing_reference_key", "AUDIT_REFERENCE_KEY is missing"),
        ("reference_key_from_public_key", "AUDIT_REFERENCE_KEY is derived from SECRET_KEY"),
        ("missing_decision_list_key", "DECISION_LIST_KEY is missing"),
        ("decision_list_key_from_public_key", "DECISION_LIST_KEY is derived from SECRET_KEY"),
        ("debug", "DEBUG is on"),
        ("no_allowed_hosts", "ALLOWED_HOSTS is empty"),
        ("blank_allowed_hosts", "ALLOWED_HOSTS is empty"),
        ("console_email", "console.EmailBackend delivers nothing"),
        ("default_email", "console.EmailBackend delivers nothing"),
        ("locmem_email", "locmem.EmailBackend delivers nothing"),
        ("file_email", "filebased.EmailBackend delivers nothing"),
    ],
)
def test_production_refuses_to_start(tmp_path: Path, case: str, expected: str) -> None:
    own = secrets.token_urlsafe(50)
    changes: dict[str, dict[str, str | None]] = {
        "public_secret_key": {"SECRET_KEY": PUBLIC_KEY},
        "missing_secret_key": {"SECRET_KEY": None},
        "short_secret_key": {"SECRET_KEY": "s3cr3t-but-short"},
        "repetitive_secret_key": {"SECRET_KEY": "ab" * 40},
        "django_insecure_key": {"SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)},
        "missing_master_key": {"RECORDINGS_MASTER_KEY": None},
        "master_key_from_public_key": {
            "RECORDINGS_MASTER_KEY": _derived(b"recordings-master-key:", PUBLIC_KEY)
        },
        "master_key_from_own_key": {
            "SECRET_KEY": own,
            "RECORDINGS_MASTER_KEY": _derived(b"recordings-master-key:", own),
        },
        "missing_signing_key": {"AUDIT_SIGNING_KEY": None},
        "signing_key_from_public_key": {"AUDIT_SIGNING_KEY": _derived(b"audit-signing-key:", PUBLIC_KEY)},
        "signing_key_from_own_key": {
            "SECRET_KEY": own,
            "AUDIT_SIGNING_KEY": _derived(b"audit-signing-key:", own),
        },
        "missing_reference_key": {"AUDIT_REFERENCE_KEY": None},
        "reference_key_from_public_key": {
            "AUDIT_REFERENCE_KEY": _derived(b"audit-reference-key:", PUBLIC_KEY)
        },
        "missing_decision_list_key": {"DECISION_LIST_KEY": None},
        "decision_list_key_from_public_key": {
            "DECISION_LIST_KEY": _derived(b"decision-list-key:", PUBLIC_KEY)
        },
        "debug": {"DEBUG": "true"},
        "no_allowed_hosts": {"ALLOWED_HOSTS": None},
        "blank_allowed_hosts": {"ALLOWED_HOSTS": " "},
        "console_email": {
            "EMAIL_URL": None,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        },
        "default_email": {"EMAIL_URL": None},
        "locmem_email": {"EMAIL_URL": None, "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        "file_email": {
            "EMAIL_URL": None,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        },
    }[case]
    result = _import_settings(_production_env(tmp_path, **changes))
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert expected in result.stderr


def test_manage_py_check_deploy_refuses_the_public_key(tmp_path: Path) -> None:
    environ = _production_env(tmp_path, SECRET_KEY=PUBLIC_KEY)
    result = run_python(["manage.py", "check", "--deploy"], environ)
    assert result.returncode != 0
    assert "SECRET_KEY is the repository's public default" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "postgres://callplatform:pw@127.0.0.1:5432/callplatform"),
        ("RECORDINGS_STORAGE", "s3"),
        ("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    ],
)
def test_the_embedded_default_warns_once_on_a_production_shaped_environment(
    tmp_path: Path, variable: str, value: str
) -> None:
    environ = {"PATH": os.environ.get("PATH", ""), "VAR_DIR": str(tmp_path / "var"), variable: value}
    # The child stands for runserver's reloader or a Celery pool: the warning is said once.
    code = (
        "import subprocess, sys, callplatform.settings.base; "
        "subprocess.run([sys.executable, '-c', 'import callplatform.settings.base'], check=True)"
    )
    result = _import_settings(environ, code)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("PUBLIC SECRET_KEY") == 1
    assert "callplatform.settings.production" in result.stderr


def test_the_embedded_default_is_quiet_when_nothing_is_set(tmp_path: Path) -> None:
    result = _import_settings({"PATH": os.environ.get("PATH", ""), "VAR_DIR": str(tmp_path / "var")})
    assert result.returncode == 0
    assert result.stderr == ""


def test_the_embedded_default_is_quiet_with_its_own_key(tmp_path: Path) -> None:
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "RECORDINGS_STORAGE": "s3",
    }
    result = _import_settings(environ)
    assert result.returncode == 0
    assert result.stderr == ""


def test_seed_demo_refuses_under_production(db: None, settings: object) -> None:
    settings.DEPLOYMENT = "production"  # type: ignore[attr-defined]
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")


def test_demo_passwords_do_not_derive_from_the_public_key(db: None, settings: object, tmp_path: Path) -> None:
    from apps.demo.seed import demo_password

    settings.VAR_DIR = tmp_path / "one"  # type: ignore[attr-defined]
    first = demo_password("investigator")
    public = hmac.new(PUBLIC_KEY.encode(), b"demo:investigator", hashlib.sha256)
    assert first != base64.urlsafe_b64encode(public.digest())[:18].decode()
    assert demo_password("investigator") == first  # stable for one installation
    settings.VAR_DIR = tmp_path / "two"  # type: ignore[attr-defined]
    assert demo_password("investigator") != first  # another installation, other passwords
    assert (tmp_path / "one" / "demo-secret").stat().st_mode & 0o077 == 0
