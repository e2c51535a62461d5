"""Thin Celery tasks: call a service, nothing else."""

from __future__ import annotations

from celery import shared_task

from apps.accounts.emails import account_email_send, password_reset_send, staff_invite_send
from apps.accounts.throttle import email_request_hits_purge


@shared_task(name="accounts.send_account_email")
def send_account_email(kind: str, email: str, user_id: int | None, base_url: str) -> bool:
    return account_email_send(kind=kind, email=email, user_id=user_id, base_url=base_url)


@shared_task(name="accounts.send_password_reset")
def send_password_reset(audience: str, email: str, base_url: str) -> int:
    return password_reset_send(audience=audience, email=email, base_url=base_url)


@shared_task(name="accounts.send_staff_invite")
def send_staff_invite(user_id: int, facility_name: str, base_url: str) -> bool:
    return staff_invite_send(user_id=user_id, facility_name=facility_name, base_url=base_url)


@shared_task(name="accounts.purge_request_hits")
def purge_request_hits() -> int:
    """Beat: forget e-mail rate-limit counts older than the longest window."""
    return email_request_hits_purge()
