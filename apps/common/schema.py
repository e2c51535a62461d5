"""OpenAPI schema generation (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names a serializer nested in a view after both (``CallSetupView.Input`` becomes
    ``CallSetupViewInput``): every view's ``Input`` would otherwise be one schema component,
    and a switch vendor generating a client from /api/schema/ would get the wrong fields."""

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        return type(serializer).__qualname__.replace(".", "")


class SameOriginSessionScheme(SessionScheme):
    """The portal's session cookie (accepted only from the portal's own pages)."""

    target_class = "apps.common.auth.SameOriginSessionAuthentication"
