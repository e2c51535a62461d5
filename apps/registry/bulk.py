"""Bulk changes need two clerks (issue 11, section 1).

A registry import, or a clerk's revocations past REGISTRY_BULK_REVOCATIONS_PER_DAY, becomes a
``BulkChange``: a row holding what will be applied and the dry-run report. Only a second
registry clerk's approval applies it (the database refuses ``decided_by = proposed_by``), in
one transaction, through the same services and with the same per-registration audit events as
a single change, so the list guard (apps/registry/alarms.py) sees every drop explained.

The approver approves what they saw. A clerk's revocation batch keeps growing while it waits
(each revocation past the limit joins the clerk's open batch), so an approval naming only the
batch id would also apply whatever was queued after the approver looked. Every listing shows
the change's ``digest`` (``bulk_change_digest``: SHA-256 over its kind and what approval would
apply) and approval must repeat it; a change that differs answers 409 ``bulk_change_changed``
and stays pending, to be looked at again. We chose a digest over freezing the batch at its first
listing because it also holds for an approver who never listed (they cannot produce the digest
without seeing the content) and keeps one open batch per clerk (the database constraint).
"""

from __future__ import annotations

import hashlib
import json

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.roles import REGISTRY_CLERK
from apps.audit.commands import holds_role
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.common.errors import ConflictError, DomainError, NotFoundError
from apps.registry.errors import IllegalTransitionError
from apps.registry.importing import ImportReport, apply_import, plan_import
from apps.registry.models import BulkChange, BulkChangeKind, BulkChangeStatus, ExemptNumber, ExemptStatus
from apps.registry.services import exempt_number_revoke


class ImportInvalidError(DomainError):
    reason = "import_invalid"
    default_message = "The file has errors; nothing was changed."


class SameClerkError(DomainError):
    status_code = 403
    reason = "second_clerk_required"
    default_message = "A bulk change is approved or rejected by a registry clerk other than its proposer."


class BulkChangeChangedError(DomainError):
    status_code = 409
    reason = "bulk_change_changed"
    default_message = (
        "The bulk change is no longer the one you reviewed (more was queued into it): list it again "
        "and approve with its current digest."
    )


class NotAClerkError(DomainError):
    status_code = 403
    reason = "not_a_registry_clerk"
    default_message = "Only registry clerks propose and decide bulk changes."


def _require_clerk(user: User) -> None:
    if not (user.is_active and holds_role(user, REGISTRY_CLERK)):
        raise NotAClerkError()


def bulk_import_propose(
    *, text: str, fmt: str, file_name: str, actor: User, strict: bool = False
) -> tuple[BulkChange | None, ImportReport]:
    """Dry-run the file; if it would change anything, hold it for a second clerk.

    Returns (None, report) when the file changes nothing (every row identical or conflicting):
    running the same file twice proposes nothing the second time. Raises ImportInvalidError
    (with every error and its line) when a row is bad.
    """
    _require_clerk(actor)
    _, report = plan_import(text, fmt, strict=strict)
    if report.errors:
        raise ImportInvalidError(errors=report.errors)
    if report.changes == 0:
        return None, report
    with transaction.atomic():
        change = BulkChange.objects.create(
            kind=BulkChangeKind.IMPORT,
            proposed_by=actor,
            proposed_at=timezone.now(),
            payload={"format": fmt, "text": text, "file": file_name[:200], "strict": strict},
            preview=report.as_dict(),
        )
        record_event(
            action="registry.bulk_change_proposed",
            actor=actor,
            target=change,
            details={
                "kind": change.kind,
                "file": file_name[:200],
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                **_counts(report),
            },
        )
    return change, report


def _counts(report: ImportReport) -> dict[str, int]:
    return {
        "rows": report.rows,
        "identical": report.identical,
        "conflicts": len(report.conflicts),
        "to_create": report.to_create,
        "to_verify": report.to_verify,
    }


