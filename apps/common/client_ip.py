"""The client's address: the one function audit and login throttling both ask.

Behind the documented nginx (infra/deploy/nginx.conf.example) every connection comes from
127.0.0.1, so REMOTE_ADDR alone makes one attacker's five bad passwords lock the real user out
for everyone, and stamps the proxy on every audit event. Each trusted proxy appends the address
it saw to X-Forwarded-For, so with TRUSTED_PROXY_COUNT = n the client is the n-th entry from
the right; everything to its left was written by the client and is never believed. With n = 0
(no proxy, the default) the header is ignored entirely.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address, or None when even the peer address is unusable."""
    remote = _valid(request.META.get("REMOTE_ADDR") or "")
    depth = settings.TRUSTED_PROXY_COUNT
    if depth == 0:
        return remote
    hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < depth:
        # Fewer hops than proxies: the request did not come through all of them, and the
        # peer is the only address nobody could write.
        return remote
    return _valid(hops[-depth]) or remote


def client_ip_for_axes(request: HttpRequest) -> str:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the same address, never None."""
    return client_ip(request) or ""
