"""The report's two files: a PDF for people (reportlab: title page, figures table, two charts)
and a CSV of the same rows for spreadsheets. Both print ``figure_rows``: they cannot differ.

The PDF is built with reportlab's ``invariant`` mode (no creation time, fixed document id), so
the same figures give the same bytes; the manifest signs the SHA-256 of what was written
anyway. Text from the database (facility name, call reasons) is escaped before it reaches
reportlab's paragraph markup.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.common.csvsafe import SafeWriter
from apps.compliance.figures import figure_rows

CSV_HEADER = ("section", "item", "value")


def render_csv(figures: dict[str, Any]) -> bytes:
    out = io.StringIO(newline="")
    writer = SafeWriter(out)
    writer.writerow(CSV_HEADER)
    for row in figure_rows(figures):
        writer.writerow(row)
    return out.getvalue().encode()


def render_pdf(figures: dict[str, Any], *, generated_at: str, key_id: str) -> bytes:
    styles = getSampleStyleSheet()
    facility, period = figures["facility"], figures["period"]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Compliance report {facility['code']} {period['from']} to {period['to']}",
        author="callplatform",
        invariant=True,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
    )
    story: list[Any] = [
        Spacer(1, 5 * cm),
        Paragraph("Privilege compliance report", styles["Title"]),
        Paragraph(escape(facility["name"]), styles["Heading1"]),
        Paragraph(
            f"Facility code {escape(facility['code'])} ({escape(facility['timezone'])})", styles["Normal"]
        ),
        Spacer(1, 0.6 * cm),
        Paragraph(f"Period: {period['from']} to {period['to']} (inclusive)", styles["Heading2"]),
        Paragraph(f"Generated at {escape(generated_at)}", styles["Normal"]),
        Paragraph(
            f"Signed with audit key {escape(key_id)} (see manifest.json and manifest.json.sig)",
            styles["Normal"],
        ),
        Spacer(1, 1 * cm),
        Paragraph(
            "Synthetic assurance calls are excluded from every figure. Times are read in the facility's "
            "timezone. Verify offline with: manage.py verify_compliance_report &lt;bundle&gt;.",
            styles["Italic"],
        ),
        PageBreak(),
        Paragraph("Figures", styles["Heading1"]),
        _figures_table(figures),
        PageBreak(),
        Paragraph("Per month", styles["Heading1"]),
        _monthly_chart(figures["monthly"]),
        Spacer(1, 1 * cm),
        Paragraph("Registered numbers in force at the end of the period", styles["Heading2"]),
        _registered_chart(figures["registered_numbers"]["in_force_at_end"]),
    ]
    document.build(story)
    return out.getvalue()


def _figures_table(figures: dict[str, Any]) -> Table:
    header = ["Section", "Item", "Value"]
    rows = [[escape(section), escape(item), value] for section, item, value in figure_rows(figures)]
    table = Table([header, *rows], colWidths=[6.5 * cm, 8 * cm, 2.5 * cm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f5f7f9")]),
            ]
        )
    )
    return table


def _monthly_chart(monthly: dict[str, Any]) -> Drawing:
    """Bars per month: calls exempted at setup and refusals at the gate."""
    drawing = Drawing(17 * cm, 9 * cm)
    chart = VerticalBarChart()
    chart.x, chart.y = 1.5 * cm, 1.5 * cm
    chart.width, chart.height = 14 * cm, 6 * cm
    chart.data = [monthly["exempted_calls"] or [0], monthly["gate_refusals"] or [0]]
    chart.categoryAxis.categoryNames = monthly["months"] or ["-"]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    top = max([1, *monthly["exempted_calls"], *monthly["gate_refusals"]])
    chart.valueAxis.valueMax = top + max(1, top // 10)
    chart.bars[0].fillColor = colors.HexColor("#2b6cb0")
    chart.bars[1].fillColor = colors.HexColor("#c05621")
    legend = Legend()
    legend.x, legend.y = 2 * cm, 8.6 * cm
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [
        (chart.bars[0].fillColor, "calls exempted at setup"),
        (chart.bars[1].fillColor, "refusals at the gate"),
    ]
    drawing.add(chart)
    drawing.add(legend)
    drawing.add(String(1.5 * cm, 0.3 * cm, "months in the facility's timezone", fontSize=7))
    return drawing


def _registered_chart(in_force: dict[str, Any]) -> Drawing:
    """Bars per category: global registrations and this facility's own."""
    categories = sorted(set(in_force["global"]) | set(in_force["facility"])) or ["-"]
    drawing = Drawing(17 * cm, 2 * cm + 1.2 * cm * len(categories))
    chart = HorizontalBarChart()
    chart.x, chart.y = 4 * cm, 1 * cm
    chart.width, chart.height = 11 * cm, 1.2 * cm * len(categories)
    chart.data = [
        [in_force["global"].get(c, 0) for c in categories],
        [in_force["facility"].get(c, 0) for c in categories],
    ]
    chart.categoryAxis.categoryNames = categories
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colors.HexColor("#2b6cb0")
    chart.bars[1].fillColor = colors.HexColor("#38a169")
    legend = Legend()
    legend.x, legend.y = 4 * cm, drawing.height - 0.3 * cm
    legend.fontSize = 8
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.colorNamePairs = [
        (chart.bars[0].fillColor, "global (every facility)"),
        (chart.bars[1].fillColor, "this facility only"),
    ]
    drawing.add(chart)
    drawing.add(legend)
    return drawing
