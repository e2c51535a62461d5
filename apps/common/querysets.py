"""Least privilege (I2) has one entry point: ``Model.objects.restrict(user, action)``.

Every scoped model's queryset derives from ``RestrictedQuerySet`` (after NetBox's
``utilities/querysets.py``). The base owns what must be the same everywhere:

* one vocabulary of actions (``Action``); a word outside it, or an action the model does not
  define, raises instead of silently matching everything or nothing;
* no shortcut: an anonymous or inactive user gets an empty queryset, and a superuser is not a
  back door (nothing here looks at ``is_superuser``);
* grants are read from guardian's direct-foreign-key tables by ``granted_object_ids``, which
  resolves them to a short literal id list (the planner serves ``IN (...)`` from an index; a
  correlated subplan would run once per row) and honours a grant's expiry at query time.

What each action means for a model (which facility permission or grant allows it) is written
once, in that model's queryset ``scope()``. This module stays on the ground floor: it knows
Django and guardian's base tables, no domain.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Self, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

if TYPE_CHECKING:
    from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

M = TypeVar("M", bound=models.Model)


class Action(StrEnum):
    """What a user wants to do with a scoped object: the one vocabulary of ``restrict()``."""

    VIEW = "view"  # know the object exists and read its metadata
    VIEW_CALLS = "view_calls"  # read the call records of a facility (or of an inmate in it)
    PLAY = "play"  # hear a recording
    MANAGE = "manage"  # staff, inmates and grants of a facility
    APPROVE_EXPORTS = "approve_exports"  # be the second person on an export


class UnsupportedAction(ValueError):
    """``restrict()`` was asked for an action this model does not define: a programming error."""


def may_hold_grants(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


def granted_object_ids(
    user: User | AnonymousUser,
    *,
    app_label: str,
    codename: str,
    user_table: type[UserObjectPermissionBase],
    group_table: type[GroupObjectPermissionBase] | None = None,
    expiring: bool = False,
) -> list[int]:
    """Ids of the objects on which ``user`` holds ``<app_label>.<codename>``, directly or
    through a group, as a sorted literal list. ``expiring`` tables carry ``expires_at``; an
    expired grant stops working the moment it expires, with no job having to run."""
    if not may_hold_grants(user):
        return []
    perm = {"permission__codename": codename, "permission__content_type__app_label": app_label}
    # The concrete tables add ``content_object`` (and ``expires_at``); the bases do not know them.
    users: Any = user_table.objects
    direct = users.filter(user_id=user.pk, **perm)
    if expiring:
        direct = direct.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=Now()))
    ids = set(direct.values_list("content_object_id", flat=True))
    if group_table is not None:
        groups: Any = group_table.objects
        via_group = groups.filter(group__user=user.pk, **perm)
        ids.update(via_group.values_list("content_object_id", flat=True))
    return sorted(ids)


class RestrictedQuerySet(models.QuerySet[M]):
    """A queryset that can narrow itself to what one user may do: see the module docstring."""

    def restrict(self, user: User | AnonymousUser, action: Action | str = Action.VIEW) -> Self:
        try:
            wanted = Action(action)
        except ValueError:
            raise UnsupportedAction(f"unknown action {action!r}") from None
        if not may_hold_grants(user):
            # Still validate the action for this model, so a typo fails for everyone alike.
            self.scope(AnonymousUser(), wanted)
            return self.none()
        return self.filter(self.scope(user, wanted))

    def scope(self, user: User | AnonymousUser, action: Action) -> Q:
        """The filter that allows ``action`` to ``user`` on this model; raise UnsupportedAction
        for an action the model does not define."""
        raise UnsupportedAction(f"{self.model.__name__} defines no scope")

    def unsupported(self, action: Action) -> UnsupportedAction:
        return UnsupportedAction(f"{self.model.__name__} has no {action.value!r} scope")
