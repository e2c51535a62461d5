"""A ready export never outlives its requester's access (I2, I4).

A package is audio taken out of the platform's live checks, so it is held to them again at the
last moment it could still leave: the download re-checks that the requester is active, not
suspended, and may still play every recording packed into it. The acts that take access away
(revoking a grant, removing or demoting staff: apps.actions.staff; suspending an account) also
call ``exports_revoke_out_of_scope`` in their own transaction, so a package that is no longer
deserved is destroyed at once rather than waiting for a download that may never come. A grant
that merely expires needs no job for this: the download's re-check catches it.

A recording stopped as sounding privileged (apps.actions.privilege_stop) is pulled from every
export not yet downloaded by ``exports_pull_recording``: see there for why the whole export is
revoked rather than the recording dropped from it.

Revoking destroys the package's wrapped key in the transaction (crypto-shredding: the file is
unreadable from that commit on) and deletes the file after commit; it is audited as
``export.revoked`` with the cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from apps.access.models import ExportItem, ExportRequest, ExportStatus, Suspension
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


# Every state before the package has left: a request (pending, approved), a build in progress,
# a package waiting for its one download.
NOT_YET_DOWNLOADED = (ExportStatus.PENDING, ExportStatus.APPROVED, ExportStatus.BUILDING, ExportStatus.READY)


@dataclass(frozen=True)
class PulledExports:
    revoked: list[int]  # stopped before anything left
    already_downloaded: list[int]  # left already: for the privilege review's exposure account


def exports_pull_recording(*, recording_id: int, actor: User, cause: str) -> PulledExports:
    """Inside the caller's transaction: revoke every export not yet downloaded that contains the
    recording, and name the ones already downloaded.

    The whole export is revoked (its package and key destroyed, its requester told why), not
    the recording dropped from it, because dropping cannot take audio back out: a ready package
    already holds it, a build in progress may have read it into its file, and an approval was
    given for the set as it was. Revoking is also the one rule that holds whatever the state
    moves to meanwhile: the rows are locked here, and a build that finishes afterwards finds its
    export no longer ``building`` and deletes its file (apps.access.exports.export_build). A
    pending request is revoked too, for the same single rule; asking again without the
    recording is one form away.
    """
    export_ids = ExportItem.objects.filter(recording_id=recording_id).values_list("export_id", flat=True)
    pending = (
        ExportRequest.objects.select_for_update()
        .filter(pk__in=list(export_ids), status__in=NOT_YET_DOWNLOADED)
        .select_related("requested_by")
        .order_by("pk")
    )
    revoked = []
    for export in pending:
        export_shred(export=export, cause=cause, actor=actor, details={"recording_id": recording_id})
        revoked.append(export.pk)
    downloaded = ExportRequest.objects.filter(pk__in=list(export_ids), status=ExportStatus.DOWNLOADED)
    return PulledExports(revoked=revoked, already_downloaded=sorted(downloaded.values_list("pk", flat=True)))
