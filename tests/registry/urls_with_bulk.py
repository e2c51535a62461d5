"""The project's URLs plus the bulk-change API, until callplatform/urls.py includes it."""

from django.urls import include, path

from callplatform.urls import urlpatterns as project

urlpatterns = [path("api/v1/", include("apps.registry.bulk_urls")), *project]
