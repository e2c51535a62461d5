"""Export of recordings (I4): requested with a case reference, approved by a second person,
re-checked when built, encrypted at rest, downloadable once within a time limit, and only while
the requester still may play every recording in it (apps.access.revocation).

Quotas: an export is playback by other means, so the request charges the requester's
``playback`` (one per recording) and ``playback_bytes`` (each recording's size) quotas, in the
request's transaction, with the ``export_request`` charge. The request is the moment because it
is the only one with the requester present (a refusal is a clear 429 to them, not a build that
fails after a second person approved it), and the bytes are already exact then: a recording's
size is recorded and verified when it is stored. A recording withheld at build time stays
charged: the charge is for what was asked for, an upper bound on what leaves. Each facility's
share is checked under that facility's limits, as its playback would be.
"""

from __future__ import annotations

import hashlib
import itertools
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.access.errors import (
    ExportReasonRequiredError,
    ExportRevokedError,
    ExportStateError,
    ExportTooLargeError,
    SelfApprovalError,
)
from apps.access.models import ExportItem, ExportRequest, ExportStatus, QuotaKind
from apps.access.packages import (
    MANIFEST,
    SIGNATURE,
    manifest_sign,
    package_delete,
    package_storage,
    sha256_hex,
)
from apps.access.quotas import metered, quota_consume_many
from apps.access.revocation import export_scope_problem, export_shred
from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.common.broker import publish_task
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.recordings import crypto
from apps.recordings.errors import IntegrityFailedError, RecordingIntegrityError
from apps.recordings.models import Recording
from apps.recordings.services import new_storage_key, recording_read


def export_request_create(
    *, user: User, recording_ids: list[int], case_reference: str, justification: str
) -> ExportRequest:
    """Create a pending request for recordings the requester may play right now."""
    ids = sorted(set(recording_ids))
    if not ids:
        raise ExportTooLargeError("Name at least one recording.")
    if len(ids) > settings.EXPORT_MAX_RECORDINGS:
        raise ExportTooLargeError(limit=settings.EXPORT_MAX_RECORDINGS)
    playable = Recording.objects.restrict(user, Action.PLAY).filter(pk__in=ids)
    found = {r.pk: r for r in playable}
    missing = [i for i in ids if i not in found]
    if missing:
        with transaction.atomic():
            record_event(
                action="export.denied",
                actor=user,
                outcome="denied",
                details={"missing_or_forbidden": missing[:100]},
            )
        raise NotFoundError("Some recordings do not exist or are not yours to export.", ids=missing)
    with metered(user=user, charges=[(QuotaKind.EXPORT_REQUEST, 1)], facility_id=None):
        _charge_playback(user=user, recordings=list(found.values()))
        export = ExportRequest.objects.create(
            requested_by=user, case_reference=case_reference.strip(), justification=justification.strip()
        )
        ExportItem.objects.bulk_create(
            ExportItem(export=export, recording=r, facility_id=r.facility_id) for r in found.values()
        )
        record_event(
            action="export.requested",
            actor=user,
            target=export,
            # Under the key anomaly analysis reads (apps.calls.reads.SERVED_KEYS): a canary asked
            # for in an export trips the canary rule like one served in a list.
            details={"recording_ids": ids, "case_reference": export.case_reference},
        )
    return export


def _charge_playback(*, user: User, recordings: list[Recording]) -> None:
    """Charge the export as the playback of each recording (see the module docstring)."""
    per_facility: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for recording in recordings:
        per_facility[recording.facility_id][0] += 1
        per_facility[recording.facility_id][1] += recording.size_bytes
    for facility_id, (count, size) in sorted(per_facility.items()):
        charges = [(QuotaKind.PLAYBACK, count), (QuotaKind.PLAYBACK_BYTES, size)]
        quota_consume_many(user=user, charges=charges, facility_id=facility_id)


