"""The project's URL conf plus the two reference endpoints (bench.settings only)."""

from django.urls import path

from bench import views
from callplatform.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *project_urlpatterns,
    path("bench/constant/", views.constant, name="bench-constant"),
    path("bench/insert/", views.insert, name="bench-insert"),
]
