"""Who the inmate called, shown or hidden: the one masking rule for call records.

A call's number (and attorney) is hidden from everyone but registry clerks and privilege
officers (``unmasked``, from apps.common.visibility) when the call is privileged *or* its
recording is out of reach: quarantined for any reason (a pending inmate claim, an attorney's
flag, a verified number) or purged. A quarantine that showed the number would tell an
investigator which lawyer the inmate called while the claim or flag is still being decided.
Every API serializer, portal page, download and number search applies this module.
"""

from __future__ import annotations

from django.db.models import Q

from apps.calls.models import Call

# Recording states that hide the number. Spelled out here because calls sit below recordings
# (apps.recordings.models.RecordingState owns these values).
HIDING_RECORDING_STATES = ("quarantined", "purged")
# What call querysets that render numbers must select_related, so the rule costs no query.
MASKING_RELATED = ("recording", "exempt_number__attorney")


def number_hidden(call: Call) -> bool:
    """Is this call's number one that only clerks and privilege officers may see?"""
    if call.privileged:
        return True
    recording = getattr(call, "recording", None)  # reverse one-to-one; absent when not recorded
    return recording is not None and recording.state in HIDING_RECORDING_STATES


def hidden_calls_q() -> Q:
    """The same rule as a filter: a search by number must never match these for others."""
    return Q(privileged=True) | Q(recording__state__in=HIDING_RECORDING_STATES)


def shown_number(call: Call, *, unmasked: bool) -> str | None:
    return call.dialed_number if unmasked or not number_hidden(call) else None


def shown_attorney(call: Call, *, unmasked: bool) -> str | None:
    if unmasked and call.privileged and call.exempt_number_id and call.exempt_number is not None:
        return str(call.exempt_number.attorney)
    return None
