"""The attorney's notice of an exposure report: counts and dates only.

The mail leaves the platform, so it names no inmate, no staff member, no facility and not the
number itself (the attorney knows which numbers they registered; the registration id says
which one). Sent after commit: a rolled-back verification is no news, and a mail outage must
not undo the verification (the report is kept and officers see it either way).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from apps.registry.models import ExemptNumber, ExposureReport

logger = logging.getLogger(__name__)


def attorney_address(registration: ExemptNumber) -> str:
    attorney = registration.attorney
    return attorney.contact_email or attorney.user.email


def attorney_notice(
    *, report: ExposureReport, registration: ExemptNumber, body: dict[str, Any]
) -> tuple[str, str]:
    """(subject, text) of the notice. Dates are days (UTC), not times of calls."""
    summary = body["summary"]
    first = (summary["first_call"] or "")[:10] or "none"
    last = (summary["last_call"] or "")[:10] or "none"
    subject = f"Exposure report for your registration #{registration.pk}"
    text = (
        f"Your number registered as registration #{registration.pk} is now verified as an "
        f"attorney line. Before that, the platform handled calls to it as follows "
        f"(exposure report #{report.pk}, {report.generated_at.date().isoformat()}):\n\n"
        f"Calls: {summary['calls']} (from {first} to {last})\n"
        f"Recorded: {summary['recorded']}\n"
        f"Played: {summary['played']}\n"
        f"Exported: {summary['exported']} (downloaded: {summary['downloaded']})\n\n"
        "Every earlier recording is now quarantined for privilege review. You may ask the "
        "privilege officer for the full report.\n"
    )
    return subject, text


def attorney_notice_on_commit(
    *, report: ExposureReport, registration: ExemptNumber, body: dict[str, Any]
) -> None:
    address = attorney_address(registration)
    if not address:
        logger.warning(
            "exposure report %s: the attorney of registration %s has no e-mail", report.pk, registration.pk
        )
        return
    subject, text = attorney_notice(report=report, registration=registration, body=body)

    def send() -> None:
        try:
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:
            logger.exception("could not send exposure report %s to the attorney", report.pk)

    transaction.on_commit(send)
