"""Prompt texts: what a facility's switches tell the caller (issue 11, section 7).

The courts decide on what the caller was told (U.S. v. Hohn), so the words are kept as
evidence: each change is a new version (the table is append-only), published only here, by an
admin of that facility, with an audit event naming the version and the text's digest. Call
setup names the current version in the answer (apps.calls.services) and the switch reports
what it played at the end of the call.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility, PromptKind, PromptText

MAX_PROMPT_LENGTH = 2000


class InvalidPromptTextError(DomainError):
    reason = "invalid_prompt_text"
    default_message = "A prompt text must be between 1 and 2000 characters, not only spaces."


def current_prompts(facility: Facility) -> dict[str, PromptText]:
    """The current (highest) version of each kind for ``facility``, keyed by kind."""
    current: dict[str, PromptText] = {}
    for prompt in PromptText.objects.filter(facility=facility).order_by("kind", "-version"):
        current.setdefault(prompt.kind, prompt)
    return current


@transaction.atomic
def prompt_text_publish(*, facility: Facility, kind: str, text: str, actor: User) -> PromptText:
    """Publish a new version of ``facility``'s ``kind`` prompt; the next call setup names it.

    Only a user who manages the facility may (anyone else: the same 404 as a missing facility).
    The facility row is locked so two admins publishing at once get versions n+1 and n+2, never
    a unique-constraint error; the audit event is written in the same transaction.
    """
    if not Facility.objects.restrict(actor, Action.MANAGE).filter(pk=facility.pk).exists():
        raise NotFoundError()
    if kind not in PromptKind.values:
        raise InvalidPromptTextError("Unknown prompt kind.", kinds=sorted(PromptKind.values))
    text = text.strip()
    if not text or len(text) > MAX_PROMPT_LENGTH:
        raise InvalidPromptTextError()
    Facility.objects.select_for_update().filter(pk=facility.pk).first()
    latest = PromptText.objects.filter(facility=facility, kind=kind).aggregate(v=Max("version"))["v"] or 0
    prompt = PromptText.objects.create(
        facility=facility, kind=kind, version=latest + 1, text=text, created_by=actor
    )
    record_event(
        action="prompt.published",
        actor=actor,
        target=prompt,
        facility_id=facility.pk,
        details={
            "kind": kind,
            "version": prompt.version,
            "previous_version": latest or None,
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        },
    )
    return prompt
