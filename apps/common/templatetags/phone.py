"""Phone numbers in templates, formatted for a region (the facility's, or DEFAULT_PHONE_REGION);
stored and compared numbers stay E.164 (apps.common.phone).

``{{ number|phone:region }}`` shows ``(212) 555-0101`` with the E.164 form as its tooltip (the
form a clerk compares and searches by); ``{{ number|phone_text }}`` is the plain text, for
titles and attributes."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import format_html

from apps.common.phone import display_phone_number

register = template.Library()


@register.filter
def phone_text(number: object, region: str | None = None) -> object:
    if not isinstance(number, str) or not number:
        return number
    return display_phone_number(number, region or settings.DEFAULT_PHONE_REGION)


@register.filter
def phone(number: object, region: str | None = None) -> object:
    shown = phone_text(number, region)
    if not isinstance(number, str) or shown == number:
        return number
    return format_html('<span class="phone" title="{}">{}</span>', number, shown)
