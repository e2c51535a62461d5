"""Red team (2026-11-27): importing a vendor's call history must never store a call that was
privileged when it took place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from apps.history.models import ImportedCall, RecordingFate
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from tests.actors import Cast
from tests.factories import InmateFactory
from tests.history.test_import_history import _call, _file, _row, _run, _verified

pytestmark = pytest.mark.django_db

LAPSED = "+12125550177"


@pytest.mark.parametrize("status", [ExemptStatus.EXPIRED, ExemptStatus.VERIFIED])
def test_a_call_to_a_number_registered_at_the_time_is_privileged_even_if_the_registration_lapsed(
    cast: Cast, attorney: Attorney, clerk: User, tmp_path: Path, status: str
) -> None:
    """ATTACK (high, I1): the history import decided privilege as of *now* only. An attorney's
    registration in force in 2024 that has since expired (or whose window simply ended) left
    the 2024 calls to the attorney "not_exempt": the vendor's recordings of those attorney-client
    calls were queued to be copied and stored. A call covered by a registration at the time it
    was placed is privileged, as the live switch decided it then."""
    exempt = _verified(attorney, clerk, LAPSED)
    ExemptNumber.objects.filter(pk=exempt.pk).update(
        status=status,
        effective_from=datetime(2024, 1, 1, tzinfo=UTC),
        effective_until=datetime(2024, 12, 31, tzinfo=UTC),
        reminder_sent_at=datetime(2024, 12, 1, tzinfo=UTC),  # the lapse was announced: no grace
    )
    InmateFactory(facility=cast.facility, booking_number="B-1")
    path = _file(
        tmp_path,
        [
            _row("old", "(212) 555-0177"),
            _row("after", "(212) 555-0177", started_at="2025-02-01T10:00:00-05:00"),
        ],
    )
    _run(cast, path)
    assert _call("old", cast.facility).privileged
    assert _call("old", cast.facility).reason == "verified_attorney_number"
    fates = dict(ImportedCall.objects.values_list("call__switch_call_id", "recording_fate"))
    assert fates["hist-old"] == RecordingFate.NOT_COPIED
    # After the window: an ordinary call again.
    assert not _call("after", cast.facility).privileged and fates["hist-after"] == RecordingFate.TO_COPY
