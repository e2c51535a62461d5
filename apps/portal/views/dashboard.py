"""The portal's home: today's figures for each facility the user sees (call figures only
where they may see calls)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.access.selectors import suspensions_liftable_by
from apps.audit.reads import page_read_record
from apps.audit.verification import trail_state
from apps.common.querysets import Action
from apps.facilities.models import Facility
from apps.portal.nav import request_capabilities
from apps.portal.pages import page_of, portal_page, portal_user
from apps.portal.selectors import facility_day_stats
from apps.portal.trends import dashboard_trends
from apps.registry.alarms import open_alarm_banners


@require_GET
@portal_page
def dashboard(request: HttpRequest) -> HttpResponse:
    user = portal_user(request)
    elsewhere = request_capabilities(request).workspace_elsewhere()
    if elsewhere is not None:
        return redirect(elsewhere)
    page = page_of(request, Facility.objects.restrict(user, Action.VIEW), per_page=10)
    stats = facility_day_stats(user, page)
    page_read_record(actor=user, action="dashboard.viewed", rows=len(stats), page=page.number)
    # Facility admins see the do-not-record list's open alarms (counts and days, no numbers).
    alarms = open_alarm_banners() if Facility.objects.restrict(user, Action.MANAGE).exists() else []
    trends = dashboard_trends(user)
    # Auditors see the trail's state: sealing, checkpoints, verification and every open alarm.
    compliance = user.has_perm("audit.view_auditevent")
    trail = trail_state() if compliance else None
    if compliance and not alarms:
        alarms = open_alarm_banners()
    context: dict[str, object] = {
        "page": page,
        "stats": stats,
        "alarms": alarms,
        "trends": trends,
        "trail": trail,
    }
    # Accounts suspended by a rule (a canary opened, an anomaly) are alarms too: counted within
    # the suspensions this user may see, linked only when their list page opens for them.
    suspended = suspensions_liftable_by(user).filter(lifted_at__isnull=True).count() if compliance else 0
    context["suspended"] = suspended
    context["suspensions_linked"] = suspended and (
        user.has_perm("access.lift_suspension") or request_capabilities(request).manage
    )
    context["alarm_count"] = len(alarms) + (len(trail.floods) if trail else 0) + suspended
    return render(request, "portal/dashboard.html", context)
