"""How much of a recording has been heard, estimated from the byte ranges its stream served.

Every stream request writes ``recording.streamed`` with the range it served (``[first, last]``,
inclusive, or None for the whole file) in the same transaction that lets it in
(apps.recordings.playback). Those events are the only record of what left as audio, so the
estimate is read from them, never from the player (which could be anything).

It is an upper bound: a range is recorded when the request is let in, and a player that asks
for ``bytes=0-`` and is then paused or cut off has not received the whole range. For privilege
exposure, over-counting is the safe side. Seconds are the distinct bytes divided by the
recording's bytes per second (size / the call's duration): exact for constant-bitrate audio,
approximate otherwise (a header counts as audio).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from apps.audit.models import AuditEvent, Outcome
from apps.recordings.models import Recording

STREAMED = "recording.streamed"


@dataclass(frozen=True)
class Heard:
    """What the stream served: every byte (re-fetches counted again), the distinct bytes, the
    seconds those stand for (None without a duration), and per listener (user id) the same."""

    bytes_served: int = 0
    bytes_heard: int = 0
    seconds_heard: float | None = None
    listeners: dict[int, Heard] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "bytes_served": self.bytes_served,
            "bytes_heard": self.bytes_heard,
            "seconds_heard": self.seconds_heard,
            "listeners": len(self.listeners),
        }


@dataclass(frozen=True)
class Served:
    """One stream request let in: who, when, and the inclusive byte range it served."""

    user_id: int
    at: datetime
    first: int
    last: int


def served_requests(recording: Recording) -> list[Served]:
    """Every range the stream served, in order, from the audit trail (the one reading of
    ``recording.streamed``: the stop button's estimate and the exposure report both use it)."""
    events = (
        AuditEvent.objects.filter(
            action=STREAMED,
            outcome=Outcome.SUCCESS,
            target_type=Recording._meta.label_lower,
            target_id=str(recording.pk),
        )
        .order_by("created_at", "id")
        .values_list("actor_id", "created_at", "details")
    )
    last_byte = recording.size_bytes - 1
    served: list[Served] = []
    for actor_id, at, details in events:
        wanted = (details or {}).get("range")
        first, last = (0, last_byte) if not wanted else (int(wanted[0]), min(int(wanted[1]), last_byte))
        if actor_id is not None and 0 <= first <= last:
            served.append(Served(actor_id, at, first, last))
    return served


def served_ranges(
    recording: Recording, served: list[Served] | None = None
) -> dict[int, list[tuple[int, int]]]:
    """The inclusive byte ranges served per listener (user id), from the audit trail (or from
    ``served``, when the caller has read it already)."""
    ranges: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for request in served_requests(recording) if served is None else served:
        ranges[request.user_id].append((request.first, request.last))
    return dict(ranges)


def heard_estimate(
    recording: Recording, duration_seconds: int | None, served: list[Served] | None = None
) -> Heard:
    """How much of ``recording`` the stream has served, in total and per listener."""
    per_user = served_ranges(recording, served)
    listeners = {
        user_id: _heard(ranges, recording.size_bytes, duration_seconds)
        for user_id, ranges in per_user.items()
    }
    everything = [r for ranges in per_user.values() for r in ranges]
    total = _heard(everything, recording.size_bytes, duration_seconds)
    return Heard(total.bytes_served, total.bytes_heard, total.seconds_heard, listeners)


def _heard(ranges: list[tuple[int, int]], size: int, duration_seconds: int | None) -> Heard:
    served = sum(last - first + 1 for first, last in ranges)
    distinct = _union_length(ranges)
    seconds = None
    if duration_seconds is not None and size > 0:
        seconds = round(distinct * duration_seconds / size, 1)
    return Heard(served, distinct, seconds)


def _union_length(ranges: list[tuple[int, int]]) -> int:
    """Bytes covered by at least one inclusive range (overlaps and re-fetches counted once)."""
    covered, end = 0, -1
    for first, last in sorted(ranges):
        if last <= end:
            continue
        covered += last - max(first, end + 1) + 1
        end = last
    return covered


def ranges_heard(ranges: list[tuple[int, int]], size: int, duration_seconds: int | None) -> Heard:
    """The same estimate for any set of ranges (one playback's requests, say)."""
    return _heard(ranges, size, duration_seconds)


def recording_duration(recording: Recording) -> int | None:
    """The call's length in seconds (what turns bytes into seconds), if known."""
    call = recording.call
    if call.duration_seconds is not None:
        return call.duration_seconds
    if call.ended_at is not None:
        return int((call.ended_at - call.started_at).total_seconds())
    return None
