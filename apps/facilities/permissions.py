from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from apps.facilities.models import Facility


class IsSwitchAccount(BasePermission):
    """Only a facility's switch service account may set up calls and upload audio."""

    message = "Only a facility's switch account may do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(
            request.user and request.user.is_authenticated and hasattr(request.user, "switch_account")
        )


def switch_facility(user: Any) -> Facility:
    return user.switch_account.facility
