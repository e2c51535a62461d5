"""Serving call records (I3, I4): the one step every list, detail, table and download takes.

Most of the 2015 breach was metadata, so no path that returns call records is free: each page
of rows is charged to the reader's ``call_rows`` quota (one unit per call record) and recorded
as one audit event, in the same transaction, before any row leaves. The event names the ids
it served, so anomaly analysis sees a canary among them (``apps.access.anomaly``) exactly as it
sees a canary opened on its own; and a refusal (429) is audited by ``metered``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import models

from apps.access.models import QuotaKind
from apps.access.quotas import metered
from apps.audit.references import masked_search_filters
from apps.audit.services import record_event
from apps.calls.models import Call

# Detail keys holding the ids of what a read served; anomaly analysis reads them back.
# (Grants name their inmate under ``inmate_ids``: a grant on a canary inmate is a canary hit.)
SERVED_KEYS = {
    "call_ids": "calls.call",
    "recording_ids": "recordings.recording",
    "inmate_ids": "inmates.inmate",
}


def call_rows_served(
    *,
    user: User,
    action: str,
    calls: Iterable[Call],
    recording_ids: Iterable[int] = (),
    target: models.Model | None = None,
    facility_id: int | None = None,
    filters: Mapping[str, Any] | None = None,
    **details: Any,
) -> None:
    """Charge one ``call_rows`` unit per call in ``calls`` and write the read's audit event,
    atomically; raise QuotaExceededError (nothing charged, refusal audited) when over quota.

    An empty page is audited too (it shows what was searched for) and costs nothing.
    """
    call_ids = [call.pk for call in calls]
    served: dict[str, Any] = {"rows": len(call_ids), "call_ids": call_ids}
    recordings = list(recording_ids)
    if recordings:
        served["recording_ids"] = recordings
    if filters is not None:
        # The trail never holds a searched number (or an inmate searched with it) in clear.
        served["filters"] = masked_search_filters(dict(filters))
    charges = [(QuotaKind.CALL_ROWS, len(call_ids))]
    with metered(user=user, charges=charges, facility_id=facility_id, target=target):
        record_event(
            action=action,
            actor=user,
            target=target,
            facility_id=facility_id,
            details={**details, **served},
        )


def call_detail_served(*, user: User, action: str, call: Call, recording: models.Model | None = None) -> None:
    """One record opened on its own (a call, or the recording of ``call``): one row charged,
    the record as the event's target (so a canary opened this way is seen as such)."""
    call_rows_served(
        user=user,
        action=action,
        calls=[call],
        recording_ids=[recording.pk] if recording is not None else [],
        target=recording if recording is not None else call,
        facility_id=call.facility_id,
    )
