"""Settings, read from the environment.

With nothing set, the project runs on the embedded default: SQLite, recordings on local disk
under var/recordings/, Celery in eager mode. Each real service is switched on by one variable
(DATABASE_URL, CELERY_BROKER_URL, RECORDINGS_STORAGE=s3). Bad values fail loudly at start-up.

Size: one file on purpose, so that every knob an operator can turn is found in one place, each
with the reason for its default; the production refusals live apart (settings/safety.py).
"""

from __future__ import annotations

import base64
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from callplatform.settings import safety

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# The embedded default's key is public (it is in the repository): fine for a demo, refused by
# the production module (callplatform/settings/safety.py).
SECRET_KEY = env.str("SECRET_KEY", default=safety.EMBEDDED_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "testserver"])

INSTALLED_APPS = [
    "apps.common.admin_site.SuperuserAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc served from our own static files
    "guardian",
    "axes",
    "apps.common",
    "apps.audit",
    "apps.facilities",
    "apps.inmates",
    "apps.registry",
    "apps.calls",
    "apps.recordings",
    "apps.access",
    "apps.accounts",
    "apps.demo",
    "apps.portal",
    "apps.attorneys",
    "apps.actions",
    "apps.compliance",
    "apps.history",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.common.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.common.middleware.RequestIdMiddleware",
    "apps.common.middleware.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.middleware.AdminAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out login into the lockout page (AXES_LOCKOUT_CALLABLE).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "callplatform.urls"
WSGI_APPLICATION = "callplatform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Persistent connections: a new PostgreSQL connection costs more than a whole call setup.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Test a kept connection (one `SELECT 1`) before a request's first query, so a PostgreSQL
# restart costs no failed request; on the call-setup hot path that is a third round trip
# (bench/README.md shows what it costs). Turn off only behind a pooler that checks for you.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Lets apps.common.db.fetchone_prepared prepare the few hot-path statements (Django leaves
    # psycopg's prepared statements off; its own client-side-binding cursors never prepare).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # A few concurrent users without "database is locked": writers wait for each other (busy
    # timeout, seconds); WAL lets readers run beside the writer; IMMEDIATE takes the write lock
    # when a transaction begins, so two transactions that read then write cannot deadlock on
    # the upgrade (SQLite fails that case at once, whatever the timeout).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Two PostgreSQL-only refinements SQLite ignores (a NULLS NOT DISTINCT unique constraint on
    # quota overrides, INCLUDE columns on an index); the embedded default is for trying the
    # platform, PostgreSQL is what production and `make test` run on.
    SILENCED_SYSTEM_CHECKS = ["models.W047", "models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses any login attempt while the username+IP pair is locked out.
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that tells an attorney with an unconfirmed e-mail so (apps/accounts/backends.py).
    "apps.accounts.backends.PasswordBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves static files from the app itself (the portal has no build step). With
# finders on, it needs no collectstatic (demo, tests); production turns them off.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
# With finders on, STATIC_ROOT need not exist; WhiteNoise would warn about it on every start.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

# --- Login throttling (django-axes): 5 failures per username+IP pair lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "apps.portal.views.auth.locked_out"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.facilities.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "apps.common.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.common.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.common.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "callplatform API",
    "VERSION": "1",
    "DESCRIPTION": (
        "Inmate-calling platform with secure recording controls.\n\n"
        "**Authentication.** `Authorization: Token <key>`. A switch's token belongs to one "
        "facility and reaches only that facility's calls; staff, attorneys and clerks have "
        "their own tokens (or the portal session, from the portal's own pages).\n\n"
        "**A switch's call, in order.** 1. `POST /api/v1/calls/` with the booking number as "
        "`inmate`: the answer's `record` says whether to record, and `prompt` which notice to "
        "play. 2. Only when `record` is true: `PUT /api/v1/calls/{id}/recording/` with the raw "
        "`audio/*` body and its `Content-SHA256`; a privileged call is refused (403 "
        "`privileged`) and nothing is stored. 3. `POST /api/v1/calls/{id}/end/` with `ended_at` "
        "and the prompt played. Without call setup, decide with the signed decision list "
        "(`GET /api/v1/switch/decision-list/`): an unknown state means do not record.\n\n"
        '**Errors** are `{"reason": "<stable code>", "detail": "<message>"}`; each '
        "operation lists its reasons."
    ),
    # Several models have a `status` with its own choices: one named enum each.
    "ENUM_NAME_OVERRIDES": {
        "ExemptNumberStatusEnum": "apps.registry.models.ExemptStatus",
        "InmateClaimStatusEnum": "apps.registry.models.ClaimStatus",
        "RecordingExportStatusEnum": "apps.access.models.ExportStatus",
        "AuditExportStatusEnum": "apps.audit.models.ExportStatus",
        "RecordingStateEnum": "apps.recordings.models.RecordingState",
    },
    # Operations grouped by resource (calls, recordings, registry, ...), not all under "v1";
    # operation ids lose the "v1_" prefix too (calls_create, calls_recording_update).
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "TAGS": [
        {
            "name": "calls",
            "description": "Switch: call setup, the audio upload (PUT .../recording/) and call end. "
            "Staff: call search and download.",
        },
        {"name": "recordings", "description": "Staff: recordings, playback links, streams, the stop button."},
        {"name": "switch", "description": "Switch: the signed decision list (its fallback)."},
        {"name": "registry", "description": "Registry clerks: registrations, claims, bulk changes."},
        {"name": "attorney", "description": "Attorneys: their own registered numbers."},
        {"name": "inmates", "description": "Staff: inmates."},
        {"name": "grants", "description": "Facility administrators: investigators' case grants."},
        {"name": "exports", "description": "Staff: two-person recording exports."},
        {"name": "suspensions", "description": "Administrators: lifting a suspension."},
        {"name": "audit", "description": "Auditors: the audit trail and its exports."},
    ],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.common.schema.describe_from_glossary",
    ],
    # /api/docs/ and /api/redoc/ load their scripts from our static files, never a CDN (the
    # Content-Security-Policy allows only our origin anyway).
    "SWAGGER_UI_DIST": "SIDECAR",
    # No call to validator.swagger.io (Swagger UI's default badge): nothing leaves our origin.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
}

