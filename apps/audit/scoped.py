"""The one scoped fetch every view and API view uses: a forbidden object and a missing one
answer the same 404, and the attempt is audited. It lives in audit, not common, because the
denial is an audit event: common stays the ground floor that imports nothing of ours."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction

from apps.audit.models import Outcome
from apps.audit.services import record_event
from apps.common.errors import NotFoundError

M = TypeVar("M", bound=models.Model)


def get_in_scope_or_404(
    scoped: models.QuerySet[M],
    pk: object,
    *,
    actor: User | AnonymousUser,
    action: str,
) -> M:
    """Fetch ``pk`` from a queryset already restricted to the caller, or answer 404.

    A forbidden object and a missing one answer the same (I2); the attempt is audited either
    way, with whether the object exists, so enumeration and scope probing show in the trail.
    """
    try:
        return scoped.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        exists = scoped.model._default_manager.filter(pk=pk).exists() if _valid_pk(pk) else False
        with transaction.atomic():
            record_event(
                action="access.denied",
                actor=actor,
                outcome=Outcome.DENIED,
                target_type=scoped.model._meta.label_lower,
                target_id=str(pk)[:64],
                details={"attempted": action, "exists": exists},
            )
        raise NotFoundError() from None


def _valid_pk(pk: object) -> bool:
    return isinstance(pk, int) or (isinstance(pk, str) and pk.isdigit() and len(pk) < 19)
