from django.urls import path

from apps.facilities import api

urlpatterns = [
    path("stations/", api.StationListView.as_view(), name="station-list"),
    path("stations/<int:station_id>/retire/", api.StationRetireView.as_view(), name="station-retire"),
]
