"""Was this request made by one of our own pages? (Issue 9: a link must not act for you.)

A session cookie rides along on a top-level navigation from any site (SameSite=Lax), and on a
link opened from a mail client. Reads that count against a person (quotas, canaries, the
anomaly rules) must therefore come from our own pages, or a colleague could get you suspended
by sending a link. Browsers say where a request came from in ``Sec-Fetch-Site``, which a page
cannot forge or suppress; older browsers only in ``Referer``. When neither tells, we assume
the request came from outside: the caller then asks the person instead of acting.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def is_same_origin(request: HttpRequest) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    referer = request.headers.get("Referer", "")
    return bool(referer) and urlsplit(referer).netloc == request.get_host()


def came_from_login(request: HttpRequest) -> bool:
    """A navigation that follows the login form's redirect (``?next=``): the link that sent the
    person to the login page may have come from anywhere, so the redirect proves nothing."""
    referer = request.headers.get("Referer", "")
    if not referer or not url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return False
    return urlsplit(referer).path.rstrip("/") == settings.LOGIN_URL.rstrip("/")
