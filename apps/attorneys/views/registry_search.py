"""The registry desk's reads of the whole registry (issue 15, item 7): search every
registration, and one number's history (every registration of it over time, the decisions on
them with who and when, inmate claims and privilege flags on it).

Both are registry-clerk pages: anyone else gets the 404, recorded as ``access.denied``. Each
read is one audit event naming what was shown, numbers only as keyed references. Like the
clerk queue they are not charged to a quota: they show registrations, not call records or
audio (the ``call_rows`` quota meters those), and no call row appears here.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.attorneys import forms
from apps.attorneys.pages import clerk_read_page, page_user
from apps.audit.reads import page_read_record
from apps.audit.references import protect_number
from apps.audit.scoped import get_in_scope_or_404
from apps.audit.services import record_event
from apps.registry.categories import rule_for
from apps.registry.models import ExemptNumber
from apps.registry.selectors import number_history_of, registrations_search

SEARCH_PAGE_ROWS = 25
SEARCH_KEYS = ("number", "attorney", "status", "category", "facility")


@clerk_read_page("registry_search.view")
def registry_search(request: HttpRequest) -> HttpResponse:
    clerk = page_user(request)
    form = forms.RegistrySearchForm(request.GET)
    context: dict[str, object] = {"form": form}
    if not form.is_valid():
        # A bad search is still a read attempt: recorded with what was asked (masked).
        asked = {key: request.GET.get(key, "")[:100] for key in SEARCH_KEYS}
        page_read_record(
            actor=clerk, action="registry_search.viewed", rows=0, filters={**asked, "invalid": "1"}
        )
        return render(request, "attorneys/registry_search.html", context, status=400)
    search = form.search()
    paginator = Paginator(registrations_search(search), SEARCH_PAGE_ROWS)
    wanted = form.cleaned_data["page"] or 1
    filters = {key: getattr(search, key) for key in SEARCH_KEYS}
    if wanted > paginator.num_pages:
        form.add_error("page", f"There is no page {wanted}: the search has {paginator.num_pages}.")
        page_read_record(actor=clerk, action="registry_search.viewed", rows=0, filters=filters, page=wanted)
        return render(request, "attorneys/registry_search.html", context, status=400)
    page = paginator.page(wanted)
    page_read_record(
        actor=clerk, action="registry_search.viewed", rows=len(page.object_list), filters=filters, page=wanted
    )
    query = request.GET.copy()
    query.pop("page", None)
    context.update({"page": page, "total": paginator.count, "query": query.urlencode()})
    return render(request, "attorneys/registry_search.html", context)


@clerk_read_page("registry_history.view")
def registry_history(request: HttpRequest, number_id: int) -> HttpResponse:
    """The history of the number registration ``number_id`` holds (the id keeps the number out
    of URLs, and so out of access logs and browser history)."""
    clerk = page_user(request)
    exempt = get_in_scope_or_404(
        ExemptNumber.objects.all(), number_id, actor=clerk, action="registry_history.view"
    )
    history = number_history_of(exempt.number)
    with transaction.atomic():
        record_event(
            action="registry_history.viewed",
            actor=clerk,
            target=exempt,
            facility_id=exempt.facility_id,
            details={
                "number_ref": protect_number(exempt.number),
                "registrations": len(history.registrations),
                "events": len(history.events),
                "claims": len(history.claims),
                "flags": len(history.flags),
            },
        )
    rows = [(r, rule_for(r.category)) for r in history.registrations]
    events = [
        (e, e.action.removeprefix("exempt_number.").replace("_", " ").capitalize()) for e in history.events
    ]
    return render(
        request,
        "attorneys/registry_history.html",
        {"opened": exempt, "history": history, "rows": rows, "events": events},
    )