def _check_may_decide(*, export: ExportRequest, approver: User, attempted: str) -> None:
    """Approve permission on every facility of the export, or the audited 404 (I2)."""
    approvable = Facility.objects.restrict(approver, Action.APPROVE_EXPORTS).values_list("pk", flat=True)
    if set(export.items.values_list("facility_id", flat=True)) <= set(approvable):
        return
    with transaction.atomic():
        details = {"attempted": attempted, "exists": True}
        record_event(
            action="access.denied", actor=approver, outcome=Outcome.DENIED, target=export, details=details
        )
    raise NotFoundError()


def export_request_approve(*, export: ExportRequest, approver: User) -> ExportRequest:
    """Approve as a different person holding approve_facility_exports on every facility."""
    if approver.pk == export.requested_by_id:
        with transaction.atomic():
            record_event(
                action="export.self_approval_refused", actor=approver, target=export, outcome="denied"
            )
        raise SelfApprovalError()
    _check_may_decide(export=export, approver=approver, attempted="export.approve")
    with transaction.atomic():
        export = ExportRequest.objects.select_for_update().get(pk=export.pk)
        if export.status != ExportStatus.PENDING:
            raise ExportStateError(status=export.status)
        export.status = ExportStatus.APPROVED
        export.approved_by = approver
        export.approved_at = timezone.now()
        export.save(update_fields=["status", "approved_by", "approved_at"])
        record_event(
            action="export.approved",
            actor=approver,
            target=export,
            details={"requested_by": export.requested_by.get_username()},
        )
        transaction.on_commit(lambda: _enqueue_build(export.pk))
    return export


def export_request_reject(*, export: ExportRequest, approver: User, reason: str) -> ExportRequest:
    """Reject a pending request, with the written reason the requester will read. Only someone
    who could have approved it may reject it (a different person, approve permission on every
    facility), so a rejection is a decision of the same weight as an approval."""
    reason = reason.strip()
    if not reason:
        raise ExportReasonRequiredError()
    if approver.pk == export.requested_by_id:
        with transaction.atomic():
            record_event(
                action="export.self_rejection_refused", actor=approver, target=export, outcome="denied"
            )
        raise SelfApprovalError("An export must be decided by a different person.")
    _check_may_decide(export=export, approver=approver, attempted="export.reject")
    with transaction.atomic():
        export = ExportRequest.objects.select_for_update().get(pk=export.pk)
        if export.status != ExportStatus.PENDING:
            raise ExportStateError(status=export.status)
        export.status = ExportStatus.REJECTED
        export.decision_reason = reason[:2000]
        export.save(update_fields=["status", "decision_reason"])
        record_event(
            action="export.rejected",
            actor=approver,
            target=export,
            details={"requested_by": export.requested_by.get_username(), "reason": export.decision_reason},
        )
    return export


def _enqueue_build(export_id: int) -> None:
    """After the approval commits: ask for the build without blocking or failing the request.
    If the broker is down the export stays approved and beat's access.resume_exports sends it
    again; the approval itself is never lost or turned into an error."""
    from apps.access.tasks import build_export

    if build_export.app.conf.task_always_eager:
        build_export.apply_async(args=(export_id,))
        return
    publish_task(build_export, export_id)


def exports_resume() -> int:
    """Send again the build of every export approved more than ``EXPORT_RESUME_AFTER_SECONDS``
    ago and still not built, and of every build that lost its worker (building for longer than
    ``EXPORT_BUILD_STALE_SECONDS``). Returns how many were sent. A duplicate message is a no-op:
    the build starts only from ``approved`` or a stale ``building``."""
    from apps.access.tasks import build_export

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.EXPORT_RESUME_AFTER_SECONDS)
    lost = now - timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)
    stale = ExportRequest.objects.filter(
        Q(status=ExportStatus.APPROVED, approved_at__lt=cutoff)
        | Q(status=ExportStatus.BUILDING, build_started_at__lt=lost)
    ).order_by("pk")
    sent = [publish_task(build_export, export_id) for export_id in stale.values_list("pk", flat=True)[:100]]
    return sum(sent)


