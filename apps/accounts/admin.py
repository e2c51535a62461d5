"""Users, roles and permissions in the admin: every change names who got what.

A role is a group; a superuser may still assign roles and permissions here (there is no other
screen for creating staff), but each change writes one ``permission.changed`` event naming the
user or group, what was added and removed, and the flags flipped, in the transaction of the
change (the admin's change view is atomic). The LogEntry receiver's generic "changed groups"
message does not say which groups.
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin  # type: ignore[import-untyped]
from axes.models import AccessAttempt, AccessFailureLog, AccessLog  # type: ignore[import-untyped]
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest

from apps.audit.services import record_event

FLAGS = ("is_active", "is_staff", "is_superuser")


def _perm_labels(perms: Any) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in perms}


def _diff(before: set[str], after: set[str]) -> tuple[list[str], list[str]]:
    return sorted(after - before), sorted(before - after)


class AuditedUserAdmin(UserAdmin):
    """Registered by ``apps/access/admin.py``, which adds the rule that a suspended account is
    not reactivated here: suspensions belong to ``access``, a layer above this one."""

    # A user is deactivated, never deleted: the trail, grants and decisions name them.
    actions = None

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user: User = form.instance
        # ``form.initial`` holds the values the form was built from: the state before this save.
        before = form.initial if change else {}
        groups_added, groups_removed = _diff(
            {g.name for g in before.get("groups", [])}, set(user.groups.values_list("name", flat=True))
        )
        perms_added, perms_removed = _diff(
            _perm_labels(before.get("user_permissions", [])),
            _perm_labels(user.user_permissions.select_related("content_type")),
        )
        flags = {
            flag: [bool(before.get(flag, False)), bool(getattr(user, flag))]
            for flag in FLAGS
            if flag in form.fields and bool(before.get(flag, False)) != bool(getattr(user, flag))
        }
        if not (groups_added or groups_removed or perms_added or perms_removed or flags):
            return
        record_event(
            action="permission.changed",
            actor=request.user,
            target=user,
            details={
                "via": "admin",
                "user": user.username,
                "groups_added": groups_added,
                "groups_removed": groups_removed,
                "permissions_added": perms_added,
                "permissions_removed": perms_removed,
                "flags": flags,
            },
        )


class AuditedGroupAdmin(GroupAdmin):
    # Roles are groups the code relies on (apps/accounts/roles.py): never deleted here.
    actions = None

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        group: Group = form.instance
        before = form.initial if change else {}
        added, removed = _diff(
            _perm_labels(before.get("permissions", [])),
            _perm_labels(group.permissions.select_related("content_type")),
        )
        if not (added or removed):
            return
        record_event(
            action="permission.changed",
            actor=request.user,
            target=group,
            details={
                "via": "admin",
                "group": group.name,
                "permissions_added": added,
                "permissions_removed": removed,
            },
        )


class _LogAdminMixin:
    """Login attempts are evidence: readable, never edited. (A lockout, an AccessAttempt, may
    still be deleted: that is how an administrator unlocks an account, and it is audited.)"""

    actions = None

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyAccessLogAdmin(_LogAdminMixin, AccessLogAdmin):
    pass


class ReadOnlyAccessFailureLogAdmin(_LogAdminMixin, AccessFailureLogAdmin):
    pass


class UnlockOnlyAccessAttemptAdmin(AccessAttemptAdmin):
    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


for model, model_admin in [
    (Group, AuditedGroupAdmin),
    (AccessLog, ReadOnlyAccessLogAdmin),
    (AccessFailureLog, ReadOnlyAccessFailureLogAdmin),
    (AccessAttempt, UnlockOnlyAccessAttemptAdmin),
]:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
