"""Attorney portal (sign-up, numbers, evidence, privilege flags) and the registry desk (clerk
queue, privilege review). Views are thin: forms in, services out, objects fetched only through
querysets restricted to the caller (an attorney's own rows; a clerk's or officer's role)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.http import require_POST

from apps.attorneys import forms
from apps.audit.models import AuditEvent, Outcome
from apps.audit.services import record_event
from apps.common.errors import DomainError, NotFoundError
from apps.common.scoping import get_in_scope_or_404
from apps.recordings.models import ReviewDecision
from apps.recordings.review import REVIEW_PERMISSION, review_confirm, review_propose, review_queue
from apps.registry import services
from apps.registry.claims import claim_reject, claim_verify
from apps.registry.evidence import evidence_read, evidence_upload
from apps.registry.flags import privilege_flag_submit
from apps.registry.models import Attorney, ClaimStatus, Evidence, ExemptNumber, ExemptStatus, InmateClaim
from apps.registry.notifications import notify_on_commit
from apps.registry.profiles import attorney_activate, attorney_signup, attorney_update_profile

ViewFunc = Callable[..., HttpResponseBase]
CLERK_PERMISSION = "registry.verify_exemptnumber"
HISTORY_LABELS = {
    "exempt_number.registered": "Registered",
    "exempt_number.verified": "Verified",
    "exempt_number.rejected": "Rejected",
    "exempt_number.revoked": "Revoked",
    "exempt_number.renewal_requested": "Renewal requested",
    "exempt_number.renewed": "Renewed",
    "exempt_number.reminder_sent": "Expiry reminder sent",
    "exempt_number.expired": "Expired",
}


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - guaranteed by login_required
    return user


def _guarded(test: Callable[[User], bool]) -> Callable[[ViewFunc], ViewFunc]:
    """Login required; users failing ``test`` and missing/foreign objects get the same 404."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not test(_user(request)):
                return render(request, "attorneys/not_found.html", status=404)
            try:
                return view(request, *args, **kwargs)
            except NotFoundError:
                return render(request, "attorneys/not_found.html", status=404)

        return login_required(wrapper, login_url=reverse_lazy("attorneys:login"))

    return decorate


attorney_page = _guarded(lambda u: u.is_active and hasattr(u, "attorney"))
clerk_page = _guarded(lambda u: u.is_active and u.has_perm(CLERK_PERMISSION))
officer_page = _guarded(lambda u: u.is_active and u.has_perm(REVIEW_PERMISSION))


def _attorney(request: HttpRequest) -> Attorney:
    return _user(request).attorney


def _own_numbers(request: HttpRequest) -> QuerySet[ExemptNumber]:
    return ExemptNumber.objects.filter(attorney=_attorney(request)).select_related("facility")


def _fail(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)


# --- accounts --------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Throttled by django-axes (AxesStandaloneBackend + middleware), like the staff portal."""

    template_name = "attorneys/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        user = self.request.user
        if isinstance(user, User) and not hasattr(user, "attorney"):
            if user.has_perm(CLERK_PERMISSION):
                return reverse("attorneys:clerk-queue")
            if user.has_perm(REVIEW_PERMISSION):
                return reverse("attorneys:review-queue")
        return reverse("attorneys:home")


def signup(request: HttpRequest) -> HttpResponse:
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _signup_and_mail(request, data)
        except IntegrityError:
            # A bar number (or, racing, a username) already held: the same answer as a
            # success, so signup is no oracle, and no 500 (found by fuzzing). Minimal fix:
            # disputes over a bar number are the registry's to settle (issue 13, High 2).
            with transaction.atomic():
                record_event(
                    action="attorney.signup_refused", outcome=Outcome.DENIED, details={"reason": "conflict"}
                )
        return render(request, "attorneys/signup_sent.html", {"email": data["email"]})
    return render(request, "attorneys/signup.html", {"form": form})


def _signup_and_mail(request: HttpRequest, data: dict[str, Any]) -> None:
    with transaction.atomic():
        attorney = attorney_signup(
            username=data["username"],
            email=data["email"],
            password=data["password"],
            full_name=data["full_name"],
            bar_state=data["bar_state"],
            bar_number=data["bar_number"],
            firm=data["firm"],
        )
        user = attorney.user
        link = request.build_absolute_uri(
            reverse(
                "attorneys:verify-email",
                args=[
                    urlsafe_base64_encode(force_bytes(user.pk)),
                    default_token_generator.make_token(user),
                ],
            )
        )
        notify_on_commit(
            data["email"],
            "Confirm your e-mail for the attorney portal",
            f"Open this link to activate your account:\n{link}\n\n"
            "If you did not sign up, ignore this e-mail.\n",
        )


