"""Celery tasks: thin and idempotent; each calls one service (the rows are the truth)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from apps.audit import chain
from apps.audit.exports import audit_export_build, audit_exports_resume
from apps.audit.floods import auth_rejections_flush
from apps.audit.verification import chain_verification_run
from apps.audit.witness import witness_sync


@shared_task(name="audit.seal_events", ignore_result=True)
def seal_audit_events() -> int:
    """Seal whatever is pending, then sign a checkpoint if one is due. Safe to run twice.

    Eager mode (the embedded default: no beat) signs a checkpoint after every run that sealed
    something, so ``verify_audit_chain`` on a demo covers its newest events.
    """
    auth_rejections_flush()
    sealed = chain.audit_seal_pending()
    eager = seal_audit_events.app.conf.task_always_eager
    checkpoint = chain.audit_checkpoint_create() if eager and sealed else chain.audit_checkpoint_if_due()
    if checkpoint is not None:
        witness_sync()
    if sealed:
        # Downstream readers of the sealed trail (anomaly analysis), by name: audit imports
        # nothing above it. apply_async runs them in-process in eager mode.
        app = seal_audit_events.app
        app.loader.import_default_modules()  # autodiscovery: the web process imports lazily
        for name in settings.AUDIT_AFTER_SEAL_TASKS:
            app.tasks[name].apply_async()
    return sealed


@shared_task(name="audit.checkpoint", ignore_result=True)
def audit_checkpoint() -> int | None:
    checkpoint = chain.audit_checkpoint_create()
    witness_sync()  # also catches up on copies an S3 outage delayed
    return checkpoint.sequence if checkpoint is not None else None


@shared_task(name="audit.flush_rejections", ignore_result=True)
def flush_auth_rejections() -> int:
    return auth_rejections_flush()


@shared_task(name="audit.build_export", ignore_result=True)
def build_audit_export(export_id: int) -> None:
    audit_export_build(export_id=export_id)


@shared_task(name="audit.resume_exports", ignore_result=True)
def resume_audit_exports() -> int:
    return audit_exports_resume()


@shared_task(name="audit.verify_chain", ignore_result=True)
def verify_audit_chain() -> bool:
    """The periodic full check; its result is stored for the auditors' dashboard."""
    return chain_verification_run().ok
