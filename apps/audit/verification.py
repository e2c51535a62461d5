"""The periodic verification of the whole trail, with its result stored (ChainVerification):
the auditors' dashboard shows when the chain was last checked and whether it held."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import checkpoint_payload, format_time
from apps.audit.chain import verify_chain
from apps.audit.models import AuditEvent, AuthRejectionWindow, ChainVerification, Checkpoint, Outcome
from apps.audit.services import record_event
from apps.audit.witness import get_witness
from apps.common.s3 import S3_ERRORS

# Reading the witness: a local folder (OSError) or S3.
_WITNESS_ERRORS: tuple[type[Exception], ...] = (OSError, *S3_ERRORS)


def chain_verification_run() -> ChainVerification:
    """Verify every sealed event and checkpoint (and the witness copies), store the result and
    record it in the trail. An unreadable witness is a failed verification, not a crash."""
    started = timezone.now()
    witness = get_witness()
    try:
        report = verify_chain(witness=witness)
    except _WITNESS_ERRORS as exc:
        result = ChainVerification(
            ok=False,
            witnessed=witness is not None,
            problem_kind="witness_unreadable",
            message=f"cannot read the checkpoint witness: {exc.__class__.__name__}",
        )
    else:
        problem = report.problem
        result = ChainVerification(
            ok=report.ok,
            events=report.events,
            checkpoints=report.checkpoints,
            last_sequence=report.last_sequence,
            unsealed=report.unsealed,
            witnessed=witness is not None,
            problem_kind=problem.kind if problem else "",
            problem_sequence=problem.sequence if problem else None,
            message=problem.message if problem else "; ".join(report.notes),
        )
    result.started_at, result.finished_at = started, timezone.now()
    with transaction.atomic():
        result.save()
        record_event(
            action="audit.chain_verified",
            outcome=Outcome.SUCCESS if result.ok else Outcome.FAILED,
            target_type=ChainVerification._meta.label_lower,
            target_id=str(result.pk),
            details={
                "ok": result.ok,
                "events": result.events,
                "last_sequence": result.last_sequence,
                "problem": result.problem_kind,
            },
        )
    return result


def latest_verification() -> ChainVerification | None:
    return ChainVerification.objects.order_by("-id").first()


@dataclass(frozen=True)
class TrailState:
    """What the auditors' dashboard shows of the trail (a few indexed reads, no chain walk)."""

    last_sealed: AuditEvent | None
    unsealed: int
    last_checkpoint: Checkpoint | None
    checkpoint_signature_ok: bool | None
    last_verification: ChainVerification | None
    floods: list[AuthRejectionWindow]


FLOODS_SHOWN_FOR = timedelta(days=1)


def trail_state(*, now: datetime | None = None) -> TrailState:
    now = now or timezone.now()
    last_sealed = (
        AuditEvent.objects.filter(sequence__isnull=False)
        .order_by("-sequence")
        .only("id", "sequence", "created_at", "sealed_at", "hash")
        .first()
    )
    checkpoint = Checkpoint.objects.order_by("-sequence").first()
    signature_ok = None
    if checkpoint is not None:
        payload = checkpoint_payload(
            sequence=checkpoint.sequence,
            hash=checkpoint.hash,
            created_at=format_time(checkpoint.created_at) or "",
        )
        signature_ok = signing.verify_signature(
            public_key=signing.public_key_bytes(), payload=payload, signature_b64=checkpoint.signature
        )
    floods = list(
        AuthRejectionWindow.objects.filter(alerted=True, window_start__gte=now - FLOODS_SHOWN_FOR).order_by(
            "-window_start"
        )[:10]
    )
    return TrailState(
        last_sealed=last_sealed,
        # the partial index audit_unsealed_idx keeps this count small and cheap
        unsealed=AuditEvent.objects.filter(sequence__isnull=True).count(),
        last_checkpoint=checkpoint,
        checkpoint_signature_ok=signature_ok,
        last_verification=latest_verification(),
        floods=floods,
    )
