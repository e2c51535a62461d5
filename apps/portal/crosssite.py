"""Record pages reached from outside the portal ask before they open (issue 9, canaries).

A link from another site or a mail client carries the session cookie, so without this a
colleague could get you suspended by sending a link to a canary: the page would read it as
you. A GET that did not come from one of our pages (``apps.common.origin``) renders the same
"open this record?" page whatever the link points to (a canary, a real record, nothing), and
reads nothing; the person's "Open" is a POST with a CSRF token back to the same address, which
the view then serves as the GET it stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from apps.common.origin import came_from_login, is_same_origin

ViewFunc = Callable[..., HttpResponseBase]


def ask_if_cross_site(view: ViewFunc) -> ViewFunc:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "GET" and (not is_same_origin(request) or came_from_login(request)):
            response = render(request, "portal/confirm_open.html", {"action": request.get_full_path()})
            response["Cache-Control"] = "no-store"
            return response
        return view(request, *args, **kwargs)

    return wrapper
