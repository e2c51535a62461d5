"""Capture of authentication and Django-admin acts, which happen inside Django's own code.

STYLE.md says "no logic in signals, call the service explicitly"; these are the exception
because we do not own the code that performs the act (django.contrib.auth's login/logout,
the admin's change views). Django's signals are the documented hook at exactly the moment of
the act, and each receiver does nothing but call ``record_event``:

* login success / failure / logout: ``user_logged_in``, ``user_login_failed``,
  ``user_logged_out`` (sent by ``login()``, ``authenticate()`` and ``logout()`` for the admin,
  session logins and any future portal login alike).
* password change: Django has no signal for it, so ``post_save`` on User checks the marker
  ``set_password()`` leaves until the save (``_password``); hash upgrades on login clear it
  first and are not reported. The event joins the transaction of the save when there is one.
* admin add/change/delete: ``post_save`` of the admin's LogEntry, which the admin writes inside
  the transaction of the change itself, so the event commits or rolls back with it.
  (Admin reads and bulk actions are captured by apps.audit.middleware.AdminAuditMiddleware.)
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.audit.models import Outcome
from apps.audit.services import record_event

_ADMIN_ACTIONS = {ADDITION: "admin.add", CHANGE: "admin.change", DELETION: "admin.delete"}


def _path(request: Any) -> str:
    return str(getattr(request, "path", ""))[:200]


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    with transaction.atomic():
        record_event(action="auth.login", actor=user, target=user, details={"path": _path(request)})


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Django has already masked secrets in ``credentials``; keep only the username tried.
    username = str(credentials.get("username", ""))[:150]
    with transaction.atomic():
        record_event(
            action="auth.login_failed",
            outcome=Outcome.DENIED,
            details={"username": username, "path": _path(request)},
        )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    with transaction.atomic():
        record_event(action="auth.logout", actor=user, target=user, details={"path": _path(request)})


@receiver(post_save, sender=User, dispatch_uid="audit_password_change")
def _password_changed(sender: Any, instance: User, created: bool, **kwargs: Any) -> None:
    if created or getattr(instance, "_password", None) is None:
        return
    with transaction.atomic():
        record_event(action="auth.password_changed", actor=instance, target=instance)


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def _admin_logged(sender: Any, instance: LogEntry, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    content_type = cast("ContentType | None", instance.content_type)
    user = cast(User, instance.user)
    with transaction.atomic():
        record_event(
            action=_ADMIN_ACTIONS.get(instance.action_flag, "admin.action"),
            actor=user,
            target_type=f"{content_type.app_label}.{content_type.model}" if content_type else "",
            target_id=str(instance.object_id or "")[:64],
            details={"object": instance.object_repr, "change": instance.get_change_message()[:1000]},
        )
