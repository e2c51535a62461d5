from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


class HasModelPermission(BasePermission):
    """Authenticated (else 401) and holding ``required`` as a model permission (else 403)."""

    required = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.has_perm(self.required))


class CanViewAuditTrail(HasModelPermission):
    message = "Only auditors may read the audit trail."
    required = "audit.view_auditevent"


class CanExportAuditTrail(HasModelPermission):
    message = "Only auditors may export the audit trail."
    required = "audit.export_auditevent"
