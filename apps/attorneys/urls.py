from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

from apps.attorneys.views import accounts, attorney, clerk, exposure, identity, officer, registry_search

app_name = "attorneys"


urlpatterns = [
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="attorneys:login"), name="logout"),
    path("signup/", accounts.signup, name="signup"),
    path("verify/<str:uidb64>/<str:token>/", accounts.verify_email, name="verify-email"),
    path("password-reset/", accounts.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        TemplateView.as_view(template_name="attorneys/password_reset_done.html"),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("", attorney.home, name="home"),
    path("numbers/<int:number_id>/", attorney.number_detail, name="number-detail"),
    path("numbers/<int:number_id>/revoke/", attorney.number_revoke, name="number-revoke"),
    path("numbers/<int:number_id>/renew/", attorney.number_renew, name="number-renew"),
    path("profile/", accounts.profile, name="profile"),
    path("profile/email/<str:uidb64>/<str:token>/", accounts.email_confirm, name="email-confirm"),
    path("flag/", attorney.flag_call, name="flag"),
    path("clerk/", clerk.clerk_queue, name="clerk-queue"),
    path("clerk/numbers/<int:number_id>/<str:decision>/", clerk.clerk_decide, name="clerk-decide"),
    path("clerk/claims/<int:claim_id>/<str:decision>/", clerk.clerk_claim, name="clerk-claim"),
    path("clerk/disputes/<int:dispute_id>/<str:award_to>/", identity.clerk_dispute, name="clerk-dispute"),
    path("clerk/identity/<int:change_id>/<str:decision>/", identity.clerk_identity, name="clerk-identity"),
    path("clerk/registrations/", registry_search.registry_search, name="clerk-search"),
    path(
        "clerk/registrations/<int:number_id>/history/", registry_search.registry_history, name="clerk-history"
    ),
    path("clerk/evidence/<int:evidence_id>/", clerk.clerk_evidence, name="clerk-evidence"),
    path(
        "clerk/alarms/<int:alarm_id>/acknowledge/",
        clerk.clerk_alarm_acknowledge,
        name="clerk-alarm-acknowledge",
    ),
    path("review/", officer.review_list, name="review-queue"),
    path("review/<int:recording_id>/propose/", officer.review_propose_view, name="review-propose"),
    path("review/decisions/<int:decision_id>/confirm/", officer.review_confirm_view, name="review-confirm"),
    path("review/exposure/", exposure.exposure_list, name="exposure-list"),
    path("review/exposure/<int:report_id>/", exposure.exposure_detail, name="exposure-detail"),
    path("review/flags/<int:flag_id>/<str:decision>/", officer.review_flag_decide, name="review-flag"),
]
