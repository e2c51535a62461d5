"""Production settings: every secret must come from the environment, cookies are secure.

Start with DJANGO_SETTINGS_MODULE=callplatform.settings.production (infra/deploy/env.example and
the systemd units set it). The start is refused, with every reason at once, when the key is the
repository's public one or weak, when the recordings master key or the audit signing key is
missing or derived from SECRET_KEY, when DEBUG is on, when ALLOWED_HOSTS is not named, or when
e-mail would not be delivered (console, locmem, file or dummy backend).
"""

import os

from django.core.exceptions import ImproperlyConfigured

from callplatform.settings import safety
from callplatform.settings.base import *  # noqa: F403
from callplatform.settings.base import ALLOWED_HOSTS, EMAIL_BACKEND, env

DEPLOYMENT = "production"
DEBUG = False
SECRET_KEY = env.str("SECRET_KEY", default="")
_problems = safety.production_problems(
    environ=os.environ, secret_key=SECRET_KEY, allowed_hosts=ALLOWED_HOSTS, email_backend=EMAIL_BACKEND
)
if not env.str("DATABASE_URL", default="") or not env.str("CELERY_BROKER_URL", default=""):
    _problems.append("production needs DATABASE_URL and CELERY_BROKER_URL")
if _problems:
    raise ImproperlyConfigured("refusing to start as production: " + "; ".join(_problems))
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = 31536000
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = 8 * 3600
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
