from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from apps.audit.models import Outcome
from apps.audit.services import record_event


class AdminAuditMiddleware:
    """Records every request a staff user makes to the Django admin (reads and bulk actions
    included), after the response, with method, path and status. Writes made through the
    admin are also recorded in their own transaction by the LogEntry receiver."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            request.path.startswith("/admin/")
            and user is not None
            and user.is_authenticated
            and user.is_staff
        ):
            with transaction.atomic():
                record_event(
                    action="admin.request",
                    actor=user,
                    outcome=Outcome.SUCCESS if response.status_code < 400 else Outcome.DENIED,
                    details={
                        "method": request.method,
                        "path": request.path[:200],
                        "status": response.status_code,
                    },
                )
        return response
