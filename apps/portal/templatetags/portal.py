from __future__ import annotations

from typing import Any

from django import template

from apps.portal.nav import Capabilities, request_capabilities

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_capabilities(context: dict[str, Any]) -> Capabilities:
    request = context.get("request")
    return request_capabilities(request) if request is not None else Capabilities()