# --- Celery: eager (in-process) unless a broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Eager Celery still takes a producer from its pool for every task; an in-memory transport
    # spares it a connection to a default AMQP broker that is not there (and the warning).
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
# At-least-once: a task is acknowledged only when it has finished, and a task whose worker
# died is given back to the broker. Every task is idempotent, so a redelivery is harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Longer than the longest task, or Redis would hand an unacknowledged task to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# --- Recordings
RECORDINGS_STORAGE = env.str("RECORDINGS_STORAGE", default="local")
if RECORDINGS_STORAGE not in {"local", "s3"}:
    raise ImproperlyConfigured("RECORDINGS_STORAGE must be 'local' or 's3'")
RECORDINGS_DIR = Path(env.str("RECORDINGS_DIR", default=str(VAR_DIR / "recordings")))
RECORDING_MAX_BYTES = env.int("RECORDING_MAX_BYTES", default=100 * 1024 * 1024)
# Playback links are short-lived capabilities bound to one user and one recording.
PLAYBACK_LINK_SECONDS = env.int("PLAYBACK_LINK_SECONDS", default=300)
if not 1 <= PLAYBACK_LINK_SECONDS <= 300:
    raise ImproperlyConfigured("PLAYBACK_LINK_SECONDS must be between 1 and 300")
# The longest an investigator's grant may run before it must be renewed.
GRANT_MAX_DAYS = env.int("GRANT_MAX_DAYS", default=180)
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="") or None
S3_BUCKET = env.str("S3_BUCKET", default="callplatform-recordings")
S3_REGION = env.str("AWS_DEFAULT_REGION", default="us-east-1")
S3_CONNECT_TIMEOUT = env.float("S3_CONNECT_TIMEOUT", default=5.0)
S3_READ_TIMEOUT = env.float("S3_READ_TIMEOUT", default=30.0)
if RECORDINGS_STORAGE == "s3" and not S3_BUCKET:
    raise ImproperlyConfigured("RECORDINGS_STORAGE=s3 needs S3_BUCKET")


def _master_key() -> bytes:
    """The key that wraps every recording's data key (a KMS key in a real deployment)."""
    raw = env.str("RECORDINGS_MASTER_KEY", default="")
    if not raw:
        # Embedded default only: derived from SECRET_KEY so that a newcomer's demo works.
        return safety.derived_key(safety.MASTER_KEY_PURPOSE, SECRET_KEY)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("RECORDINGS_MASTER_KEY must be base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured("RECORDINGS_MASTER_KEY must decode to 32 bytes")
    return key


RECORDINGS_MASTER_KEY = _master_key()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # Eager mode runs every task inline: one "Task ... succeeded" line per audit event would
        # bury a command's own output. A real worker keeps them (its log is where they belong).
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=365 * 3)
DEFAULT_PHONE_REGION = env.str("DEFAULT_PHONE_REGION", default="US")

# --- Registry and attorney portal (issue 5)
# E-mail: the console by default; EMAIL_URL (smtp://user:pass@host:587, +tls) or the
# EMAIL_BACKEND / EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD /
# EMAIL_USE_TLS variables for SMTP.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (`make demo` seeds with it).
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="registry@callplatform.example")
# Verification window in days (0 = no expiry) and how long before the end attorneys are reminded.
REGISTRY_VERIFICATION_DAYS = env.int("REGISTRY_VERIFICATION_DAYS", default=365)
REGISTRY_REMINDER_DAYS = env.int("REGISTRY_REMINDER_DAYS", default=30)
if REGISTRY_VERIFICATION_DAYS < 0 or REGISTRY_REMINDER_DAYS < 0:
    raise ImproperlyConfigured("REGISTRY_VERIFICATION_DAYS and REGISTRY_REMINDER_DAYS must be >= 0")
