from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


class IsAttorney(BasePermission):
    message = "Only attorneys may manage exempt numbers."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and hasattr(request.user, "attorney"))


class IsRegistryClerk(BasePermission):
    message = "Only registry clerks may decide registrations."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(
            request.user
            and request.user.is_authenticated
            and request.user.is_active
            and request.user.has_perm("registry.verify_exemptnumber")
        )
