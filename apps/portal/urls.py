from django.contrib.auth import views as auth_views
from django.urls import path

from apps.portal import compliance, exports, password_reset, views

app_name = "portal"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("password-reset/", password_reset.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent/", password_reset.reset_sent, name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        password_reset.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("", views.dashboard, name="dashboard"),
    path("inmates/", views.inmate_list, name="inmate-list"),
    path("inmates/<int:inmate_id>/", views.inmate_detail, name="inmate-detail"),
    path("calls/", views.call_list, name="call-list"),
    path("calls/download/", views.call_download, name="call-download"),
    path("recordings/<int:recording_id>/", views.recording_detail, name="recording-detail"),
    path("recordings/<int:recording_id>/play/", views.recording_play, name="recording-play"),
    path("grants/", views.grant_list, name="grant-list"),
    path("grants/new/", views.grant_create, name="grant-create"),
    path("grants/<int:grant_id>/revoke/", views.grant_revoke, name="grant-revoke"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/remove/", views.staff_remove, name="staff-remove"),
    path("exports/", exports.export_list, name="export-list"),
    path("exports/<int:export_id>/approve/", exports.export_approve, name="export-approve"),
    path("compliance/", compliance.compliance, name="compliance"),
    path("compliance/exports/", compliance.compliance_export, name="compliance-export"),
]
