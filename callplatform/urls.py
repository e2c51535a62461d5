from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


api_v1 = [
    path("", include("apps.calls.urls")),
    path("", include("apps.registry.urls")),
    path("", include("apps.recordings.urls")),
    path("", include("apps.inmates.urls")),
    path("", include("apps.facilities.urls")),
    path("", include("apps.access.urls")),
    path("audit/", include("apps.audit.urls")),
    path("compliance/", include("apps.compliance.urls")),
]

urlpatterns = [
    path("", include("apps.portal.urls")),
    path("attorney/", include("apps.attorneys.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("healthz", healthz, name="healthz"),
]
