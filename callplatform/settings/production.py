"""Production settings: every secret must come from the environment, cookies are secure."""

from django.core.exceptions import ImproperlyConfigured

from callplatform.settings.base import *  # noqa: F403
from callplatform.settings.base import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
if not env.str("AUDIT_SIGNING_KEY", default=""):
    raise ImproperlyConfigured("production needs AUDIT_SIGNING_KEY (base64 raw Ed25519 private key)")
if not env.str("RECORDINGS_MASTER_KEY", default=""):
    raise ImproperlyConfigured("production needs RECORDINGS_MASTER_KEY (base64, 32 bytes)")
if not env.str("DATABASE_URL", default="") or not env.str("CELERY_BROKER_URL", default=""):
    raise ImproperlyConfigured("production needs DATABASE_URL and CELERY_BROKER_URL")
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