EVIDENCE_MAX_BYTES = env.int("EVIDENCE_MAX_BYTES", default=5 * 1024 * 1024)
EVIDENCE_DIR = Path(env.str("EVIDENCE_DIR", default=str(VAR_DIR / "evidence")))
REGISTRY_REMINDERS_EVERY_SECONDS = env.float("REGISTRY_REMINDERS_EVERY_SECONDS", default=3600.0)

# --- Access control (issue 6): quotas per rolling window [(seconds, limit), ...]. Defaults
# for everyone; QuotaLimit rows in the admin override them per role and per facility.
ACCESS_QUOTAS: dict[str, list[tuple[int, int]]] = {
    "playback": [
        (3600, env.int("QUOTA_PLAYBACK_PER_HOUR", default=30)),
        (86400, env.int("QUOTA_PLAYBACK_PER_DAY", default=100)),
    ],
    "playback_bytes": [(86400, env.int("QUOTA_PLAYBACK_BYTES_PER_DAY", default=2 * 1024**3))],
    "call_rows": [
        (3600, env.int("QUOTA_CALL_ROWS_PER_HOUR", default=2000)),
        (86400, env.int("QUOTA_CALL_ROWS_PER_DAY", default=10000)),
    ],
    "export_request": [(3600, 3), (86400, 10)],
    "stop_press": [(3600, env.int("STOP_BUTTON_PER_HOUR", default=5))],
}
# "This sounds privileged - stop": presses per user per hour (apps.actions.privilege_stop).
STOP_BUTTON_PER_HOUR = ACCESS_QUOTAS["stop_press"][0][1]
if STOP_BUTTON_PER_HOUR < 1:
    raise ImproperlyConfigured("STOP_BUTTON_PER_HOUR must be at least 1: the button must work")
# How often a stream in flight re-checks that its user may still play the recording (a stop,
# a quarantine or a revoked grant cuts it within this many seconds).
STREAM_RECHECK_SECONDS = env.float("STREAM_RECHECK_SECONDS", default=1.0)
# Rows one call-list download (CSV/JSON) may hold; every row also counts against call_rows.
CALL_DOWNLOAD_MAX_ROWS = env.int("CALL_DOWNLOAD_MAX_ROWS", default=1000)
EXPORT_MAX_RECORDINGS = env.int("EXPORT_MAX_RECORDINGS", default=25)
EXPORT_DOWNLOAD_HOURS = env.int("EXPORT_DOWNLOAD_HOURS", default=24)
EXPORT_PACKAGE_DIR = Path(env.str("EXPORT_PACKAGE_DIR", default=str(VAR_DIR / "export-packages")))
# Anomaly rules: a hit suspends the account. Windows in seconds.
ANOMALY_RULES = {
    "denied_probes": {"window": 600, "threshold": env.int("ANOMALY_DENIED_PROBES", default=10)},
    "playback_burst": {"window": 600, "threshold": env.int("ANOMALY_PLAYBACK_BURST", default=20)},
    "distinct_inmates": {"window": 3600, "threshold": env.int("ANOMALY_DISTINCT_INMATES", default=25)},
    "export_burst": {"window": 3600, "threshold": env.int("ANOMALY_EXPORT_BURST", default=3)},
    "quota_hammering": {"window": 600, "threshold": env.int("ANOMALY_QUOTA_HITS", default=5)},
    # Playback in the last hour >= factor x the user's mean per active hour (14 days), and >= min.
    "baseline_burst": {
        "factor": env.float("ANOMALY_BASELINE_FACTOR", default=5.0),
        "min_count": env.int("ANOMALY_BASELINE_MIN", default=10),
        "history_days": 14,
    },
    # Playback links, call-list downloads and export requests in the off hours.
    "off_hours_bulk": {"window": 3600, "threshold": env.int("ANOMALY_OFF_HOURS_BULK", default=8)},
}
ANOMALY_OFF_HOURS = {
    "start": env.int("ANOMALY_OFF_HOURS_START", default=20),
    "end": env.int("ANOMALY_OFF_HOURS_END", default=6),
    "timezone": env.str("ANOMALY_OFF_HOURS_TIMEZONE", default="America/New_York"),
}
if ANOMALY_OFF_HOURS["start"] == ANOMALY_OFF_HOURS["end"] or not all(
    0 <= ANOMALY_OFF_HOURS[k] <= 23 for k in ("start", "end")
):
    raise ImproperlyConfigured("ANOMALY_OFF_HOURS_START/END must be distinct hours 0-23")
