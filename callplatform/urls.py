from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from apps.common.api_docs import SchemaView, redoc_page, swagger_page


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
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", swagger_page, name="api-docs"),
    path("api/redoc/", redoc_page, name="api-redoc"),
    path("healthz", healthz, name="healthz"),
]
