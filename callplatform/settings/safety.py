"""What makes a start safe for production, in one place (not a settings module itself).

The embedded default runs on a SECRET_KEY that is in the repository, and derives the recordings
master key and the audit signing key from it so that a newcomer's demo works. Anyone can read
that key, so anything derived from it protects nothing: the production module refuses it, and
the embedded default says so loudly when the environment looks like a real deployment.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Mapping

# The repository's public key: fine for a demo on a laptop, worthless anywhere else.
EMBEDDED_SECRET_KEY = "insecure-embedded-default-do-not-use-in-production"  # noqa: S105

MASTER_KEY_PURPOSE = b"recordings-master-key:"
SIGNING_KEY_PURPOSE = b"audit-signing-key:"
REFERENCE_KEY_PURPOSE = b"audit-reference-key:"
DECISION_LIST_KEY_PURPOSE = b"decision-list-key:"

# E-mail backends that deliver nothing: a production start would drop every verification,
# reset and suspension notice (or keep them in memory or in files nobody reads).
UNDELIVERED_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}

# Settings modules that do not warn: tests and benchmarks run on real services with the public
# key on purpose, and the production module refuses it outright.
QUIET_SETTINGS_MODULES = {"callplatform.settings.test", "callplatform.settings.production", "bench.settings"}

_WARNED_MARKER = "CALLPLATFORM_PUBLIC_KEY_WARNED"


def derived_key(purpose: bytes, secret_key: str) -> bytes:
    """The embedded default's key for one purpose, derived from SECRET_KEY."""
    return hashlib.sha256(purpose + secret_key.encode()).digest()


def secret_key_problem(secret_key: str) -> str | None:
    """Why a SECRET_KEY is unfit for production, or None (the criteria of Django's W009)."""
    if not secret_key:
        return "SECRET_KEY is missing"
    if secret_key == EMBEDDED_SECRET_KEY:
        return "SECRET_KEY is the repository's public default"
    if secret_key.startswith("django-insecure-"):
        return "SECRET_KEY is a django-insecure- placeholder"
    if len(secret_key) < 50 or len(set(secret_key)) < 5:
        return "SECRET_KEY is too weak (at least 50 characters, at least 5 distinct)"
    return None


def _derived_key_problem(name: str, raw: str, purpose: bytes, secret_key: str) -> str | None:
    if not raw:
        return f"{name} is missing (it would be derived from SECRET_KEY)"
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        return None  # base.py already refuses a malformed key with its own message
    for source in {secret_key, EMBEDDED_SECRET_KEY}:
        if key == derived_key(purpose, source):
            return f"{name} is derived from SECRET_KEY; generate an independent key (env.example)"
    return None


def production_problems(
    *,
    environ: Mapping[str, str],
    secret_key: str,
    allowed_hosts: list[str],
    email_backend: str,
) -> list[str]:
    """Every reason this environment must not start as production (empty: it may start)."""
    problems = []
    if problem := secret_key_problem(secret_key):
        problems.append(problem)
    for name, purpose in (
        ("RECORDINGS_MASTER_KEY", MASTER_KEY_PURPOSE),
        ("AUDIT_SIGNING_KEY", SIGNING_KEY_PURPOSE),
        ("AUDIT_REFERENCE_KEY", REFERENCE_KEY_PURPOSE),
        ("DECISION_LIST_KEY", DECISION_LIST_KEY_PURPOSE),
    ):
        if problem := _derived_key_problem(name, environ.get(name, ""), purpose, secret_key):
            problems.append(problem)
    master, signing = environ.get("RECORDINGS_MASTER_KEY", ""), environ.get("AUDIT_SIGNING_KEY", "")
    if master and master == signing:
        problems.append("RECORDINGS_MASTER_KEY and AUDIT_SIGNING_KEY must be different keys")
    if environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on", "y", "t"}:
        problems.append("DEBUG is on (it shows settings and data in error pages)")
    if not environ.get("ALLOWED_HOSTS", "").strip() or not [h for h in allowed_hosts if h.strip()]:
        problems.append("ALLOWED_HOSTS is empty (name the host names nginx serves)")
    elif "*" in allowed_hosts:
        problems.append("ALLOWED_HOSTS may not be '*'")
    if email_backend in UNDELIVERED_EMAIL_BACKENDS:
        problems.append(f"EMAIL_BACKEND {email_backend} delivers nothing; configure SMTP (EMAIL_URL)")
    return problems


def production_shape(environ: Mapping[str, str]) -> list[str]:
    """What in the environment says "this is a real deployment"."""
    signs = []
    if environ.get("DATABASE_URL", "").startswith(("postgres", "pgsql")):
        signs.append("DATABASE_URL points at PostgreSQL")
    if environ.get("RECORDINGS_STORAGE", "") == "s3":
        signs.append("RECORDINGS_STORAGE=s3")
    if environ.get("CELERY_BROKER_URL", ""):
        signs.append("CELERY_BROKER_URL is set")
    return signs


def warn_public_key_once(*, secret_key: str) -> None:
    """On stderr, once per process tree: the embedded default on a production-shaped
    environment with the public key. Quiet when nothing is set (a demo)."""
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "callplatform.settings.base")
    if secret_key != EMBEDDED_SECRET_KEY or module in QUIET_SETTINGS_MODULES:
        return
    signs = production_shape(os.environ)
    if not signs or os.environ.get(_WARNED_MARKER):
        return
    # Children (runserver's reloader, Celery's pool) inherit the marker and stay quiet.
    os.environ[_WARNED_MARKER] = "1"
    bar = "!" * 78
    sys.stderr.write(
        f"{bar}\n"
        f"WARNING: callplatform is running on the embedded default with the PUBLIC SECRET_KEY,\n"
        f"but the environment looks like a deployment ({'; '.join(signs)}).\n"
        f"The recordings master key, the audit signing key and the demo passwords are derived\n"
        f"from that key: anyone with the repository can decrypt recordings and forge the trail.\n"
        f"Start with DJANGO_SETTINGS_MODULE=callplatform.settings.production (infra/deploy/).\n"
        f"{bar}\n"
    )
