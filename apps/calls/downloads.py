"""Call-list downloads (CSV or JSON): the bulk path for call *records*, metered like paging.

Most of the 2015 breach was metadata, so a download is no side door: it is scoped like the
list, masks privileged calls like the list, charges every row to the user's ``call_rows``
quota in the same transaction that records the audit event, and holds at most
``CALL_DOWNLOAD_MAX_ROWS`` rows. A larger result is refused whole (never silently cut): the
user narrows the search instead.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from apps.calls.errors import TooManyCallRowsError
from apps.calls.masking import MASKING_RELATED, shown_attorney, shown_number
from apps.calls.models import Call
from apps.calls.prompts import PROMPT_RELATED, prompt_label
from apps.calls.reads import call_rows_served
from apps.common.csvsafe import SafeDictWriter

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
COLUMNS = [
    "id",
    "facility",
    "inmate",
    "switch_call_id",
    "dialed_number",
    "attorney",
    "started_at",
    "ended_at",
    "duration_seconds",
    "decision",
    "privileged",
    "prompt",
    "prompt_played",
]


@dataclass(frozen=True)
class CallDownload:
    filename: str
    content_type: str
    content: bytes
    rows: int


def call_download(
    *,
    user: User,
    calls: QuerySet[Call],
    file_format: str,
    filters: dict[str, Any],
    unmasked: bool,
) -> CallDownload:
    """Build a download of ``calls`` (already scoped and filtered for ``user``).

    Raises TooManyCallRowsError (400, nothing charged) or QuotaExceededError (429, audited).
    """
    limit = settings.CALL_DOWNLOAD_MAX_ROWS
    related = ("facility", "inmate", *MASKING_RELATED, *PROMPT_RELATED)
    ordered = calls.select_related(*related).order_by("-started_at", "-id")
    found = list(ordered[: limit + 1])  # one more than allowed tells "too many" without a COUNT
    if len(found) > limit:
        raise TooManyCallRowsError(limit=limit)
    # Nothing leaves before the rows are charged and the event is written, together.
    call_rows_served(user=user, action="calls.downloaded", calls=found, filters=filters, format=file_format)
    rows = [call_record(call, unmasked=unmasked) for call in found]
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return CallDownload(
        filename=f"calls-{stamp}.{file_format}",
        content_type=FORMATS[file_format],
        content=_render_csv(rows) if file_format == "csv" else _render_json(rows),
        rows=len(rows),
    )


def attachment_response(download: CallDownload) -> HttpResponse:
    response = HttpResponse(download.content, content_type=download.content_type)
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Cache-Control"] = "no-store"  # call records must not linger in shared caches
    return response


def call_record(call: Call, *, unmasked: bool) -> dict[str, Any]:
    """One call as a download row, masked by the rule of apps.calls.masking."""
    return {
        "id": call.pk,
        "facility": call.facility.code,
        "inmate": call.inmate.booking_number,
        "switch_call_id": call.switch_call_id,
        "dialed_number": shown_number(call, unmasked=unmasked),
        "attorney": shown_attorney(call, unmasked=unmasked),
        "started_at": _iso(call.started_at),
        "ended_at": _iso(call.ended_at),
        "duration_seconds": call.duration_seconds,
        "decision": call.decision,
        "privileged": call.privileged,
        "prompt": prompt_label(call.prompt),
        "prompt_played": prompt_label(call.prompt_played),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _render_json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"count": len(rows), "results": rows}, indent=1).encode()


def _render_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
