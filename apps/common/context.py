"""Per-request facts (request id, client address) that the audit trail stamps on each event.

Held in context variables so that services deep in the call stack need not be handed the
request object.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="")
client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
