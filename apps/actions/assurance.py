"""The nightly assurance run: prove, number by number, that the do-not-record list works
(issue 11, section 3).

For every verified registration the run sends a **synthetic call setup through the real
decision path** (``apps.calls.services.call_setup``, the very function the switch API calls)
and then a **synthetic upload through the real storage gate**
(``apps.recordings.services.recording_store``, the very function the upload API calls). A
number passes when setup says "exempt" and the gate refuses the audio as privileged; anything
else is a failure. It lives here, above the domains, because it composes registry, calls and
recordings.

- **Which facility.** A facility-scoped registration is checked in its own facility. A global
  registration is checked once, in ``ASSURANCE_GLOBAL_FACILITY`` (a facility code) or, by
  default, the first facility by code: the decision for a global registration does not depend
  on the facility (``e.facility_id IS NULL`` matches everywhere), so one facility proves it,
  and a fixed choice keeps night-to-night results comparable.
- **Which numbers.** The registry's rows with status "verified", minus those the registry itself
  says have lapsed (``registration_lapsed``: waiting for the expiry job). That is deliberately
  *not* the decision rule (``REGISTRATION_COVERS_SQL``): a row the clerks see as verified that the
  decision no longer covers (a window rewritten behind the services' back, a vendor upgrade) is
  exactly what the run must catch.
- **Synthetic identity.** Per facility a stand-in inmate (``SYNTHETIC_BOOKING_NUMBER``, in no
  one's scope) and a stand-in switch user (``assurance-switch-<code>``, inactive, unusable
  password: it can never log in or hold a token). The calls are created with ``synthetic=True``
  in the INSERT itself and every restricted queryset leaves them out.
- **No byte reaches storage.** The upload body is a sentinel that raises if read: the gate
  refuses a privileged call *before* reading the body, so a gate that reads it has failed, and
  the sentinel stops it before anything is spooled, let alone stored.
- **Audit.** The real path writes its own events per number (``call.setup``,
  ``recording.upload_refused``: those are the gate's and setup's, and must be written for synthetic
  calls too). The run adds ``assurance.run_started`` and ``assurance.run_finished`` per run and
  ``assurance.failure`` per failed number, at most ``ASSURANCE_FAILURE_EVENTS_MAX`` per run (a
  list broken wholesale must not flood the trail; the run row and the alarm carry the count).
- **Stations.** Every live privileged station (issue 11, section 6) gets a synthetic setup
  from it, dialing a fictional number (``STATION_CHECK_NUMBER``), and the same upload attempt:
  exempt and refused is the only pass. Failures count as the run's; the finish event says how
  many stations were checked (the run row counts numbers).
- **Alarm.** Any failure raises one ``assurance_failure`` ListAlarm per run
  (``apps.registry.alarms.assurance_alarm_raise``): banner, event and e-mail to compliance.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.audit.references import protect_number
from apps.audit.services import record_event
from apps.calls.models import Call
from apps.calls.services import call_setup
from apps.common.errors import DomainError
from apps.facilities.models import Facility, PrivilegedStation
from apps.inmates.models import SYNTHETIC_BOOKING_NUMBER, Inmate
from apps.recordings.errors import PrivilegedCallError
from apps.recordings.services import recording_store
from apps.registry.alarms import assurance_alarm_raise
from apps.registry.models import AssuranceRun, AssuranceStatus, ExemptNumber, ExemptStatus
from apps.registry.privilege import registration_lapsed

SYNTHETIC_CONTENT_TYPE = "audio/x-assurance-synthetic"
SYNTHETIC_DECLARED_BYTES = 1024
_ITERATOR_CHUNK = 2000


class SyntheticBodyRead(Exception):  # noqa: N818 - an event, not an error of the caller
    """The gate read the body of an upload it should have refused before reading."""


class _NoBytes:
    """An upload body that never yields a byte: reading it is the failure we test for."""

    def read(self, size: int = -1) -> bytes:
        raise SyntheticBodyRead()


@dataclass(frozen=True)
class _Target:
    registration_id: int
    number: str
    facility_id: int | None


@dataclass
class _Identity:
    facility: Facility
    inmate: Inmate
    switch_user: User


def assurance_run(
    *, trigger: str = "beat", actor: User | None = None, limit: int | None = None
) -> AssuranceRun:
    """Check every verified number now; return the finished run (alarm raised on failure).
    ``actor``: the person who started it by command (None for beat). ``limit`` is for the
    benchmark only (the first N registrations by id); the nightly run checks them all."""
    global_facility = assurance_global_facility()
    started = time.monotonic()
    with transaction.atomic():
        run = AssuranceRun.objects.create(
            started_at=timezone.now(), trigger=trigger, global_facility=global_facility
        )
        record_event(action="assurance.run_started", actor=actor, target=run, details={"trigger": trigger})
    identities: dict[int, _Identity] = {}
    failures: list[dict[str, Any]] = []
    for target in _targets(limit):
        facility_id = target.facility_id
        if facility_id is None:
            if global_facility is None:
                break  # no facility at all: nothing can call, so nothing can be recorded
            facility_id = global_facility.pk
            run.global_checked += 1
        else:
            run.scoped_checked += 1
        identity = identities.get(facility_id) or identities.setdefault(
            facility_id, synthetic_identity(Facility.objects.get(pk=facility_id))
        )
        run.numbers_checked += 1
        failure = _check(run, target, identity)
        if failure is None:
            run.uploads_refused += 1
        else:
            run.failures += 1
            if len(failures) < settings.ASSURANCE_FAILURE_DETAILS_MAX:
                failures.append(failure)
            if run.failures <= settings.ASSURANCE_FAILURE_EVENTS_MAX:
                record_event(
                    action="assurance.failure",
                    target_type=ExemptNumber._meta.label_lower,
                    target_id=target.registration_id,
                    facility_id=facility_id,
                    details={"assurance_run_id": run.pk, **failure},
                )
    stations = 0 if limit is not None else _check_stations(run, identities, failures)
    return _finish(run, failures, duration=time.monotonic() - started, actor=actor, stations=stations)


# A synthetic call from a station dials this number (fictional: 555-01xx is reserved for
# fiction), so that only the station can make it exempt.
STATION_CHECK_NUMBER = "+12025550100"


def _check_stations(
    run: AssuranceRun, identities: dict[int, _Identity], failures: list[dict[str, Any]]
) -> int:
    """Every live privileged station (issue 11, section 6) through the same path: a synthetic
    setup from the station must be exempt and the gate must refuse its audio. A failure counts
    as the run's failure (same alarm); the number of stations checked is in the finish event
    (the run row counts numbers only)."""
    checked = 0
    live = PrivilegedStation.objects.filter(retired_at__isnull=True).order_by("pk")
    for station in live.values_list("pk", "station_id", "facility_id").iterator(chunk_size=_ITERATOR_CHUNK):
        pk, station_id, facility_id = station
        identity = identities.get(facility_id) or identities.setdefault(
            facility_id, synthetic_identity(Facility.objects.get(pk=facility_id))
        )
        checked += 1
        failure = _check_station(run, pk, station_id, identity)
        if failure is None:
            continue
        run.failures += 1
        if len(failures) < settings.ASSURANCE_FAILURE_DETAILS_MAX:
            failures.append(failure)
        if run.failures <= settings.ASSURANCE_FAILURE_EVENTS_MAX:
            record_event(
                action="assurance.failure",
                target_type=PrivilegedStation._meta.label_lower,
                target_id=pk,
                facility_id=facility_id,
                details={"assurance_run_id": run.pk, **failure},
            )
    return checked


def _check_station(run: AssuranceRun, pk: int, station_id: str, identity: _Identity) -> dict[str, Any] | None:
    def failure(stage: str, reason: str) -> dict[str, Any]:
        # number_ref None: the alarm lists number references, and a station has none.
        return {
            "station_registration_id": pk,
            "number_ref": None,
            "facility_id": identity.facility.pk,
            "stage": stage,
            "reason": reason,
        }

    try:
        call, _ = call_setup(
            facility=identity.facility,
            switch_call_id=f"assurance-{run.pk}-station-{pk}",
            booking_number=identity.inmate.booking_number,
            dialed_number=STATION_CHECK_NUMBER,
            started_at=timezone.now(),
            actor=identity.switch_user,
            synthetic=True,
            station=station_id,
        )
    except DomainError as error:
        return failure("setup", f"setup refused: {getattr(error, 'reason', type(error).__name__)}")
    upload = _upload_attempt(call, identity.switch_user)
    if call.decision != "exempt" or not call.privileged:
        return failure("setup", f"decided {call.decision} ({call.reason}); upload {upload}")
    if upload != "refused":
        return failure("upload", f"gate {upload}")
    return None


def _finish(
    run: AssuranceRun,
    failures: list[dict[str, Any]],
    *,
    duration: float,
    actor: User | None,
    stations: int = 0,
) -> AssuranceRun:
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.duration_seconds = round(duration, 3)
        run.failure_details = failures
        run.status = AssuranceStatus.FAILED if run.failures else AssuranceStatus.PASSED
        run.save()
        record_event(
            action="assurance.run_finished",
            actor=actor,
            target=run,
            details={
                "status": run.status,
                "numbers_checked": run.numbers_checked,
                "global_checked": run.global_checked,
                "scoped_checked": run.scoped_checked,
                "failures": run.failures,
                "stations_checked": stations,
                "duration_seconds": run.duration_seconds,
                "global_facility_id": run.global_facility_id,
            },
        )
        if run.failures:
            assurance_alarm_raise(run)
    return run


def _check(run: AssuranceRun, target: _Target, identity: _Identity) -> dict[str, Any] | None:
    """One number through setup and the gate; None if both held, else the failure (keyed
    reference only)."""

    def failure(stage: str, reason: str) -> dict[str, Any]:
        with transaction.atomic():
            ref = protect_number(target.number)
        return {
            "registration_id": target.registration_id,
            "number_ref": ref,
            "facility_id": identity.facility.pk,
            "stage": stage,
            "reason": reason,
        }

    try:
        call, _ = call_setup(
            facility=identity.facility,
            switch_call_id=f"assurance-{run.pk}-{target.registration_id}",
            booking_number=identity.inmate.booking_number,
            dialed_number=target.number,
            started_at=timezone.now(),
            actor=identity.switch_user,
            synthetic=True,
        )
    except DomainError as error:
        return failure("setup", f"setup refused: {getattr(error, 'reason', type(error).__name__)}")
    setup_failed = call.decision != "exempt" or not call.privileged
    upload = _upload_attempt(call, identity.switch_user)
    if setup_failed:
        # Report the setup first: a switch obeying it would record the call. The gate's answer
        # is in the reason (it may still have saved the audio from storage).
        return failure("setup", f"decided {call.decision} ({call.reason}); upload {upload}")
    if upload != "refused":
        return failure("upload", f"gate {upload}")
    return None


def _upload_attempt(call: Call, switch_user: User) -> str:
    """The gate's answer to a synthetic upload: "refused" is the only pass."""
    try:
        recording_store(
            call=call,
            body=_NoBytes(),  # type: ignore[arg-type]  # anything with read()
            content_type=SYNTHETIC_CONTENT_TYPE,
            content_length=SYNTHETIC_DECLARED_BYTES,
            expected_sha256=None,
            actor=switch_user,
        )
    except PrivilegedCallError:
        return "refused"
    except SyntheticBodyRead:
        return "read the body (would have stored it)"
    except DomainError as error:
        return f"answered {getattr(error, 'reason', type(error).__name__)}"
    return "stored it"  # unreachable with a body that cannot be read, kept for honesty


