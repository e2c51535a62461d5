"""E-mails to attorneys. Sent only after the deciding transaction commits (a rolled-back
decision must not be announced), through Django's e-mail machinery (EMAIL_BACKEND)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from apps.registry.models import Attorney, ExemptNumber

logger = logging.getLogger(__name__)


def attorney_address(attorney: Attorney) -> str:
    return attorney.contact_email or attorney.user.email


def _send(to: str, subject: str, body: str) -> None:
    if not to:
        logger.warning("no e-mail address to notify: %s", subject)
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:
        # The decision stands; a mail outage must not undo it. The portal shows the status.
        logger.exception("could not send %r to %s", subject, to)


def notify_on_commit(to: str, subject: str, body: str) -> None:
    transaction.on_commit(lambda: _send(to, subject, body))


def notify_decision(exempt: ExemptNumber) -> None:
    """Tell the attorney a registration was verified, rejected or renewed."""
    label = f" ({exempt.label})" if exempt.label else ""
    if exempt.status == "verified":
        until = exempt.effective_until.date().isoformat() if exempt.effective_until else "no expiry"
        subject = f"Your number {exempt.number} is verified"
        body = (
            f"Your registration of {exempt.number}{label} is verified. From now on calls to it "
            f"are not recorded on any facility{'' if exempt.facility_id is None else ' it covers'}.\n"
            f"Valid until: {until}.\n"
        )
    else:
        subject = f"Your number {exempt.number} was not verified"
        body = (
            f"Your registration of {exempt.number}{label} was rejected.\n"
            f"Reason: {exempt.decided_reason}\n"
            "You can register it again with better evidence from the attorney portal.\n"
        )
    notify_on_commit(attorney_address(exempt.attorney), subject, body)


def notify_expiry_reminder(exempt: ExemptNumber) -> None:
    assert exempt.effective_until is not None  # noqa: S101 - only rows with a window are reminded
    notify_on_commit(
        attorney_address(exempt.attorney),
        f"Your number {exempt.number} expires on {exempt.effective_until.date().isoformat()}",
        f"The exemption of {exempt.number} ends on {exempt.effective_until.date().isoformat()}. "
        "Renew it from the attorney portal so that calls to it stay unrecorded.\n",
    )


def notify_renewal_declined(exempt: ExemptNumber) -> None:
    """The decline is the attorney's notice: it names the day the exemption ends."""
    until = exempt.effective_until.date().isoformat() if exempt.effective_until else "no expiry"
    notify_on_commit(
        attorney_address(exempt.attorney),
        f"The renewal of {exempt.number} was declined",
        f"The renewal of {exempt.number} was declined.\nReason: {exempt.decided_reason}\n"
        f"The exemption ends on {until}; from then on calls to it are recorded. You can register "
        "it again from the attorney portal once it has ended.\n",
    )
