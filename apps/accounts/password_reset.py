"""Password reset requests, for attorneys (attorney portal) and staff (facility portal).

The request is rate-limited and audited (with a keyed reference to the address, never the
address) in its own transaction; which accounts, if any, get a link is decided by a task after
the commit (apps.accounts.emails). The answer and the work done while answering are the same
whether or not an account uses the address.
"""

from __future__ import annotations

from django.db import transaction

from apps.accounts.emails import AUDIENCES, password_reset_enqueue
from apps.accounts.throttle import TooManyRequestsError, email_reference, email_request_admit, mask_email
from apps.audit.models import Outcome
from apps.audit.services import record_event


def password_reset_request(*, audience: str, email: str, base_url: str) -> None:
    """Raises TooManyRequestsError past ``ACCOUNT_EMAIL_LIMITS`` (the refusal is audited)."""
    if audience not in AUDIENCES:
        raise ValueError(audience)
    details = {"audience": audience, "email_ref": email_reference(email), "email": mask_email(email)}
    try:
        with transaction.atomic():
            email_request_admit(email=email)
            record_event(
                action="password_reset.requested",
                target_type="email",
                target_id=details["email_ref"],
                details=details,
            )
            password_reset_enqueue(audience=audience, email=email, base_url=base_url)
    except TooManyRequestsError:
        with transaction.atomic():
            record_event(
                action="password_reset.requested",
                target_type="email",
                target_id=details["email_ref"],
                outcome=Outcome.DENIED,
                details={**details, "reason": "rate_limited"},
            )
        raise
