"""Facility admin portal: server-rendered pages over the same services and scoped querysets as
the API. Views stay thin: parse a form, fetch through restrict()/get_in_scope_or_404, call a
service, render. Reads of protected data are audited in their own transaction, like the API.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.access.errors import QuotaExceededError
from apps.accounts.roles import ROLE_FACILITY_PERMISSIONS
from apps.actions import staff as staff_actions
from apps.audit.reads import page_read_record
from apps.audit.scoped import get_in_scope_or_404
from apps.calls.downloads import FORMATS as DOWNLOAD_FORMATS
from apps.calls.downloads import attachment_response
from apps.calls.downloads import call_download as call_download_build
from apps.calls.masking import shown_attorney, shown_number
from apps.calls.models import Call, Decision
from apps.calls.reads import call_detail_served, call_rows_served
from apps.calls.selectors import search_calls
from apps.common.errors import DomainError, NotFoundError
from apps.common.querysets import Action
from apps.facilities.models import Facility, FacilityUserObjectPermission
from apps.inmates.selectors import grants_managed_by, grants_visible_to, inmates_matching, inmates_visible_to
from apps.inmates.services import inmate_grant_create
from apps.portal.crosssite import ask_if_cross_site
from apps.portal.forms import (
    ROLE_LABELS,
    CallSearchForm,
    GrantFilterForm,
    GrantForm,
    InmateSearchForm,
    StaffAssignForm,
)
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user
from apps.recordings.models import Recording, RecordingState
from apps.recordings.playback import PlaybackLink, playback_link_issue

# --- login / lockout -------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes lockout answer (AXES_LOCKOUT_CALLABLE): a clear page with HTTP 429."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "portal/locked_out.html", {"minutes": minutes}, status=429)


# --- call rows: the masking rule of apps.calls.masking -------------------------------------


@dataclass(frozen=True)
class CallRow:
    call: Call
    number: str | None
    attorney: str | None
    recording: Recording | None


def call_row(call: Call, *, unmasked: bool) -> CallRow:
    """Masked by the one rule of apps.calls.masking. Templates get only the masked values,
    never the Call's raw number."""
    return CallRow(
        call=call,
        number=shown_number(call, unmasked=unmasked),
        attorney=shown_attorney(call, unmasked=unmasked),
        recording=getattr(call, "recording", None),
    )


def _calls_for(user: User) -> QuerySet[Call]:
    return Call.objects.restrict(user, Action.VIEW).select_related(
        "facility", "inmate", "recording", "exempt_number__attorney"
    )


# --- dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacilityStats:
    facility: Facility
    calls_today: int | None
    recorded: int | None
    exempted: int | None
    quarantined: int | None


@require_GET
@portal_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    page = page_of(request, Facility.objects.restrict(user, Action.VIEW), per_page=10)
    calls = Call.objects.restrict(user, Action.VIEW)
    quarantined = Recording.objects.restrict(user, Action.VIEW).filter(state=RecordingState.QUARANTINED)
    sees_calls = set(Facility.objects.restrict(user, Action.VIEW_CALLS).values_list("pk", flat=True))
    stats = []
    for facility in page:
        if facility.pk not in sees_calls:
            stats.append(FacilityStats(facility, None, None, None, None))
            continue
        local_now = timezone.now().astimezone(zoneinfo.ZoneInfo(facility.timezone))
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        today = calls.filter(facility=facility, started_at__gte=midnight).aggregate(
            total=Count("id"),
            recorded=Count("id", filter=Q(recording__isnull=False)),
            exempted=Count("id", filter=Q(decision=Decision.EXEMPT)),
        )
        stats.append(
            FacilityStats(
                facility,
                today["total"],
                today["recorded"],
                today["exempted"],
                quarantined.filter(call__facility=facility).count(),
            )
        )
    page_read_record(actor=user, action="dashboard.viewed", rows=len(stats), page=page.number)
    return render(request, "portal/dashboard.html", {"page": page, "stats": stats})


# --- inmates -----------------------------------------------------------------------------------


