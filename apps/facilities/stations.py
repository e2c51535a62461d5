"""Privileged stations (issue 11, section 6): the facility's own half of registering and
retiring them. The cross-domain act (registering also quarantines audio already stored from the
station) is apps.actions.stations, which every caller uses instead of these alone.

How a station is written. The switch and the admin may name a station by its phone number or
by an opaque station id, so both are normalised here, once, by one rule:
* phone-shaped input (digits and phone punctuation only, at least 7 digits, perhaps followed by
  an extension) that is a possible number in the facility's region becomes E.164 ("(212)
  555-0101", "+1 212 555 0101" and "2125550101x5" are one station: a registered line covers
  all its extensions, as a registered number does). Vanity letters are *not* read as digits
  here: "BOOTH" is a station id, not a number;
* anything else matching ``[A-Za-z0-9._:-]{1,64}`` is an opaque id, stored upper-cased
  ("booth-1" and "BOOTH-1" are one station);
* anything else is a 400 with a reason.
The database checks the stored form (STATION_ID_FORMAT).
"""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.audit.references import protect_number
from apps.audit.services import record_event
from apps.common.errors import ConflictError, DomainError, InvalidPhoneNumberError, NotFoundError
from apps.common.locks import advisory_xact_lock
from apps.common.phone import normalize_phone_number
from apps.common.querysets import Action
from apps.facilities.models import Facility, PrivilegedStation

LOCK_NAMESPACE = "privileged-station"
MAX_LABEL_LENGTH = 100
MAX_REASON_LENGTH = 500
# An extension after the line ("x5", "ext. 5", "#5", ";ext=5") is dropped, as for numbers
# (apps.common.phone): the registration covers the whole line; over-exempting is the safe side.
_PHONE_SHAPED = re.compile(
    r"^\+?[0-9()\-. ]{7,40}(\s*(x|ext\.?|extension|#|;ext=)\s*[0-9]{1,8})?$", re.IGNORECASE
)
_OPAQUE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class InvalidStationError(DomainError):
    reason = "invalid_station"
    default_message = (
        "A station is a phone number or a station id of 1 to 64 letters, digits, '.', '_', ':' or '-'."
    )


class StationChangeError(DomainError):
    reason = "invalid_station_change"
    default_message = "The station change is invalid."


class StationAlreadyRegisteredError(ConflictError):
    reason = "station_already_registered"
    default_message = "This station is already registered as privileged in this facility."


class StationRetiredError(ConflictError):
    reason = "station_retired"
    default_message = "This station registration is already retired."


def normalize_station(raw: str, region: str = "US") -> str:
    """The stored form of a station (see the module docstring), or InvalidStationError."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise InvalidStationError("A station is required.")
    if _PHONE_SHAPED.match(text) and sum(ch.isdigit() for ch in text) >= 7:
        try:
            return normalize_phone_number(text, region)
        except InvalidPhoneNumberError:
            pass  # not a possible number: it may still be a plain station id ("1234-56")
    if _OPAQUE_ID.match(text):
        return text.upper()
    raise InvalidStationError()


def lock_station(facility_id: int, station_id: str) -> None:
    """Serialise registering/retiring a station with every recording write of its calls.

    The storage gate takes this lock (after the number's) for a call that names a station, so a
    registration racing an upload either lands first (the gate refuses) or after (the
    registration sees the new recording and quarantines it).
    """
    advisory_xact_lock(LOCK_NAMESPACE, f"{facility_id}:{station_id}")


def station_is_live(facility_id: int, station_id: str) -> bool:
    """Is ``station_id`` (already normalised) a live privileged station of the facility?"""
    if not station_id:
        return False
    return PrivilegedStation.objects.filter(
        facility_id=facility_id, station_id=station_id, retired_at__isnull=True
    ).exists()


def _check_manager(*, actor: User, facility_id: int) -> None:
    if not Facility.objects.restrict(actor, Action.MANAGE).filter(pk=facility_id).exists():
        raise NotFoundError()


@transaction.atomic
def privileged_station_register(
    *, facility: Facility, station: str, label: str, actor: User
) -> PrivilegedStation:
    """Register ``station`` (any accepted form) as privileged in ``facility``, under its lock.

    Only a user who manages the facility may (anyone else: the same 404 as a missing one).
    Registering a station that is already live is a 409, never a second row.
    """
    _check_manager(actor=actor, facility_id=facility.pk)
    station_id = normalize_station(station, facility.phone_region)
    label = label.strip() if isinstance(label, str) else ""
    if not label or len(label) > MAX_LABEL_LENGTH:
        raise StationChangeError(f"A label of 1 to {MAX_LABEL_LENGTH} characters is required.")
    lock_station(facility.pk, station_id)
    if station_is_live(facility.pk, station_id):
        raise StationAlreadyRegisteredError(station_id=station_id)
    registered = PrivilegedStation.objects.create(
        facility=facility,
        station_id=station_id,
        label=label,
        registered_by=actor,
        registered_at=timezone.now(),
    )
    record_event(
        action="station.registered",
        actor=actor,
        target=registered,
        facility_id=facility.pk,
        # The trail never holds a phone number in clear (apps.audit.references): a number is
        # named by its reference, and how the admin typed it is kept only for an opaque id.
        details={
            "station_id": protect_number(station_id) if station_id.startswith("+") else station_id,
            "label": label,
            **({} if station_id.startswith("+") else {"given_as": station.strip()[:64]}),
        },
    )
    return registered


@transaction.atomic
def privileged_station_retire(*, station: PrivilegedStation, reason: str, actor: User) -> PrivilegedStation:
    """Retire a live station (with a written reason): its calls are decided on the number and the
    inmate again from now on. The row is kept as the history."""
    _check_manager(actor=actor, facility_id=station.facility_id)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise StationChangeError(f"A reason of 1 to {MAX_REASON_LENGTH} characters is required.")
    lock_station(station.facility_id, station.station_id)
    station = PrivilegedStation.objects.select_for_update().get(pk=station.pk)
    if station.retired_at is not None:
        raise StationRetiredError()
    station.retired_at = timezone.now()
    station.retired_by = actor
    station.retire_reason = reason
    station.save(update_fields=["retired_at", "retired_by", "retire_reason"])
    record_event(
        action="station.retired",
        actor=actor,
        target=station,
        facility_id=station.facility_id,
        details={"station_id": station.station_id, "reason": reason},
    )
    return station
