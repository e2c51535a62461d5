"""Privileged stations (issue 11, section 6): registering one changes two domains at once.

The station row is the facility's (apps.facilities.stations); the audio already stored from
the station is the recordings app's. An attorney booth was privileged before anyone registered
it, so, as when a number is verified (apps.actions.registry), every recording already stored
from it is held for the two-officer privilege review in the *same* transaction, under the
station's advisory lock, which the storage gate also takes for a call that names the station:
an upload racing the registration is either refused (the gate saw the station) or stored first
and then quarantined here (the registration saw the recording). Retiring needs no second domain:
it only lets future audio through; what was quarantined stays for the review.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from apps.audit.services import record_event
from apps.facilities.models import Facility, PrivilegedStation
from apps.facilities.stations import privileged_station_register, privileged_station_retire
from apps.recordings.quarantine import recordings_quarantine_for_station


def station_register(
    *, facility: Facility, station: str, label: str, actor: User
) -> tuple[PrivilegedStation, int]:
    """Register ``station`` in ``facility`` and quarantine its earlier recordings.

    Returns (station, number of recordings quarantined). Events: ``station.registered``, one
    ``recording.quarantined`` per recording, then ``station.quarantined`` with the count.
    """
    with transaction.atomic():
        registered = privileged_station_register(facility=facility, station=station, label=label, actor=actor)
        quarantined = recordings_quarantine_for_station(
            facility_id=facility.pk,
            station_id=registered.station_id,
            reason=f"station registered as privileged (station {registered.pk})",
            actor=actor,
        )
        if quarantined:
            record_event(
                action="station.quarantined",
                actor=actor,
                target=registered,
                facility_id=facility.pk,
                details={"station_id": registered.station_id, "quarantined": quarantined},
            )
    return registered, quarantined


def station_retire(*, station: PrivilegedStation, reason: str, actor: User) -> PrivilegedStation:
    """Retire a station (audited, with its reason): calls from it are recorded again."""
    return privileged_station_retire(station=station, reason=reason, actor=actor)