@require_GET
@portal_page
def inmate_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = InmateSearchForm(request.GET or None, user=user)
    inmates = inmates_visible_to(user).order_by("last_name", "first_name", "id")
    if form.is_bound and form.is_valid():
        inmates = inmates_matching(inmates, form.cleaned_data["q"].strip())
        if form.cleaned_data["facility"]:
            inmates = inmates.filter(facility=form.cleaned_data["facility"])
    elif form.is_bound:
        inmates = inmates.none()
    page = page_of(request, inmates)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page_read_record(
        actor=user, action="inmates.listed", rows=len(page.object_list), filters=filters, page=page.number
    )
    return render(request, "portal/inmate_list.html", {"form": form, "page": page})


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def inmate_detail(request: HttpRequest, inmate_id: int) -> HttpResponse:
    user = portal_user(request)
    inmate = get_in_scope_or_404(inmates_visible_to(user), inmate_id, actor=user, action="inmate.view")
    caps = request_capabilities(request)
    page = page_of(request, _calls_for(user).filter(inmate=inmate))
    # The call table is call records: charged and audited with the page, before it is shown.
    call_rows_served(
        user=user,
        action="inmate.viewed",
        calls=page.object_list,
        target=inmate,
        facility_id=inmate.facility_id,
        page=page.number,
    )
    rows = [call_row(c, unmasked=caps.unmasked) for c in page]
    grants = grants_visible_to(user).filter(content_object=inmate).order_by("-created_at", "-id")
    manages = Facility.objects.restrict(user, Action.MANAGE).filter(pk=inmate.facility_id).exists()
    return render(
        request,
        "portal/inmate_detail.html",
        {
            "inmate": inmate,
            "page": page,
            "rows": rows,
            "grants": grants[:50],
            "manages": manages,
            "now": timezone.now(),
        },
    )


# --- calls -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def call_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    caps = request_capabilities(request)
    form = CallSearchForm(request.GET, user=user)
    calls = _calls_for(user).none()
    filters: dict[str, Any] = {}
    if form.is_valid():
        filters = form.search_filters()
        try:
            calls = search_calls(_calls_for(user), **filters, unmasked=caps.unmasked)
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
        page, status = page_of(request, _calls_for(user).none()), 429
    rows = [call_row(c, unmasked=caps.unmasked) for c in page]
    search = request.GET.copy()
    search.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "search_query": search.urlencode()}
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
            calls=search_calls(_calls_for(user), **filters, unmasked=caps.unmasked),
            file_format=file_format,
            filters={k: str(v) for k, v in filters.items() if v},
            unmasked=caps.unmasked,
        )
    except DomainError as exc:  # too many rows, quota exceeded, unparseable number
        messages.error(request, exc.message)
        return redirect(back)
    return attachment_response(download)


# --- recordings --------------------------------------------------------------------------------


def _recordings(user: User, action: Action) -> QuerySet[Recording]:
    return Recording.objects.restrict(user, action).select_related(
        "call__facility", "call__inmate", "call__exempt_number__attorney"
    )


