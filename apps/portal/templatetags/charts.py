"""Server-rendered SVG charts: no JavaScript, nothing fetched from elsewhere (the CSP stays
strict). A bar per day; each bar's <title> names its day and count (hover, screen readers)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.portal.trends import Series

register = template.Library()

WIDTH, HEIGHT, TOP = 300, 64, 4  # viewBox units; the SVG scales to its tile's width


@register.inclusion_tag("portal/_trend_chart.html")
def trend_chart(series: Series) -> dict[str, Any]:
    peak = max((n for _, n in series.days), default=0)
    step = WIDTH / max(len(series.days), 1)
    bars = []
    for i, (day, n) in enumerate(series.days):
        height = round((HEIGHT - TOP) * n / peak, 1) if peak else 0
        # A day with any count keeps a visible sliver, so "one" never looks like "none".
        height = max(height, 2) if n else 0
        bars.append(
            {
                "x": round(i * step + step * 0.1, 2),
                "y": round(HEIGHT - height, 1),
                "width": round(step * 0.8, 2),
                "height": height,
                "day": day,
                "n": n,
            }
        )
    return {"series": series, "bars": bars, "peak": peak, "width": WIDTH, "height": HEIGHT}
