"""Call search and its download: rows masked by apps.calls.masking and charged to the
user's call_rows quota, as in the API."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from apps.access.errors import QuotaExceededError
from apps.calls.downloads import FORMATS as DOWNLOAD_FORMATS
from apps.calls.downloads import attachment_response
from apps.calls.downloads import call_download as call_download_build
from apps.calls.reads import call_rows_served
from apps.calls.selectors import calls_visible_to, search_calls
from apps.common.errors import DomainError
from apps.portal.crosssite import ask_if_cross_site
from apps.portal.forms import (
    CallSearchForm,
)
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user
from apps.portal.rows import call_row
from apps.portal.selectors import playable_ids


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def call_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    caps = request_capabilities(request)
    form = CallSearchForm(request.GET, user=user)
    calls = calls_visible_to(user).none()
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = form.search_filters()
        try:
            calls = search_calls(calls_visible_to(user), **filters, unmasked=caps.unmasked)
        except DomainError as exc:
            form.add_error("number", exc.message)
    page = page_of(request, calls)
    status = 200
    try:
        # Rows shown count against the user's call_rows quota (I4), as in the API.
        call_rows_served(
            user=user, action="calls.searched", calls=page.object_list, filters=filters, page=page.number
        )
    except QuotaExceededError as exc:
        messages.error(request, exc.message)
        page, status = page_of(request, calls_visible_to(user).none()), 429
    rows = [call_row(c, unmasked=caps.unmasked) for c in page]
    # Rows whose recording the user may play get a box to tick for an export request.
    exportable = playable_ids(user, [r.recording.pk for r in rows if r.recording is not None])
    search = request.GET.copy()
    search.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "search_query": search.urlencode(),
        "exportable": exportable,
    }
    return render(request, "portal/call_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def call_download(request: HttpRequest) -> HttpResponse:
    """The current search as a CSV or JSON file; refusals go back to the search with a message."""
    user = portal_user(request)
    caps = request_capabilities(request)
    form = CallSearchForm(request.GET, user=user)
    file_format = request.GET.get("file_format", "csv")
    search = request.GET.copy()
    search.pop("file_format", None)
    back = f"{reverse('portal:call-list')}?{search.urlencode()}"
    if file_format not in DOWNLOAD_FORMATS:
        messages.error(request, "Choose CSV or JSON for the download.")
        return redirect(back)
    if not form.is_valid():
        messages.error(request, "Correct the search before downloading it.")
        return redirect(back)
    filters = form.search_filters()
    try:
        download = call_download_build(
            user=user,
            calls=search_calls(calls_visible_to(user), **filters, unmasked=caps.unmasked),
            file_format=file_format,
            filters={k: str(v) for k, v in filters.items() if v},
            unmasked=caps.unmasked,
        )
    except DomainError as exc:  # too many rows, quota exceeded, unparseable number
        messages.error(request, exc.message)
        return redirect(back)
    return attachment_response(download)