def _render_recording(
    request: HttpRequest, recording: Recording, link: PlaybackLink | None = None
) -> HttpResponse:
    user = portal_user(request)
    caps = request_capabilities(request)
    can_play = Recording.objects.restrict(user, Action.PLAY).filter(pk=recording.pk).exists()
    response = render(
        request,
        "portal/recording_detail.html",
        {
            "recording": recording,
            "row": call_row(recording.call, unmasked=caps.unmasked),
            "can_play": can_play,
            "show_reason": caps.unmasked,
            "link": link,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@portal_page
@ask_if_cross_site
def recording_detail(request: HttpRequest, recording_id: int) -> HttpResponse:
    user = portal_user(request)
    recording = get_in_scope_or_404(
        _recordings(user, Action.VIEW), recording_id, actor=user, action="recording.view"
    )
    call_detail_served(user=user, action="recording.viewed", call=recording.call, recording=recording)
    return _render_recording(request, recording)


@require_POST
@portal_page
def recording_play(request: HttpRequest, recording_id: int) -> HttpResponse:
    """Issue a short-lived link (audited by playback_link_issue) and show the player."""
    user = portal_user(request)
    recording = get_in_scope_or_404(
        _recordings(user, Action.PLAY), recording_id, actor=user, action="recording.play"
    )
    try:
        link = playback_link_issue(user=user, recording=recording)
    except NotFoundError:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("portal:recording-detail", recording_id=recording.pk)
    return _render_recording(request, recording, link)


# --- grants ------------------------------------------------------------------------------------


@require_GET
@portal_page
def grant_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    form = GrantFilterForm(request.GET or None)
    grants = grants_visible_to(user).order_by("-created_at", "-id")
    if form.is_bound and form.is_valid() and form.cleaned_data["investigator"].strip():
        grants = grants.filter(user__username=form.cleaned_data["investigator"].strip())
    managed = set(Facility.objects.restrict(user, Action.MANAGE).values_list("pk", flat=True))
    page = page_of(request, grants)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page_read_record(
        actor=user, action="grants.listed", rows=len(page.object_list), filters=filters, page=page.number
    )
    return render(
        request,
        "portal/grant_list.html",
        {"form": form, "page": page, "managed": managed, "now": timezone.now()},
    )


@require_http_methods(["GET", "POST"])
@portal_page
def grant_create(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise NotFoundError()
    if request.method == "POST":
        form = GrantForm(request.POST, user=user)
        if form.is_valid() and form.inmate is not None:
            try:
                grant = inmate_grant_create(
                    granted_by=user,
                    investigator=form.cleaned_data["investigator"],
                    inmate=form.inmate,
                    case_reference=form.cleaned_data["case_reference"],
                    expires_at=form.cleaned_data["expires_at"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"Access granted to {grant.user.username} for inmate {form.inmate.booking_number} "
                    f"until {form.cleaned_data['expires_on']:%Y-%m-%d}.",
                )
                return redirect(f"{reverse('portal:grant-list')}?investigator={grant.user.username}")
    else:
        initial = {k: request.GET[k] for k in ("facility", "booking_number") if request.GET.get(k)}
        form = GrantForm(initial=initial, user=user)
    return render(request, "portal/grant_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@portal_page
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    user = portal_user(request)
    grant = get_in_scope_or_404(
        grants_managed_by(user).select_related("content_object__facility"),
        grant_id,
        actor=user,
        action="grant.revoke",
    )
    if request.method == "POST":
        label = f"{grant.user.username} on inmate {grant.content_object.booking_number}"
        staff_actions.grant_revoke(grant=grant, revoked_by=user)
        messages.success(request, f"Revoked the access of {label}.")
        return redirect("portal:grant-list")
    return render(request, "portal/grant_revoke.html", {"grant": grant})


# --- staff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    facility_id: int
    facility_name: str
    user_id: int
    username: str
    role: str
    permissions: list[str]


def _role_of(codenames: set[str]) -> str:
    """Roles are not stored per facility, only their permissions: name every role that
    matches (investigators and privilege officers hold the same facility permissions)."""
    roles = [
        ROLE_LABELS[r] for r, perms in ROLE_FACILITY_PERMISSIONS.items() if perms and set(perms) == codenames
    ]
    return " or ".join(roles) or "Custom"


@require_http_methods(["GET", "POST"])
@portal_page
def staff_list(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    if not request_capabilities(request).manage:
        raise NotFoundError()
    form = StaffAssignForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid() and form.member is not None:
        facility = form.cleaned_data["facility"]
        role = form.cleaned_data["role"]
        try:
            staff_actions.staff_assign(assigned_by=user, user=form.member, facility=facility, role=role)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request, f"{form.member.username} is now {ROLE_LABELS[role]} at {facility.name}."
            )
            return redirect("portal:staff")

    rows = (
        FacilityUserObjectPermission.objects.restrict(user, Action.MANAGE)
        .values("content_object_id", "content_object__name", "user_id", "user__username")
        .distinct()
        .order_by("content_object__name", "user__username")
    )
    page = page_of(request, rows)
    pairs = [(r["content_object_id"], r["user_id"]) for r in page]
    perms: dict[tuple[int, int], set[str]] = {}
    if pairs:
        for fid, uid, codename in FacilityUserObjectPermission.objects.filter(
            content_object_id__in={p[0] for p in pairs}, user_id__in={p[1] for p in pairs}
        ).values_list("content_object_id", "user_id", "permission__codename"):
            perms.setdefault((fid, uid), set()).add(codename)
    members = [
        Membership(
            facility_id=r["content_object_id"],
            facility_name=r["content_object__name"],
            user_id=r["user_id"],
            username=r["user__username"],
            role=_role_of(perms.get((r["content_object_id"], r["user_id"]), set())),
            permissions=sorted(perms.get((r["content_object_id"], r["user_id"]), set())),
        )
        for r in page
    ]
    return render(
        request, "portal/staff_list.html", {"form": form, "page": page, "members": members, "me": user.pk}
    )


@require_POST
@portal_page
def staff_remove(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    facility = get_in_scope_or_404(
        Facility.objects.restrict(user, Action.MANAGE),
        request.POST.get("facility", ""),
        actor=user,
        action="staff.remove",
    )
    raw_member = str(request.POST.get("user", ""))
    member = User.objects.filter(pk=int(raw_member)).first() if raw_member.isdigit() else None
    if member is None:
        raise NotFoundError()
    try:
        revoked = staff_actions.staff_remove(removed_by=user, user=member, facility=facility).grants_revoked
    except NotFoundError:
        raise
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        extra = f" and revoked {revoked} grant(s)" if revoked else ""
        messages.success(request, f"Removed {member.username} from {facility.name}{extra}.")
    return redirect("portal:staff")