def _targets(limit: int | None = None) -> Iterator[_Target]:
    rows = (
        ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED)
        .exclude(registration_lapsed(timezone.now()))
        .order_by("pk")
        .values_list("pk", "number", "facility_id")
    )
    if limit is not None:
        rows = rows[:limit]
    for pk, number, facility_id in rows.iterator(chunk_size=_ITERATOR_CHUNK):
        yield _Target(pk, number, facility_id)


def assurance_global_facility() -> Facility | None:
    """Where global registrations are checked: ASSURANCE_GLOBAL_FACILITY, else the first
    facility by code (see the module docstring)."""
    code = settings.ASSURANCE_GLOBAL_FACILITY
    facilities = Facility.objects.order_by("code")
    if code:
        return facilities.get(code=code)
    return facilities.first()


def synthetic_identity(facility: Facility) -> _Identity:
    """The facility's stand-in inmate and switch user, created on first use."""
    inmate, _ = Inmate.objects.get_or_create(
        facility=facility,
        booking_number=SYNTHETIC_BOOKING_NUMBER,
        defaults={"first_name": "Synthetic", "last_name": "Assurance call (not a person)"},
    )
    user, created = User.objects.get_or_create(
        username=f"assurance-switch-{facility.code}"[:150],
        defaults={"is_active": False, "first_name": "Assurance run", "last_name": "(synthetic switch)"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return _Identity(facility=facility, inmate=inmate, switch_user=user)