def _stale_build(export: ExportRequest) -> bool:
    if export.status != ExportStatus.BUILDING or export.build_started_at is None:
        return False
    return export.build_started_at < timezone.now() - timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)


def _give_up(export: ExportRequest) -> None:
    """Inside the build's transaction: after EXPORT_BUILD_MAX_ATTEMPTS lost builds, fail for good."""
    export.status = ExportStatus.FAILED
    export.error = f"the build did not finish in {export.build_attempts} attempts; request the export again"
    export.save(update_fields=["status", "error"])
    record_event(
        action="export.failed",
        actor=None,
        target=export,
        outcome="failed",
        details={"attempts": export.build_attempts},
    )


def export_build(*, export_id: int) -> None:
    """Package the recordings (re-checked now), encrypt, make downloadable. Idempotent."""
    with transaction.atomic():
        export = ExportRequest.objects.select_for_update().select_related("requested_by").get(pk=export_id)
        if not (export.status == ExportStatus.APPROVED or _stale_build(export)):
            return  # built, being built, cancelled or failed: a redelivery is a no-op
        if export.build_attempts >= settings.EXPORT_BUILD_MAX_ATTEMPTS:
            _give_up(export)
            return
        export.status = ExportStatus.BUILDING
        export.build_started_at = timezone.now()
        export.build_attempts += 1
        export.save(update_fields=["status", "build_started_at", "build_attempts"])
    requester = export.requested_by
    items = list(export.items.select_related("recording"))
    # Re-check at build time: quarantine, privilege, grants, suspension may have changed.
    allowed = set(
        Recording.objects.restrict(requester, Action.PLAY)
        .filter(pk__in=[i.recording_id for i in items])
        .values_list("pk", flat=True)
    )
    dropped = [i.recording_id for i in items if i.recording_id not in allowed]
    included: list[dict[str, Any]] = []
    files: dict[str, dict[str, Any]] = {}
    manifest: dict[str, Any] = {
        "export_id": export.pk,
        "case_reference": export.case_reference,
        "requested_by": requester.get_username(),
        "approved_by": export.approved_by.get_username() if export.approved_by else None,
        "built_at": timezone.now().isoformat(),
        "recordings": included,
        "withheld": dropped,
        "files": files,
    }
    key, data_key = new_storage_key(), crypto.new_data_key()
    with tempfile.TemporaryFile() as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED) as archive:
            for n, item in enumerate(items, 1):
                if item.recording_id in allowed:
                    audio = recording_read(recording=item.recording)
                    name = f"recording-{item.recording_id}.audio"
                    archive.writestr(name, audio)
                    files[name] = {"sha256": sha256_hex(audio), "bytes": len(audio)}
                    included.append(
                        {
                            "id": item.recording_id,
                            "file": name,
                            "sha256": files[name]["sha256"],
                            "size_bytes": len(audio),
                        }
                    )
                ExportRequest.objects.filter(pk=export.pk).update(progress=int(90 * n / len(items)))
            manifest_bytes, signature = manifest_sign(manifest)
            archive.writestr(MANIFEST, manifest_bytes)
            archive.writestr(SIGNATURE, signature)
        size = raw.tell()
        raw.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: raw.read(1024 * 1024), b""):
            digest.update(chunk)
        raw.seek(0)
        package_storage().put(key, raw, size=size, data_key=data_key)
    with transaction.atomic():
        # Only the build that still owns the export finishes it (never a stale one that was
        # replaced, never over a cancellation, a suspension or a download meanwhile).
        owned = (
            ExportRequest.objects.select_for_update()
            .filter(pk=export.pk, status=ExportStatus.BUILDING, build_started_at=export.build_started_at)
            .first()
        )
        if owned is None:
            transaction.on_commit(lambda: package_delete(key))  # nobody will ever read it
            return
        owned.status = ExportStatus.READY
        owned.progress = 100
        owned.package_name = key
        owned.package_size = size
        owned.package_sha256 = digest.hexdigest()
        owned.wrapped_key = crypto.wrap_data_key(data_key, storage_key=key)
        owned.download_expires_at = timezone.now() + timedelta(hours=settings.EXPORT_DOWNLOAD_HOURS)
        owned.save()
        packed = [item["id"] for item in included]
        owned.items.filter(recording_id__in=packed).update(packaged=True)
        owned.items.exclude(recording_id__in=packed).update(packaged=False)
        record_event(
            action="export.built",
            actor=None,
            target=export,
            details={
                "included": len(included),
                "withheld": dropped,
                "sha256": digest.hexdigest(),
            },
        )
        # Access taken away while the package was being built (its revocation found nothing
        # ready to shred): the package never becomes available.
        problem = export_scope_problem(export=owned, requester_id=requester.pk)
        if problem is not None:
            export_shred(export=owned, cause=problem, actor=None, details={"after": "build"})


