"""Domain errors: raised by services, turned into HTTP answers in one place (apps.common.api).

Each error has a stable machine-readable ``reason`` and a human message; the HTTP status lives
here so that every endpoint answers the same failure the same way.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    reason = "invalid"
    default_message = "The request is invalid."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        self.extra = extra
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "detail": self.message, **self.extra}


class NotFoundError(DomainError):
    """Missing and forbidden objects answer the same (I2)."""

    status_code = 404
    reason = "not_found"
    default_message = "Not found."


class ConflictError(DomainError):
    status_code = 409
    reason = "conflict"
    default_message = "The request conflicts with the current state."


class InvalidPhoneNumberError(DomainError):
    reason = "invalid_number"
    default_message = "The phone number cannot be parsed."
