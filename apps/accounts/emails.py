"""E-mails of the account flows, sent by a Celery task after the request's transaction commits.

The request only records that an e-mail is due; the task looks the account up, makes the
one-time link (so no token travels through the broker) and sends. A request therefore takes
the same work whether or not an account exists, and a slow mail server slows nobody's answer.
On the embedded default (eager Celery, no broker) the task runs right after the commit, in the
request's thread: there the send still costs time, which is why production runs a broker.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string

from apps.accounts import tokens
from apps.common.broker import publish_task

logger = logging.getLogger(__name__)


def _enqueue(task: Any, *args: Any) -> None:
    if task.app.conf.task_always_eager:
        try:
            task.apply_async(args=args)
        except Exception:
            logger.exception("account e-mail task %s failed", task.name)
        return
    # A broker outage loses this e-mail (logged); the person simply asks again.
    publish_task(task, *args)


def account_email_enqueue(*, kind: str, email: str, user_id: int | None, base_url: str) -> None:
    """After commit, send one of the attorney account e-mails (``KINDS``)."""
    from apps.accounts.tasks import send_account_email

    if kind not in KINDS:
        raise ValueError(kind)
    transaction.on_commit(lambda: _enqueue(send_account_email, kind, email, user_id, base_url))


def password_reset_enqueue(*, audience: str, email: str, base_url: str) -> None:
    """After commit, send a reset link to every account of ``audience`` using ``email``."""
    from apps.accounts.tasks import send_password_reset

    if audience not in AUDIENCES:
        raise ValueError(audience)
    transaction.on_commit(lambda: _enqueue(send_password_reset, audience, email, base_url))


def _send(to: str, subject: str, body: str) -> bool:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        logger.exception("could not send %r", subject)
        return False
    return True


def _link(base_url: str, name: str, user: User, token: str) -> str:
    path = reverse(name, args=[urlsafe_base64_encode(force_bytes(user.pk)), token])
    return urljoin(base_url, path)


# --- attorney sign-up and e-mail change ------------------------------------------------------


def _attorney(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    return User.objects.select_related("attorney").filter(pk=user_id, attorney__isnull=False).first()


def account_email_send(*, kind: str, email: str, user_id: int | None, base_url: str) -> bool:
    """Compose and send one account e-mail; False if there is nothing (left) to send."""
    login_url = urljoin(base_url, reverse("attorneys:login"))
    reset_url = urljoin(base_url, reverse("attorneys:password-reset"))
    if kind == "signup_existing":
        return _send(
            email,
            "Your attorney portal account",
            "Someone asked to create an attorney portal account for this address, but an account "
            f"already exists for it.\nSign in: {login_url}\nForgot your password? {reset_url}\n\n"
            "If it was not you, ignore this e-mail.\n",
        )
    if kind == "signup_username_taken":
        signup_url = urljoin(base_url, reverse("attorneys:signup"))
        return _send(
            email,
            "Your attorney portal sign-up",
            "Someone asked to create an attorney portal account for this address, but the username "
            f"chosen is not available. Sign up again with another username: {signup_url}\n\n"
            "If it was not you, ignore this e-mail.\n",
        )
    user = _attorney(user_id)
    if user is None:
        return False
    if kind == "signup_verify":
        if user.attorney.email_verified_at is not None:
            return False
        link = _link(base_url, "attorneys:verify-email", user, tokens.attorney_verify_token.make_token(user))
        hours = settings.ATTORNEY_SIGNUP_EXPIRY_HOURS
        return _send(
            user.email,
            "Confirm your e-mail for the attorney portal",
            f"Open this link to activate your account:\n{link}\n\nIt works for {hours} hours; after that "
            "the unconfirmed account is deleted.\nIf you did not sign up, ignore this e-mail.\n",
        )
    pending = user.attorney.pending_contact_email
    if not pending or pending.lower() != email.lower():
        return False  # asked for another address since; only the newest link is sent
    link = _link(base_url, "attorneys:email-confirm", user, tokens.email_change_token.make_token(user))
    return _send(
        pending,
        "Confirm your new contact address for the attorney portal",
        "Open this link to make this the address the registry writes to:\n"
        f"{link}\n\nIf you did not ask for this, ignore this e-mail.\n",
    )


KINDS = ("signup_verify", "signup_existing", "signup_username_taken", "email_change")


# --- password reset --------------------------------------------------------------------------


def attorney_accounts() -> QuerySet[User]:
    """Who the attorney portal resets: active attorneys whose sign-up was verified."""
    return User.objects.filter(is_active=True, attorney__email_verified_at__isnull=False)


@dataclass(frozen=True)
class Audience:
    """One portal's password reset. ``name`` keys ``settings.ACCOUNT_RESET_AUDIENCES``, the
    dotted path of the selector of who may be reset: the staff one excludes suspended accounts,
    so it lives in ``apps.access``, a layer above this one, and is wired in by settings (the
    way django-axes is handed ``AXES_LOCKOUT_CALLABLE``) rather than imported from here."""

    name: str
    token: tokens.PurposeTokenGenerator
    confirm_url: str
    portal: str

    def accounts(self) -> QuerySet[User]:
        selector: Callable[[], QuerySet[User]] = import_string(settings.ACCOUNT_RESET_AUDIENCES[self.name])
        return selector()


AUDIENCES = {
    "attorney": Audience(
        "attorney", tokens.attorney_reset_token, "attorneys:password-reset-confirm", "attorney portal"
    ),
    "staff": Audience("staff", tokens.staff_reset_token, "portal:password-reset-confirm", "facility portal"),
}


def _same_address(a: str, b: str) -> bool:
    return unicodedata.normalize("NFKC", a).casefold() == unicodedata.normalize("NFKC", b).casefold()


def password_reset_send(*, audience: str, email: str, base_url: str) -> int:
    """Send a reset link to each account of ``audience`` using ``email``; returns how many."""
    spec = AUDIENCES[audience]
    sent = 0
    for user in spec.accounts().filter(email__iexact=email):
        if not user.has_usable_password() or not _same_address(user.email, email):
            continue
        link = _link(base_url, spec.confirm_url, user, spec.token.make_token(user))
        minutes = settings.ACCOUNT_RESET_LINK_MINUTES
        sent += _send(
            user.email,
            f"Reset your {spec.portal} password",
            f'Someone asked to reset the password of the {spec.portal} account "{user.get_username()}".\n'
            f"Open this link within {minutes} minutes to choose a new password:\n{link}\n\n"
            "If it was not you, ignore this e-mail.\n",
        )
    return sent


# --- staff invitation --------------------------------------------------------------------------


def staff_invite_enqueue(*, user_id: int, facility_name: str, base_url: str) -> None:
    """After commit, send the invited staff member the link to choose their password."""
    from apps.accounts.tasks import send_staff_invite

    transaction.on_commit(lambda: _enqueue(send_staff_invite, user_id, facility_name, base_url))


def staff_invite_send(*, user_id: int, facility_name: str, base_url: str) -> bool:
    """The invitation: a staff password link (the reset's own kind of token), so the person
    chooses a password nobody else has seen. Past its time, "Forgot your password?" sends
    another. Nothing is sent once the account has been used (the invitation is spent)."""
    spec = AUDIENCES["staff"]
    user = spec.accounts().filter(pk=user_id, last_login__isnull=True).first()
    if user is None:
        return False
    link = _link(base_url, spec.confirm_url, user, spec.token.make_token(user))
    minutes = settings.ACCOUNT_RESET_LINK_MINUTES
    forgot = urljoin(base_url, reverse("portal:password-reset"))
    return _send(
        user.email,
        "Your facility portal account",
        f'You have been given a facility portal account, "{user.get_username()}", at {facility_name}.\n'
        f"Open this link within {minutes} minutes to choose your password:\n{link}\n\n"
        f"Later, ask for a new link at {forgot} with this address.\n",
    )
