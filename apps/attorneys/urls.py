from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from apps.attorneys import views

app_name = "attorneys"


urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="attorneys:login"), name="logout"),
    path("signup/", views.signup, name="signup"),
    path("verify/<str:uidb64>/<str:token>/", views.verify_email, name="verify-email"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="attorneys/password_reset.html",
            email_template_name="attorneys/password_reset_email.txt",
            subject_template_name="attorneys/password_reset_subject.txt",
            success_url=reverse_lazy("attorneys:password-reset-done"),
        ),
        name="password-reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="attorneys/password_reset_done.html"),
        name="password-reset-done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="attorneys/password_reset_confirm.html",
            success_url=reverse_lazy("attorneys:login"),
        ),
        name="password-reset-confirm",
    ),
    path("", views.home, name="home"),
    path("numbers/<int:number_id>/", views.number_detail, name="number-detail"),
    path("numbers/<int:number_id>/revoke/", views.number_revoke, name="number-revoke"),
    path("numbers/<int:number_id>/renew/", views.number_renew, name="number-renew"),
    path("profile/", views.profile, name="profile"),
    path("flag/", views.flag_call, name="flag"),
    path("clerk/", views.clerk_queue, name="clerk-queue"),
    path("clerk/numbers/<int:number_id>/<str:decision>/", views.clerk_decide, name="clerk-decide"),
    path("clerk/claims/<int:claim_id>/<str:decision>/", views.clerk_claim, name="clerk-claim"),
    path("clerk/evidence/<int:evidence_id>/", views.clerk_evidence, name="clerk-evidence"),
    path("review/", views.review_list, name="review-queue"),
    path("review/<int:recording_id>/propose/", views.review_propose_view, name="review-propose"),
    path("review/decisions/<int:decision_id>/confirm/", views.review_confirm_view, name="review-confirm"),
    path("review/flags/<int:flag_id>/<str:decision>/", views.review_flag_decide, name="review-flag"),
]