def bulk_change_digest(change: BulkChange) -> str:
    """SHA-256 of what approving ``change`` would apply: for revocations the sorted registration
    ids, for an import its file (text, format, strict). Shown with every listing; approval
    must repeat it (see the module docstring)."""
    if change.kind == BulkChangeKind.REVOCATIONS:
        content: dict[str, object] = {"registration_ids": sorted(change.payload.get("registration_ids", []))}
    else:
        content = {key: change.payload.get(key) for key in ("format", "text", "strict")}
    canonical = json.dumps({"kind": change.kind, **content}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def bulk_change_found(change_id: int, clerk: User, *, action: str) -> None:
    """404 for an unknown change, audited (``access.denied``) like every scoped fetch. Called
    before the deciding transaction, which would otherwise roll the denial event back."""
    _require_clerk(clerk)
    get_in_scope_or_404(BulkChange.objects.all(), change_id, actor=clerk, action=action)


def _pending(change_id: int, clerk: User) -> BulkChange:
    _require_clerk(clerk)
    change = BulkChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:  # found just before (bulk_change_found), and never deleted
        raise NotFoundError()
    if change.status != BulkChangeStatus.PENDING:
        raise ConflictError(f"The bulk change is already {change.status}.", status=change.status)
    if change.proposed_by_id == clerk.pk:
        raise SameClerkError()
    return change


def bulk_change_approve(*, change_id: int, clerk: User, digest: str | None = None) -> BulkChange:
    """A second clerk applies the change they reviewed, all or nothing.

    ``digest`` is the ``bulk_change_digest`` the clerk was shown; without it, or if the change
    differs now (revocations queued since), BulkChangeChangedError (409) and nothing is applied.
    (It defaults to None only so that a caller forgetting it gets that refusal, not a TypeError.)
    An import is planned again against the registry as it is now; if it no longer applies
    cleanly the change stays pending and ImportInvalidError lists why."""
    bulk_change_found(change_id, clerk, action="bulk_change.approve")
    with transaction.atomic():
        change = _pending(change_id, clerk)
        # Under the row lock the revoke path also takes (bulk_limits), so nothing joins the
        # batch between this comparison and the approval.
        current = bulk_change_digest(change)
        if digest is None or digest.strip().lower() != current:
            # The current digest is not echoed: the clerk must look at the change again.
            raise BulkChangeChangedError(bulk_change_id=change.pk)
        proposer = change.proposed_by
        if change.kind == BulkChangeKind.IMPORT:
            report = apply_import(
                change.payload["text"],
                change.payload["format"],
                actor=proposer,
                strict=bool(change.payload.get("strict")),
                bulk_change_id=change.pk,
            )
            if report.errors:
                raise ImportInvalidError(errors=report.errors)
            result: dict[str, object] = {
                "imported": report.imported,
                "verified_existing": report.verified_existing,
                "identical": report.identical,
                "conflicts": report.conflicts,
                "quarantined": report.quarantined,
            }
        else:
            result = _apply_revocations(change, proposer=proposer, clerk=clerk)
        change.status = BulkChangeStatus.APPLIED
        change.decided_by = clerk
        change.decided_at = timezone.now()
        change.result = result
        change.save(update_fields=["status", "decided_by", "decided_at", "result"])
        record_event(
            action="registry.bulk_change_approved",
            actor=clerk,
            target=change,
            details={
                "kind": change.kind,
                "proposed_by": proposer.get_username(),
                "digest": current,
                **_summary(result),
            },
        )
    return change


def _summary(result: dict[str, object]) -> dict[str, object]:
    return {key: (len(value) if isinstance(value, list) else value) for key, value in result.items()}


def _apply_revocations(change: BulkChange, *, proposer: User, clerk: User) -> dict[str, object]:
    """Each revocation through the revoke service (its own audited event, as the proposer,
    approved by ``clerk``); one no longer live is skipped."""
    revoked, skipped = 0, 0
    for registration_id in change.payload.get("registration_ids", []):
        if not ExemptNumber.objects.filter(
            pk=registration_id, status__in=[ExemptStatus.PENDING, ExemptStatus.VERIFIED]
        ).exists():
            skipped += 1
            continue
        try:
            exempt_number_revoke(exempt_number_id=registration_id, actor=proposer, approved_by=clerk)
        except IllegalTransitionError:
            skipped += 1
            continue
        revoked += 1
    return {"revoked": revoked, "skipped": skipped}


def bulk_change_reject(*, change_id: int, clerk: User, reason: str) -> BulkChange:
    """A second clerk refuses the change; nothing of it is applied."""
    reason = reason.strip()
    if not reason:
        raise DomainError("A reason is required to reject a bulk change.")
    bulk_change_found(change_id, clerk, action="bulk_change.reject")
    with transaction.atomic():
        change = _pending(change_id, clerk)
        change.status = BulkChangeStatus.REJECTED
        change.decided_by = clerk
        change.decided_at = timezone.now()
        change.decided_reason = reason
        change.save(update_fields=["status", "decided_by", "decided_at", "decided_reason"])
        record_event(
            action="registry.bulk_change_rejected",
            actor=clerk,
            target=change,
            details={"kind": change.kind, "reason": reason},
        )
    return change


def pending_bulk_changes() -> QuerySet[BulkChange]:
    """What waits for a second clerk, oldest first (the clerk queue)."""
    return (
        BulkChange.objects.filter(status=BulkChangeStatus.PENDING)
        .select_related("proposed_by")
        .order_by("proposed_at")
    )
