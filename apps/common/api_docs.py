"""The API's documentation pages: the OpenAPI schema, Swagger UI and Redoc.

Everything they load is ours: the UIs come from drf-spectacular-sidecar through our static
files (SPECTACULAR_SETTINGS ``*_DIST = "SIDECAR"``), the templates drop the stock Redoc page's
web fonts, and Swagger UI's start-up script is a separate file (the split view), so the pages
run under our Content-Security-Policy with one relaxation: the UIs set inline styles.
Like the schema, the pages are for signed-in users only (README, "API").
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from apps.common.middleware import CONTENT_SECURITY_POLICY

# Both UIs style elements from script (Redoc through injected <style> elements) and Redoc's
# search runs in a worker built from a blob: URL. Scripts stay ours only.
DOCS_CONTENT_SECURITY_POLICY = (
    CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
    + "; worker-src 'self' blob:"
)


class SchemaView(SpectacularAPIView):
    """The schema itself is not an operation of the API (a client has nothing to generate)."""

    @extend_schema(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)


class SwaggerView(SpectacularSwaggerSplitView):
    # The page holds no data (the schema it fetches is checked as usual), so it opens from the
    # address bar too; the portal session is required by login_required below.
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    template_name = "api_docs/swagger_ui.html"
    url_name = "schema"


class RedocView(SpectacularRedocView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    template_name = "api_docs/redoc.html"
    url_name = "schema"


def _docs_page(view: Any) -> Any:
    @login_required
    def page(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

    return page


swagger_page = _docs_page(SwaggerView.as_view())
redoc_page = _docs_page(RedocView.as_view())
