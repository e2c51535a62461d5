"""A call as a portal template shows it: masked by the one rule of apps.calls.masking."""

from __future__ import annotations

from dataclasses import dataclass

from apps.calls.masking import shown_attorney, shown_number
from apps.calls.models import Call
from apps.recordings.models import Recording


@dataclass(frozen=True)
class CallRow:
    call: Call
    number: str | None
    attorney: str | None
    recording: Recording | None


def call_row(call: Call, *, unmasked: bool) -> CallRow:
    """Templates get only the masked values, never the Call's raw number."""
    return CallRow(
        call=call,
        number=shown_number(call, unmasked=unmasked),
        attorney=shown_attorney(call, unmasked=unmasked),
        recording=getattr(call, "recording", None),
    )