COMPLIANCE_EMAILS = env.list("COMPLIANCE_EMAILS", default=["compliance@example.org"])
ANOMALY_ANALYSE_EVERY_SECONDS = env.float("ANOMALY_ANALYSE_EVERY_SECONDS", default=2.0)
# Tasks run after each sealing run that sealed something: analysis reads the sealed trail.
AUDIT_AFTER_SEAL_TASKS = ["access.analyse"]

# --- Audit trail (issue 4)


def _audit_signing_key() -> bytes:
    """Ed25519 private key (raw 32 bytes) that signs audit checkpoints and exports."""
    raw = env.str("AUDIT_SIGNING_KEY", default="")
    if not raw:
        # WARNING: embedded default only. Derived from SECRET_KEY so that a newcomer's demo
        # works; anyone who knows SECRET_KEY can forge checkpoints. Set AUDIT_SIGNING_KEY in
        # every real deployment (infra/deploy/env.example shows how to generate one).
        return safety.derived_key(safety.SIGNING_KEY_PURPOSE, SECRET_KEY)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be base64") from exc
    if len(key) != 32:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must decode to the raw 32-byte Ed25519 private key")
    return key


AUDIT_SIGNING_KEY = _audit_signing_key()
# Events sealed per transaction; a sealer run loops until nothing is pending.
AUDIT_SEAL_BATCH_SIZE = env.int("AUDIT_SEAL_BATCH_SIZE", default=1000)
# Beat re-runs sealing so that events whose after-commit enqueue was lost (broker down) are
# sealed anyway, and signs a checkpoint of the chain tip.
AUDIT_SEAL_EVERY_SECONDS = env.float("AUDIT_SEAL_EVERY_SECONDS", default=60.0)
AUDIT_CHECKPOINT_EVERY_SECONDS = env.float("AUDIT_CHECKPOINT_EVERY_SECONDS", default=300.0)
# Compliance exports are written here (not to the recordings bucket: reconcile_storage would
# take them for orphans). Must be shared between web and worker hosts.
# The checkpoint witness (apps/audit/witness.py): "storage" = the S3 bucket when recordings are on
# S3 (under AUDIT_WITNESS_PREFIX), else AUDIT_WITNESS_DIR; "off" = no copy outside the database.
AUDIT_WITNESS = env.str("AUDIT_WITNESS", default="storage")
if AUDIT_WITNESS not in {"storage", "off"}:
    raise ImproperlyConfigured("AUDIT_WITNESS must be 'storage' or 'off'")
AUDIT_WITNESS_PREFIX = env.str("AUDIT_WITNESS_PREFIX", default="audit-checkpoints/")
AUDIT_WITNESS_DIR = Path(env.str("AUDIT_WITNESS_DIR", default=str(VAR_DIR / "audit-checkpoints")))
AUDIT_EXPORT_DIR = Path(env.str("AUDIT_EXPORT_DIR", default=str(VAR_DIR / "exports")))
CELERY_BEAT_SCHEDULE = {
    "audit-seal": {"task": "audit.seal_events", "schedule": AUDIT_SEAL_EVERY_SECONDS},
    "audit-checkpoint": {"task": "audit.checkpoint", "schedule": AUDIT_CHECKPOINT_EVERY_SECONDS},
}
CELERY_BEAT_SCHEDULE["registry-expiry-reminders"] = {
    "task": "registry.expiry_reminders",
    "schedule": REGISTRY_REMINDERS_EVERY_SECONDS,
}
CELERY_BEAT_SCHEDULE["access-analyse"] = {"task": "access.analyse", "schedule": ANOMALY_ANALYSE_EVERY_SECONDS}
# Export builds whose message never reached the broker (an outage) are sent again.
EXPORT_RESUME_AFTER_SECONDS = env.int("EXPORT_RESUME_AFTER_SECONDS", default=60)
# A recording-export build running longer than this lost its worker and is started again.
EXPORT_BUILD_STALE_SECONDS = env.int("EXPORT_BUILD_STALE_SECONDS", default=900)
EXPORT_BUILD_MAX_ATTEMPTS = env.int("EXPORT_BUILD_MAX_ATTEMPTS", default=3)
if EXPORT_BUILD_STALE_SECONDS <= CELERY_TASK_TIME_LIMIT:
    # A build younger than the time limit may still be running: restarting it would run two.
    raise ImproperlyConfigured("EXPORT_BUILD_STALE_SECONDS must exceed CELERY_TASK_TIME_LIMIT")
