"""Settings for the benchmark: the project's base settings, pointed at a bench database and bucket.

Only three things differ from ``callplatform.settings.base``:

* ``ROOT_URLCONF`` adds the two reference endpoints (``bench.urls``), which must never be in the
  production URL conf;
* the database *name* is ``callplatform_bench`` (same server and credentials as DATABASE_URL),
  so a benchmark never writes into the dev database;
* the S3 bucket is ``callplatform-bench`` (same S3 server), for the same reason.

Everything that shapes performance (middleware, DRF settings, CONN_MAX_AGE, logging) is the
project's own, so the figures describe the application as configured.
"""

from callplatform.settings.base import *  # noqa: F403
from callplatform.settings.base import DATABASES, env

ROOT_URLCONF = "bench.urls"

BENCH_SOURCE_DB_NAME = DATABASES["default"].get("NAME", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["NAME"] = env.str("BENCH_DB_NAME", default="callplatform_bench")
# Optional override, to measure the effect of persistent connections (see bench/README.md).
if env.str("BENCH_CONN_MAX_AGE", default=""):
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("BENCH_CONN_MAX_AGE")

S3_BUCKET = env.str("BENCH_S3_BUCKET", default="callplatform-bench")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
