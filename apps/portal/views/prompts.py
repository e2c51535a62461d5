"""Prompt texts (issue 11, section 7): a facility admin reads every version of the prompts of
the facilities they manage and publishes a new one. Reading is audited (``prompts.viewed``, one
event per page); publishing is apps.facilities.prompts.prompt_text_publish (audited there)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.audit.reads import page_read_record
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility, PromptKind, PromptText
from apps.facilities.prompts import MAX_PROMPT_LENGTH, prompt_text_publish
from apps.portal.forms import FacilityChoiceField
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user


class PromptPublishForm(forms.Form):
    facility = FacilityChoiceField(queryset=Facility.objects.none())
    kind = forms.ChoiceField(choices=PromptKind.choices)
    text = forms.CharField(max_length=MAX_PROMPT_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["facility"].queryset = Facility.objects.restrict(user, Action.MANAGE)  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
@portal_page
def prompt_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise NotFoundError()
    form = PromptPublishForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        facility, kind = form.cleaned_data["facility"], form.cleaned_data["kind"]
        try:
            prompt = prompt_text_publish(
                facility=facility, kind=kind, text=form.cleaned_data["text"], actor=user
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"Published {prompt.get_kind_display()} v{prompt.version} at {facility.name}."
            )
            return redirect("portal:prompt-list")
    prompts = PromptText.objects.restrict(user, Action.MANAGE).select_related("facility", "created_by")
    page = page_of(request, prompts.order_by("facility__code", "kind", "-version"))
    page_read_record(actor=user, action="prompts.viewed", rows=len(page.object_list), page=page.number)
    return render(
        request, "portal/prompt_list.html", {"form": form, "page": page, "prompts": page.object_list}
    )
