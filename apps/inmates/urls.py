from django.urls import path

from apps.inmates import api

urlpatterns = [
    path("inmates/", api.InmateListView.as_view(), name="inmate-list"),
    path("inmates/<int:inmate_id>/", api.InmateDetailView.as_view(), name="inmate-detail"),
    path("grants/", api.GrantListView.as_view(), name="grant-list"),
    path("grants/<int:grant_id>/", api.GrantDetailView.as_view(), name="grant-detail"),
]
