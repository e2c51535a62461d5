from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.common import context
from apps.common.client_ip import client_ip

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Gives every request an id (kept from X-Request-ID when it is well-formed).

    The id is echoed in the response and stamped on every audit event the request writes, so
    an auditor can tie an event to the proxy's and the switch's logs.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        rid_token = context.request_id.set(rid)
        # The peer, or behind TRUSTED_PROXY_COUNT proxies the address they vouch for.
        ip_token = context.client_ip.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            context.request_id.reset(rid_token)
            context.client_ip.reset(ip_token)
        response["X-Request-ID"] = rid
        return response


# Everything the pages load comes from our own origin: no inline script or style, no plugin,
# no framing, forms post only to us. An injected <script> or style attribute is inert.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy and Referrer-Policy on every response.

    same-origin keeps the referrer for our own CSRF checks but never sends a page's URL
    elsewhere; a playback link is never a page, and is single-use anyway.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A page that needs another policy sets its own (only the API docs, apps.common.api_docs).
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Referrer-Policy"] = "same-origin"
        return response


NUL_REFUSED = {
    "reason": "invalid_characters",
    "detail": "The request contains a NUL character, which no field accepts.",
}


class RejectNulMiddleware:
    """A NUL character in the query string is a 400 for every page and endpoint.

    PostgreSQL text cannot hold NUL, so a NUL that reached a filter was a 500 there (and
    matched nothing on SQLite); found by fuzzing. Request bodies are checked where they are
    parsed (forms' validators, DRF's fields, the API exception handler).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return JsonResponse(NUL_REFUSED, status=400)
        return self.get_response(request)