def verify_email(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))), attorney__isnull=False)
    except (ValueError, User.DoesNotExist, OverflowError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        return render(request, "attorneys/verify_failed.html", status=400)
    attorney_activate(user=user)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Your e-mail is confirmed. Register the numbers you take calls on.")
    return redirect("attorneys:home")


# --- the attorney's numbers ------------------------------------------------------------------


@attorney_page
def home(request: HttpRequest) -> HttpResponse:
    attorney = _attorney(request)
    form = forms.NumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            exempt = services.exempt_number_register(
                attorney=attorney,
                number=form.cleaned_data["number"],
                label=form.cleaned_data["label"],
                facility=form.cleaned_data["facility"],
                actor=_user(request),
            )
        except DomainError as exc:
            form.add_error("number", exc.message)
        else:
            messages.success(request, f"{exempt.number} is registered and waits for verification.")
            return redirect("attorneys:home")
    numbers = _own_numbers(request).prefetch_related("evidence")
    return render(request, "attorneys/home.html", {"attorney": attorney, "numbers": numbers, "form": form})


@attorney_page
def number_detail(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=_user(request), action="exempt_number.view"
    )
    form = forms.EvidenceForm()
    if request.method == "POST":
        form = forms.EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > settings.EVIDENCE_MAX_BYTES:
                form.add_error(
                    "file", f"The file is larger than {settings.EVIDENCE_MAX_BYTES // (1024 * 1024)} MB."
                )
            else:
                try:
                    evidence_upload(
                        exempt_number=exempt, data=upload.read(), filename=upload.name, actor=_user(request)
                    )
                except DomainError as exc:
                    form.add_error("file", exc.message)
                else:
                    messages.success(request, "Evidence uploaded. A registry clerk will review it.")
                    return redirect("attorneys:number-detail", number_id=exempt.pk)
    events = AuditEvent.objects.filter(
        target_type="registry.exemptnumber", target_id=str(exempt.pk), action__in=list(HISTORY_LABELS)
    ).order_by("created_at", "pk")
    history = [(e.created_at, HISTORY_LABELS[e.action], (e.details or {}).get("reason", "")) for e in events]
    return render(
        request,
        "attorneys/number_detail.html",
        {"exempt": exempt, "history": history, "form": form, "evidence": exempt.evidence.all()},
    )


@attorney_page
@require_POST
def number_revoke(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=_user(request), action="exempt_number.revoke"
    )
    try:
        services.exempt_number_revoke(exempt_number_id=exempt.pk, actor=_user(request))
        messages.success(request, f"{exempt.number} is revoked: calls to it are recorded again.")
    except DomainError as exc:
        _fail(request, exc)
    return redirect("attorneys:number-detail", number_id=exempt.pk)


@attorney_page
@require_POST
def number_renew(request: HttpRequest, number_id: int) -> HttpResponse:
    exempt = get_in_scope_or_404(
        _own_numbers(request), number_id, actor=_user(request), action="exempt_number.renew"
    )
    try:
        renewed = services.exempt_number_renew(exempt_number_id=exempt.pk, actor=_user(request))
    except DomainError as exc:
        _fail(request, exc)
        return redirect("attorneys:number-detail", number_id=exempt.pk)
    messages.success(request, "Renewal requested. A registry clerk will confirm it.")
    return redirect("attorneys:number-detail", number_id=renewed.pk)


@attorney_page
def profile(request: HttpRequest) -> HttpResponse:
    attorney = _attorney(request)
    initial = {
        f: getattr(attorney, f)
        for f in ("full_name", "bar_state", "bar_number", "firm", "contact_email", "contact_phone")
    }
    form = forms.ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            attorney_update_profile(attorney=attorney, actor=_user(request), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Profile saved.")
            return redirect("attorneys:profile")
    return render(request, "attorneys/profile.html", {"form": form})


@attorney_page
def flag_call(request: HttpRequest) -> HttpResponse:
    attorney = _attorney(request)
    numbers = list(
        _own_numbers(request)
        .filter(status__in=[ExemptStatus.PENDING, ExemptStatus.VERIFIED])
        .values_list("number", flat=True)
    )
    form = forms.FlagForm(request.POST or None, numbers=numbers)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            flag = privilege_flag_submit(
                attorney=attorney,
                facility=data["facility"],
                booking_number=data["booking_number"],
                number=data["number"],
                call_date=data["call_date"],
                actor=_user(request),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"Flag received: {flag.matched_recordings} matching recording(s) are now inaccessible "
                "and wait for a privilege officer.",
            )
            return redirect("attorneys:flag")
    flags = attorney.flags.select_related("facility")[:50]
    return render(request, "attorneys/flag.html", {"form": form, "flags": flags})


# --- the registry desk: clerk queue ----------------------------------------------------------


@clerk_page
def clerk_queue(request: HttpRequest) -> HttpResponse:
    pending = list(
        ExemptNumber.objects.filter(status=ExemptStatus.PENDING)
        .select_related("attorney", "facility")
        .prefetch_related("evidence")
        .order_by("created_at")
    )
    rows = [(exempt, services.conflicting_holder(exempt)) for exempt in pending]
    renewals = ExemptNumber.objects.filter(
        status=ExemptStatus.VERIFIED, renewal_requested_at__isnull=False
    ).select_related("attorney")
    claims = (
        InmateClaim.objects.filter(status=ClaimStatus.PENDING)
        .select_related("facility", "inmate")
        .order_by("created_at")
    )
    return render(
        request,
        "attorneys/clerk_queue.html",
        {"rows": rows, "renewals": renewals, "claims": claims, "reason_form": forms.ReasonForm()},
    )


@clerk_page
@require_POST
def clerk_decide(request: HttpRequest, number_id: int, decision: str) -> HttpResponse:
    clerk = _user(request)
    exempt = get_in_scope_or_404(
        ExemptNumber.objects.all(), number_id, actor=clerk, action=f"exempt_number.{decision}"
    )
    try:
        if decision == "verify":
            exempt, quarantined = services.exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
            messages.success(
                request,
                f"{exempt.number} verified for {exempt.attorney.full_name}, effective now on "
                f"{'every facility' if exempt.facility_id is None else exempt.facility}. "
                f"{quarantined} existing recording(s) quarantined.",
            )
        elif decision == "reject":
            form = forms.ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to reject.")
                return redirect("attorneys:clerk-queue")
            services.exempt_number_reject(
                exempt_number_id=exempt.pk, clerk=clerk, reason=form.cleaned_data["reason"]
            )
            messages.success(request, f"{exempt.number} rejected; the attorney is notified.")
        elif decision == "renew":
            exempt = services.exempt_number_renewal_approve(exempt_number_id=exempt.pk, clerk=clerk)
            messages.success(request, f"{exempt.number} renewed.")
        else:
            raise NotFoundError()
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise
        _fail(request, exc)
    return redirect("attorneys:clerk-queue")


@clerk_page
@require_POST
def clerk_claim(request: HttpRequest, claim_id: int, decision: str) -> HttpResponse:
    clerk = _user(request)
    claim = get_in_scope_or_404(
        InmateClaim.objects.all(), claim_id, actor=clerk, action=f"inmate_claim.{decision}"
    )
    try:
        if decision == "verify":
            outcome = claim_verify(claim_id=claim.pk, clerk=clerk)
            messages.success(
                request,
                f"Claim on {claim.number} verified: {outcome.purged} recording(s) purged, "
                f"{outcome.quarantined} earlier recording(s) quarantined.",
            )
        elif decision == "reject":
            form = forms.ReasonForm(request.POST)
            if not form.is_valid():
                messages.error(request, "A reason is required to reject.")
                return redirect("attorneys:clerk-queue")
            outcome = claim_reject(claim_id=claim.pk, clerk=clerk, reason=form.cleaned_data["reason"])
            messages.success(
                request, f"Claim on {claim.number} rejected: {outcome.released} recording(s) released."
            )
        else:
            raise NotFoundError()
    except DomainError as exc:
        if isinstance(exc, NotFoundError):
            raise
        _fail(request, exc)
    return redirect("attorneys:clerk-queue")


@clerk_page
def clerk_evidence(request: HttpRequest, evidence_id: int) -> HttpResponse:
    evidence = get_in_scope_or_404(
        Evidence.objects.all(), evidence_id, actor=_user(request), action="evidence.view"
    )
    data = evidence_read(evidence=evidence, actor=_user(request))
    response = HttpResponse(data, content_type=evidence.content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="evidence-{evidence.pk}.{evidence.content_type.split("/")[1]}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- privilege review ------------------------------------------------------------------------


@officer_page
def review_list(request: HttpRequest) -> HttpResponse:
    recordings = list(review_queue(_user(request)).order_by("quarantined_at")[:200])
    open_decisions = {
        d.recording_id: d
        for d in ReviewDecision.objects.filter(
            recording__in=recordings, confirmed_by__isnull=True
        ).select_related("proposed_by")
    }
    rows = [(r, open_decisions.get(r.pk)) for r in recordings]
    return render(request, "attorneys/review_queue.html", {"rows": rows, "form": forms.ProposeForm()})


@officer_page
@require_POST
def review_propose_view(request: HttpRequest, recording_id: int) -> HttpResponse:
    officer = _user(request)
    recording = get_in_scope_or_404(
        review_queue(officer), recording_id, actor=officer, action="recording.review"
    )
    form = forms.ProposeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose release or purge and give a reason.")
        return redirect("attorneys:review-queue")
    try:
        review_propose(
            recording=recording,
            officer=officer,
            action=form.cleaned_data["action"],
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, "Proposed. A second privilege officer must confirm it.")
    except DomainError as exc:
        _fail(request, exc)
    return redirect("attorneys:review-queue")


@officer_page
@require_POST
def review_confirm_view(request: HttpRequest, decision_id: int) -> HttpResponse:
    officer = _user(request)
    visible = ReviewDecision.objects.filter(recording__in=review_queue(officer), confirmed_by__isnull=True)
    decision = get_in_scope_or_404(visible, decision_id, actor=officer, action="recording.review_confirm")
    try:
        review_confirm(decision_id=decision.pk, officer=officer)
        messages.success(request, f"Confirmed: recording {decision.recording_id} {decision.action}d.")
    except DomainError as exc:
        _fail(request, exc)
    return redirect("attorneys:review-queue")
