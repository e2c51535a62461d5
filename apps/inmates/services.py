"""Investigator grants on inmates: who may play whose recordings, for which case, until when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.common.errors import NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.inmates.errors import GrantError, InvestigatorNotAssignedError, SelfGrantError
from apps.inmates.models import Inmate, InmateUserObjectPermission

PLAY_INMATE = ("inmates", "play_inmate_recordings")


def _play_permission() -> Permission:
    return Permission.objects.get(content_type__app_label=PLAY_INMATE[0], codename=PLAY_INMATE[1])


def grant_investigator_find(*, granted_by: User, inmate: Inmate, username: str) -> User:
    """The user a grant request names by username; an unknown one gets the same answer (and
    the same audit) as one who exists but may not take a grant here."""
    investigator = User.objects.filter(username=username.strip()).first()
    if investigator is None:
        _refuse_investigator(granted_by=granted_by, inmate=inmate, username=username.strip())
    return investigator


def _refuse_investigator(*, granted_by: User, inmate: Inmate, username: str) -> NoReturn:
    with transaction.atomic():
        record_event(
            action="grant.refused",
            actor=granted_by,
            target=inmate,
            outcome="denied",
            facility_id=inmate.facility_id,
            details={"investigator": username[:150], "reason": InvestigatorNotAssignedError.reason},
        )
    raise InvestigatorNotAssignedError()


def inmate_grant_create(
    *,
    granted_by: User,
    investigator: User,
    inmate: Inmate,
    case_reference: str,
    expires_at: datetime,
) -> InmateUserObjectPermission:
    """Let ``investigator`` play ``inmate``'s recordings for one case until ``expires_at``.

    The granting user must manage the inmate's facility; the investigator must already be
    assigned to it (see its call metadata); nobody grants themselves; every grant expires.
    Granting again renews the existing grant (one row per investigator and inmate).
    """
    if not Facility.objects.restrict(granted_by, Action.MANAGE).filter(pk=inmate.facility_id).exists():
        raise NotFoundError()
    if investigator.pk == granted_by.pk:
        raise SelfGrantError()
    if (
        not investigator.is_active
        or not Facility.objects.restrict(investigator, Action.VIEW_CALLS)
        .filter(pk=inmate.facility_id)
        .exists()
    ):
        _refuse_investigator(granted_by=granted_by, inmate=inmate, username=investigator.get_username())
    case_reference = case_reference.strip()
    if not case_reference:
        raise GrantError("A case reference is required.")
    now = timezone.now()
    if not now < expires_at <= now + timedelta(days=settings.GRANT_MAX_DAYS):
        raise GrantError(f"expires_at must be in the future and within {settings.GRANT_MAX_DAYS} days.")
    with transaction.atomic():
        grant, created = InmateUserObjectPermission.objects.update_or_create(
            user=investigator,
            permission=_play_permission(),
            content_object=inmate,
            defaults={
                "case_reference": case_reference,
                "granted_by": granted_by,
                "expires_at": expires_at,
                "created_at": now,
            },
        )
        record_event(
            action="grant.created" if created else "grant.renewed",
            actor=granted_by,
            target=grant,
            facility_id=inmate.facility_id,
            details={
                "investigator": investigator.get_username(),
                "inmate_id": inmate.pk,
                "inmate_ids": [inmate.pk],  # read by the canary rule (apps.calls.reads.SERVED_KEYS)
                "case_reference": case_reference,
                "expires_at": expires_at.isoformat(),
            },
        )
    return grant


def inmate_grant_revoke(*, grant: InmateUserObjectPermission, revoked_by: User) -> None:
    """Revoke at once: links already issued die too, as streams re-check grants on use.

    Callers go through apps.actions.staff.grant_revoke, which also shreds in the same
    transaction a ready export package the holder may no longer have."""
    with transaction.atomic():
        record_event(
            action="grant.revoked",
            actor=revoked_by,
            target=grant,
            facility_id=grant.content_object.facility_id,
            details={
                "investigator": grant.user.get_username(),
                "inmate_id": grant.content_object_id,
                "case_reference": grant.case_reference,
            },
        )
        grant.delete()