def export_download(*, export: ExportRequest, user: User) -> Iterator[bytes]:
    """Claim the single download (atomically) and stream the package; then shred it.

    Re-checks, under the export's row lock, that the requester is still active, not suspended
    and may still play every recording in the package; if not, the package is shredded there
    and then (audited) and the answer is ``export_revoked``. A package past its time limit is
    shredded the same way."""
    now = timezone.now()
    refused: DomainError | None = None
    with transaction.atomic():
        locked = ExportRequest.objects.select_for_update().filter(pk=export.pk, requested_by=user).first()
        if locked is None:
            raise NotFoundError()
        if locked.status == ExportStatus.REVOKED:
            raise ExportRevokedError()
        if locked.status != ExportStatus.READY or locked.downloaded_at is not None:
            raise ExportStateError("This export is not ready, already downloaded or expired.")
        problem = (
            "download_time_limit"
            if locked.download_expires_at is None or locked.download_expires_at <= now
            else export_scope_problem(export=locked, requester_id=user.pk)
        )
        if problem == "download_time_limit":
            export_shred(export=locked, cause=problem, actor=user, status=ExportStatus.EXPIRED)
            refused = ExportStateError("This export is not ready, already downloaded or expired.")
        elif problem is not None:
            export_shred(export=locked, cause=problem, actor=user, details={"after": "download_attempt"})
            refused = ExportRevokedError()
        else:
            locked.status, locked.downloaded_at = ExportStatus.DOWNLOADED, now
            locked.save(update_fields=["status", "downloaded_at"])
            record_event(
                action="export.downloaded",
                actor=user,
                target=locked,
                details={"sha256": locked.package_sha256},
            )
    if refused is not None:
        raise refused  # after the commit: the shredding stands
    if locked.wrapped_key is None:
        raise ExportStateError("This export's package is gone.")
    data_key = crypto.unwrap_data_key(locked.wrapped_key, storage_key=locked.package_name)
    chunks = _stream_then_shred(locked, data_key)
    # Verify the first chunk before the response exists, as playback does: a package altered at
    # rest is refused with a clear 502 instead of headers, and is shredded (the generator's
    # cleanup). A later chunk that fails ends the stream; no unverified byte is ever sent.
    try:
        first = next(chunks, b"")
    except RecordingIntegrityError as exc:
        with transaction.atomic():
            record_event(
                action="export.integrity_failed",
                actor=user,
                target=locked,
                outcome=Outcome.FAILED,
                details={"sha256": locked.package_sha256},
            )
        raise IntegrityFailedError() from exc
    return itertools.chain([first], chunks)


def _stream_then_shred(export: ExportRequest, data_key: bytes) -> Iterator[bytes]:
    try:
        yield from package_storage().iter_plaintext(export.package_name, data_key=data_key)
    finally:
        package_delete(export.package_name)
        ExportRequest.objects.filter(pk=export.pk).update(wrapped_key=None)
