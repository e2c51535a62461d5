from django.urls import path

from apps.calls import api, setup_endpoint

urlpatterns = [
    path("calls/", setup_endpoint.lean_first(api.CallSetupView), name="call-setup"),
    path("calls/download/", api.CallDownloadView.as_view(), name="call-download"),
    path("calls/<int:call_id>/", api.CallDetailView.as_view(), name="call-detail"),
    path("calls/<int:call_id>/end/", api.CallEndView.as_view(), name="call-end"),
]
