"""A ready export never outlives its requester's access (I2, I4).

A package is audio taken out of the platform's live checks, so it is held to them again at the
last moment it could still leave: the download re-checks that the requester is active, not
suspended, and may still play every recording packed into it. The acts that take access away
(revoking a grant, removing or demoting staff: apps.actions.staff; suspending an account) also
call ``exports_revoke_out_of_scope`` in their own transaction, so a package that is no longer
deserved is destroyed at once rather than waiting for a download that may never come. A grant
that merely expires needs no job for this: the download's re-check catches it.

Revoking destroys the package's wrapped key in the transaction (crypto-shredding: the file is
unreadable from that commit on) and deletes the file after commit; it is audited as
``export.revoked`` with the cause.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from apps.access.models import ExportRequest, ExportStatus, Suspension
from apps.access.packages import package_delete
from apps.audit.services import record_event
from apps.common.querysets import Action
from apps.recordings.models import Recording


def export_scope_problem(*, export: ExportRequest, requester_id: int) -> str | None:
    """Why ``export``'s requester may no longer have its package, or None if they still may."""
    requester = User.objects.filter(pk=requester_id).first()
    if requester is None or not requester.is_active:
        return "requester_inactive"
    if Suspension.objects.filter(user_id=requester_id, lifted_at__isnull=True).exists():
        return "requester_suspended"
    packed = set(export.items.exclude(packaged=False).values_list("recording_id", flat=True))
    playable = Recording.objects.restrict(requester, Action.PLAY).filter(pk__in=packed).count()
    if playable != len(packed):
        return "recordings_out_of_scope"
    return None


def export_shred(
    *,
    export: ExportRequest,
    cause: str,
    actor: User | None,
    status: str = ExportStatus.REVOKED,
    details: dict[str, Any] | None = None,
) -> None:
    """Inside the caller's transaction, holding the export's row lock: make the package
    unavailable for good (``status``), destroy its key, delete its file after commit."""
    package = export.package_name
    export.status = status
    export.wrapped_key = None
    export.decision_reason = f"package destroyed: {cause}"
    export.save(update_fields=["status", "wrapped_key", "decision_reason"])
    record_event(
        action="export.revoked" if status == ExportStatus.REVOKED else "export.expired",
        actor=actor,
        target=export,
        details={
            "cause": cause,
            "requested_by": export.requested_by.get_username(),
            "package_sha256": export.package_sha256,
            **(details or {}),
        },
    )
    if package:
        transaction.on_commit(lambda: package_delete(package))


@transaction.atomic
def exports_revoke_out_of_scope(*, user: User, actor: User | None, cause: str) -> int:
    """Shred every ready package of ``user`` they may no longer have; return how many.

    Call it in the transaction of the act that took access away (``cause`` names the act)."""
    ready = (
        ExportRequest.objects.select_for_update()
        .filter(requested_by_id=user.pk, status=ExportStatus.READY)
        .order_by("pk")
    )
    revoked = 0
    for export in ready:
        problem = export_scope_problem(export=export, requester_id=user.pk)
        if problem is not None:
            export_shred(export=export, cause=problem, actor=actor, details={"after": cause})
            revoked += 1
    return revoked