CELERY_BEAT_SCHEDULE["audit-resume-exports"] = {"task": "audit.resume_exports", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["access-resume-exports"] = {"task": "access.resume_exports", "schedule": 60.0}

# --- Audit masking, trusted export keys, auth floods (issues 9 and 13, branch audit)


def _audit_reference_key() -> bytes:
    """HMAC key of the keyed references that stand for registered numbers and inmates in the
    trail (apps/audit/references.py). Dedicated, so that neither the signing key nor a leaked
    export lets anyone turn a reference back into a number by trying every number."""
    raw = env.str("AUDIT_REFERENCE_KEY", default="")
    if not raw:
        # WARNING: embedded default only (derived from SECRET_KEY, like the keys above).
        return safety.derived_key(safety.REFERENCE_KEY_PURPOSE, SECRET_KEY)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("AUDIT_REFERENCE_KEY must be base64") from exc
    if len(key) < 32:
        raise ImproperlyConfigured("AUDIT_REFERENCE_KEY must decode to at least 32 bytes")
    return key


AUDIT_REFERENCE_KEY = _audit_reference_key()


def _trusted_public_keys() -> list[bytes]:
    """Ed25519 public keys (base64, raw 32 bytes, comma-separated) that verify_audit_export
    trusts besides those given with --public-key. Never the key a bundle carries itself."""
    keys = []
    for item in env.list("AUDIT_TRUSTED_PUBLIC_KEYS", default=[]):
        try:
            key = base64.b64decode(item.strip(), validate=True)
        except ValueError as exc:
            raise ImproperlyConfigured("AUDIT_TRUSTED_PUBLIC_KEYS must be base64 keys") from exc
        if len(key) != 32:
            raise ImproperlyConfigured("each AUDIT_TRUSTED_PUBLIC_KEYS entry must decode to 32 bytes")
        keys.append(key)
    return keys


AUDIT_TRUSTED_PUBLIC_KEYS = _trusted_public_keys()
# Unauthenticated rejections are counted per source and minute (one event each, not one per
# request); a source reaching this many in one minute raises auth.flood_detected and mails
# COMPLIANCE_EMAILS.
AUDIT_AUTH_FLOOD_THRESHOLD = env.int("AUDIT_AUTH_FLOOD_THRESHOLD", default=120)
if AUDIT_AUTH_FLOOD_THRESHOLD < 2:
    raise ImproperlyConfigured("AUDIT_AUTH_FLOOD_THRESHOLD must be at least 2")
CELERY_BEAT_SCHEDULE["audit-flush-rejections"] = {"task": "audit.flush_rejections", "schedule": 60.0}
# The whole chain is verified periodically and the result stored (auditors' dashboard).
AUDIT_VERIFY_EVERY_SECONDS = env.int("AUDIT_VERIFY_EVERY_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["audit-verify-chain"] = {
    "task": "audit.verify_chain",
    "schedule": AUDIT_VERIFY_EVERY_SECONDS,
}

# --- Privilege flags and inmate claims (flags): rate limits and burst rules (issues 9, 13)
# Flags one attorney may submit per window; the next answers 429 "flag_rate_limited".
PRIVILEGE_FLAG_LIMIT = {
    "window": env.int("PRIVILEGE_FLAG_WINDOW_SECONDS", default=86400),
    "limit": env.int("PRIVILEGE_FLAG_LIMIT", default=10),
}
# New inmate claims per window, per facility (the switch) and per inmate: 429 "claim_rate_limited".
INMATE_CLAIM_LIMITS = {
    "facility": {
        "window": env.int("INMATE_CLAIM_FACILITY_WINDOW_SECONDS", default=3600),
        "limit": env.int("INMATE_CLAIM_FACILITY_LIMIT", default=20),
    },
    "inmate": {
        "window": env.int("INMATE_CLAIM_INMATE_WINDOW_SECONDS", default=86400),
        "limit": env.int("INMATE_CLAIM_INMATE_LIMIT", default=3),
    },
}
# Bursts suspend the actor; refused attempts count too, so hammering the limit is a burst.
ANOMALY_RULES["flag_burst"] = {"window": 3600, "threshold": env.int("ANOMALY_FLAG_BURST", default=10)}
ANOMALY_RULES["claim_burst"] = {"window": 600, "threshold": env.int("ANOMALY_CLAIM_BURST", default=15)}
for _name, _rule in [
    ("PRIVILEGE_FLAG", PRIVILEGE_FLAG_LIMIT),
    ("INMATE_CLAIM_FACILITY", INMATE_CLAIM_LIMITS["facility"]),
    ("INMATE_CLAIM_INMATE", INMATE_CLAIM_LIMITS["inmate"]),
    ("ANOMALY_FLAG_BURST", {"window": 1, "limit": ANOMALY_RULES["flag_burst"]["threshold"]}),
    ("ANOMALY_CLAIM_BURST", {"window": 1, "limit": ANOMALY_RULES["claim_burst"]["threshold"]}),
]:
    if _rule["window"] < 1 or _rule["limit"] < 1:
        raise ImproperlyConfigured(f"{_name} limit and window must be positive integers")

# --- Registry renewal window (issue 9, High 1): bounds on a verification window, in days from
# its start. The minimum must exceed the reminder lead, so that every window lasts long enough
# for the attorney to be reminded before it ends (a reminder sent late also moves the end to
# REGISTRY_REMINDER_DAYS after it: nothing lapses without that much notice).
REGISTRY_WINDOW_MIN_DAYS = env.int("REGISTRY_WINDOW_MIN_DAYS", default=45)
REGISTRY_WINDOW_MAX_DAYS = env.int("REGISTRY_WINDOW_MAX_DAYS", default=730)
if REGISTRY_REMINDER_DAYS < 1:
    raise ImproperlyConfigured("REGISTRY_REMINDER_DAYS must be >= 1: attorneys are told before a lapse")
if REGISTRY_WINDOW_MIN_DAYS <= REGISTRY_REMINDER_DAYS:
    raise ImproperlyConfigured("REGISTRY_WINDOW_MIN_DAYS must exceed REGISTRY_REMINDER_DAYS")
if REGISTRY_WINDOW_MAX_DAYS < REGISTRY_WINDOW_MIN_DAYS:
    raise ImproperlyConfigured("REGISTRY_WINDOW_MAX_DAYS must be >= REGISTRY_WINDOW_MIN_DAYS")
if REGISTRY_VERIFICATION_DAYS and not (
    REGISTRY_WINDOW_MIN_DAYS <= REGISTRY_VERIFICATION_DAYS <= REGISTRY_WINDOW_MAX_DAYS
):
    raise ImproperlyConfigured(
        "REGISTRY_VERIFICATION_DAYS must be 0 (no expiry) or within "
        "REGISTRY_WINDOW_MIN_DAYS..REGISTRY_WINDOW_MAX_DAYS"
    )

# --- Attorney accounts (issue 13): sign-up expiry, one-time link lifetimes, e-mail rate limits.
# A sign-up not verified within this many hours is deleted (its link stops working too).
ATTORNEY_SIGNUP_EXPIRY_HOURS = env.int("ATTORNEY_SIGNUP_EXPIRY_HOURS", default=72)
ACCOUNT_RESET_LINK_MINUTES = env.int("ACCOUNT_RESET_LINK_MINUTES", default=60)
EMAIL_CHANGE_LINK_HOURS = env.int("EMAIL_CHANGE_LINK_HOURS", default=24)
if not 1 <= ATTORNEY_SIGNUP_EXPIRY_HOURS <= 24 * 30:
    raise ImproperlyConfigured("ATTORNEY_SIGNUP_EXPIRY_HOURS must be between 1 and 720")
if not 5 <= ACCOUNT_RESET_LINK_MINUTES <= 24 * 60:
    raise ImproperlyConfigured("ACCOUNT_RESET_LINK_MINUTES must be between 5 and 1440")
if not 1 <= EMAIL_CHANGE_LINK_HOURS <= 24 * 7:
    raise ImproperlyConfigured("EMAIL_CHANGE_LINK_HOURS must be between 1 and 168")
# Who each portal's password reset may reach, as a selector per audience (apps/accounts/emails.py).
# The staff selector excludes suspended accounts, so it lives in apps.access, above accounts.
ACCOUNT_RESET_AUDIENCES = {
    "attorney": "apps.accounts.emails.attorney_accounts",
    "staff": "apps.access.selectors.staff_accounts",
}
# E-mails the account forms send (sign-up, password reset, e-mail change), counted across all
# of them: per recipient address and per client IP, [(window seconds, limit), ...].
ACCOUNT_EMAIL_LIMITS: dict[str, list[tuple[int, int]]] = {
    "address": [
        (3600, env.int("ACCOUNT_EMAILS_PER_ADDRESS_PER_HOUR", default=3)),
        (86400, env.int("ACCOUNT_EMAILS_PER_ADDRESS_PER_DAY", default=10)),
    ],
    "ip": [
        (3600, env.int("ACCOUNT_EMAILS_PER_IP_PER_HOUR", default=20)),
        (86400, env.int("ACCOUNT_EMAILS_PER_IP_PER_DAY", default=100)),
    ],
}
if any(limit < 1 for windows in ACCOUNT_EMAIL_LIMITS.values() for _, limit in windows):
    raise ImproperlyConfigured("ACCOUNT_EMAILS_PER_* limits must be at least 1")
CELERY_BEAT_SCHEDULE["registry-expire-signups"] = {
    "task": "registry.expire_unverified_signups",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["accounts-purge-request-hits"] = {
    "task": "accounts.purge_request_hits",
    "schedule": 3600.0,
}

# --- Call-row metering and canaries (issue 9: meter)
# The API accepts a session only from the portal's own pages (Sec-Fetch-Site / Referer); a link
# from elsewhere must not read as the person who follows it. Tokens are unaffected.
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "apps.facilities.authentication.TokenAuthentication",
    "apps.common.auth.SameOriginSessionAuthentication",
]
# Walking call or recording details one by one: this many distinct records read in the window
# (seconds) is an anomaly, as a list page of the same rows would be.
ANOMALY_RULES["detail_walk"] = {
    "window": env.int("ANOMALY_DETAIL_WALK_WINDOW", default=600),
    "threshold": env.int("ANOMALY_DETAIL_WALK", default=60),
}
if ANOMALY_RULES["detail_walk"]["window"] < 1 or ANOMALY_RULES["detail_walk"]["threshold"] < 2:
    raise ImproperlyConfigured("ANOMALY_DETAIL_WALK_WINDOW must be >= 1 and ANOMALY_DETAIL_WALK >= 2")

# --- Deployment safety and the proxy (issue 9)
# "embedded" here; the production module sets "production" (seed_demo refuses to run there).
DEPLOYMENT = "embedded"
# How many reverse proxies we trust in front of the app (nginx.conf.example: 1). The client IP
# for audit and login throttling is then the address that many hops from the right end of
# X-Forwarded-For (apps/common/client_ip.py); with 0 the header is ignored entirely.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if not 0 <= TRUSTED_PROXY_COUNT <= 5:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be between 0 and 5")
AXES_CLIENT_IP_CALLABLE = "apps.common.client_ip.client_ip_for_axes"
AXES_USERNAME_CALLABLE = "apps.common.auth.axes_username"
# No lockout by username alone (AXES_LOCKOUT_PARAMETERS above pairs it with the address): one
# attacker guessing a clerk's password must not lock the clerk out from everywhere else.
safety.warn_public_key_once(secret_key=SECRET_KEY)
# The OpenAPI schema (/api/schema/) needs an account: switch vendors and API users read it with
# their token; an anonymous visitor gets no map of the API (README, "API").
SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"] = ["rest_framework.permissions.IsAuthenticated"]

# --- The list cannot shrink unnoticed (issue 11, section 1; apps/registry/snapshots.py)
# Beat asks this often for the day's signed snapshot of the verified list; the first run of a
# day takes it (and compares it with the previous one), later runs find it taken. Hourly, so a
# beat that was down at midnight still takes the day's snapshot within the hour.
REGISTRY_SNAPSHOT_EVERY_SECONDS = env.float("REGISTRY_SNAPSHOT_EVERY_SECONDS", default=3600.0)
if not 60 <= REGISTRY_SNAPSHOT_EVERY_SECONDS <= 21600:
    raise ImproperlyConfigured("REGISTRY_SNAPSHOT_EVERY_SECONDS must be between 60 and 21600")
CELERY_BEAT_SCHEDULE["registry-list-snapshot"] = {
    "task": "registry.list_snapshot",
    "schedule": REGISTRY_SNAPSHOT_EVERY_SECONDS,
}
# More revocations than this by one clerk in one (UTC) day wait for a second registry clerk's
# approval (apps/registry/bulk.py); an attorney revoking their own numbers is never limited.
REGISTRY_BULK_REVOCATIONS_PER_DAY = env.int("REGISTRY_BULK_REVOCATIONS_PER_DAY", default=10)
if REGISTRY_BULK_REVOCATIONS_PER_DAY < 0:
    raise ImproperlyConfigured("REGISTRY_BULK_REVOCATIONS_PER_DAY must be >= 0")

# --- Synthetic assurance calls, every night (issue 11, section 3; apps/actions/assurance.py)
# Global registrations are checked once, in this facility (a code); empty: the first by code.
ASSURANCE_GLOBAL_FACILITY = env.str("ASSURANCE_GLOBAL_FACILITY", default="")
# The run starts at this UTC hour each night (beat crontab).
ASSURANCE_RUN_HOUR_UTC = env.int("ASSURANCE_RUN_HOUR_UTC", default=3)
if not 0 <= ASSURANCE_RUN_HOUR_UTC <= 23:
    raise ImproperlyConfigured("ASSURANCE_RUN_HOUR_UTC must be between 0 and 23")
# Per run, at most this many failures get their own ``assurance.failure`` event and their
# details kept on the run row (the counts are always exact): a list broken wholesale must not
# flood the trail.
ASSURANCE_FAILURE_EVENTS_MAX = env.int("ASSURANCE_FAILURE_EVENTS_MAX", default=500)
ASSURANCE_FAILURE_DETAILS_MAX = env.int("ASSURANCE_FAILURE_DETAILS_MAX", default=1000)
if ASSURANCE_FAILURE_EVENTS_MAX < 1 or ASSURANCE_FAILURE_DETAILS_MAX < 1:
    raise ImproperlyConfigured("ASSURANCE_FAILURE_EVENTS_MAX and ASSURANCE_FAILURE_DETAILS_MAX must be >= 1")
# The run is one long task (1.3M numbers take hours, see bench/assurance.py), far past the
# default CELERY_TASK_TIME_LIMIT: it gets its own limit.
ASSURANCE_RUN_TIME_LIMIT = env.int("ASSURANCE_RUN_TIME_LIMIT", default=6 * 3600)
CELERY_BEAT_SCHEDULE["actions-assurance-run"] = {
    "task": "actions.assurance_run",
    "schedule": crontab(minute=0, hour=ASSURANCE_RUN_HOUR_UTC),
}


# --- Switches that must decide without us (issue 11, section 2; apps/registry/decision_list.py)
def _decision_list_key() -> bytes:
    """The server secret each decision-list version's HMAC key is derived from (HKDF, per
    version and facility). Dedicated: neither the reference key of the trail nor the signing
    key may double as it, so a switch's leaked list key tells nothing about either."""
    raw = env.str("DECISION_LIST_KEY", default="")
    if not raw:
        # WARNING: embedded default only (derived from SECRET_KEY, like the keys above).
        return safety.derived_key(safety.DECISION_LIST_KEY_PURPOSE, SECRET_KEY)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ImproperlyConfigured("DECISION_LIST_KEY must be base64") from exc
    if len(key) < 32:
        raise ImproperlyConfigured("DECISION_LIST_KEY must decode to at least 32 bytes")
    return key


DECISION_LIST_KEY = _decision_list_key()
# A list is valid this long after it was served; past it the switch must treat its copy as
# unknown and fall back to "do not record" (README, "Switches").
DECISION_LIST_VALID_FOR_SECONDS = env.int("DECISION_LIST_VALID_FOR_SECONDS", default=86400)
if not 300 <= DECISION_LIST_VALID_FOR_SECONDS <= 7 * 86400:
    raise ImproperlyConfigured("DECISION_LIST_VALID_FOR_SECONDS must be between 300 and 604800")
# A delta is served only from a base (and under a key) at most this old; older answers 410
# full_required. It bounds how long one version's HMAC key stays in use on a switch.
DECISION_LIST_DELTA_MAX_AGE_SECONDS = env.int("DECISION_LIST_DELTA_MAX_AGE_SECONDS", default=7 * 86400)
if DECISION_LIST_DELTA_MAX_AGE_SECONDS < 3600:
    raise ImproperlyConfigured("DECISION_LIST_DELTA_MAX_AGE_SECONDS must be at least 3600")
# A switch whose reported list has missed a change of its facility's list for longer than this
# raises the drift alarm (apps/registry/drift.py).
DECISION_LIST_MAX_STALENESS = env.int("DECISION_LIST_MAX_STALENESS", default=6 * 3600)
if DECISION_LIST_MAX_STALENESS < 60:
    raise ImproperlyConfigured("DECISION_LIST_MAX_STALENESS must be at least 60 (seconds)")
# Beat publishes a new version when the covered set changed (also done on each fetch), and
# checks every switch for drift.
DECISION_LIST_PUBLISH_EVERY_SECONDS = env.float("DECISION_LIST_PUBLISH_EVERY_SECONDS", default=60.0)
SWITCH_DRIFT_CHECK_EVERY_SECONDS = env.float("SWITCH_DRIFT_CHECK_EVERY_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["registry-decision-list-publish"] = {
    "task": "registry.decision_list_publish",
    "schedule": DECISION_LIST_PUBLISH_EVERY_SECONDS,
}
CELERY_BEAT_SCHEDULE["registry-switch-drift-check"] = {
    "task": "registry.switch_drift_check",
    "schedule": SWITCH_DRIFT_CHECK_EVERY_SECONDS,
}


# --- The compliance report, twice a year (issue 11, section 8; apps/compliance/)
# Where the signed bundles go: the S3 bucket under this prefix when recordings are on S3 (like the
# checkpoint witness), else this folder. Never under the recordings' key pattern, so
# reconcile_storage leaves them alone.
COMPLIANCE_REPORT_DIR = Path(env.str("COMPLIANCE_REPORT_DIR", default=str(VAR_DIR / "compliance-reports")))
COMPLIANCE_REPORT_PREFIX = env.str("COMPLIANCE_REPORT_PREFIX", default="compliance-reports/")
if not COMPLIANCE_REPORT_PREFIX.endswith("/"):
    raise ImproperlyConfigured("COMPLIANCE_REPORT_PREFIX must end with '/'")
# Beat checks hourly that every facility has the report of its last finished half-year: in the
# first hour of Jan 1 and Jul 1 (in the facility's own timezone) that makes the new one; any
# other time it finds them made and does nothing (one indexed lookup per facility), and a
# missed run is made up by the next.
CELERY_BEAT_SCHEDULE["compliance-half-year-reports"] = {
    "task": "compliance.half_year_reports",
    "schedule": crontab(minute=15),
}
