"""A switch, attorneys and a clerk driving the real API (through Django's test client).

Realistic mix: most calls are recorded; a share go to verified attorney numbers written in
every common format (and sometimes the switch uploads them anyway, as a buggy switch would);
some numbers are verified while a call is in progress (the upload must be refused at the
gate) or after the call (the recording must be quarantined); an inmate sometimes names a number
as their attorney's (the switch reports a claim: the audio goes into quarantine on arrival, and
the clerk's verification sends it to the two-officer privilege review, a rejection releases
it); a few requests are malformed. Each facility
without canaries gets one, planted at a random moment among the calls, so that its ids sit
among real ones (as ``plant_canaries`` run at random times does in production). One call is
placed from the seeded attorney booth (a privileged station: exempt, its upload refused), and
the switch reports at each call's end the prompt it played.

Size: over 400 lines because the scenarios, the report they fill and the invariant check over
all of them read as one page; the issue 11 scenes have their own module (privilege_scenes.py).
"""

from __future__ import annotations

import hashlib
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q
from django.test import Client
from django.utils import timezone

from apps.access.canaries import canaries_plant
from apps.access.models import Canary
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.demo.audio import tone_pattern_wav
from apps.demo.privilege_scenes import PrivilegeReport, PrivilegeScenes
from apps.demo.seed import DEMO_BOOTH, SeedResult
from apps.facilities.models import Facility, PrivilegedStation
from apps.recordings.models import Recording, RecordingState
from apps.recordings.storage import get_storage
from apps.registry.models import ClaimStatus, ExemptNumber, ExemptStatus, InmateClaim


def call_id_prefix(run_key: str) -> str:
    return f"sim-{run_key}-"


def run_key_used(run_key: str) -> int:
    """How many calls an earlier run under ``run_key`` set up (0: the key is new)."""
    return Call.objects.filter(switch_call_id__startswith=call_id_prefix(run_key)).count()


AREA_CODES = ["212", "718", "917", "312", "713", "214", "415", "602"]


def number_formats(e164: str) -> list[str]:
    """The ways a US number is written in the wild (all one number to the platform)."""
    digits = e164[2:]
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    return [
        e164,
        f"({area}) {exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"+1 {area} {exchange} {line}",
        f"1-{area}-{exchange}-{line}",
        f"{area}-{exchange}-{line} ext. {random.randint(2, 999)}",
        f"{area}{exchange}{line}",
    ]


@dataclass
class SimulationReport:
    run_key: str = ""
    calls: int = 0
    recorded: int = 0
    exempted_at_setup: int = 0
    refused_at_gate: int = 0
    verified_mid_call: int = 0
    quarantined_after_verification: int = 0
    claims_reported: int = 0
    quarantined_on_arrival: int = 0
    claim_audio_queued_for_review: int = 0
    claim_audio_released: int = 0
    claims_rate_limited: int = 0
    rejected_requests: Counter[str] = field(default_factory=Counter)
    canaries_planted: int = 0
    station_calls_exempted: int = 0
    station_uploads_refused: int = 0
    prompts_reported: int = 0
    audit_events: int = 0
    privileged_recordings_accessible: int = 0
    privileged_objects_in_storage_unquarantined: int = 0
    orphan_objects: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.privileged_recordings_accessible == 0
            and self.privileged_objects_in_storage_unquarantined == 0
        )

    def lines(self) -> list[str]:
        rejected = ", ".join(f"{k}={v}" for k, v in sorted(self.rejected_requests.items()))
        return [
            f"run key ..................... {self.run_key}",
            f"calls set up by the switch .. {self.calls}",
            f"canary calls planted ........ {self.canaries_planted}"
            f" (calls added by this run: {self.calls + self.canaries_planted})",
            f"recorded and stored ......... {self.recorded}",
            f"exempted at setup ........... {self.exempted_at_setup}",
            f"refused at the storage gate . {self.refused_at_gate}"
            f" (of which number verified mid-call: {self.verified_mid_call})",
            f"quarantined on verification . {self.quarantined_after_verification}",
            f"calls from privileged station {self.station_calls_exempted} exempted at setup"
            f" (upload refused 403: {self.station_uploads_refused})",
            f"prompts reported at call end  {self.prompts_reported}",
            f"inmate claims reported ...... {self.claims_reported}: audio quarantined on arrival "
            f"{self.quarantined_on_arrival}, held for two-officer review on verification "
            f"{self.claim_audio_queued_for_review}, released on rejection {self.claim_audio_released}"
            + (f", refused by the rate limit {self.claims_rate_limited}" if self.claims_rate_limited else ""),
            f"bad requests answered 4xx ... {sum(self.rejected_requests.values())} ({rejected})",
            f"audit events written ........ {self.audit_events}",
            f"privileged recordings accessible: {self.privileged_recordings_accessible}",
            f"privileged audio stored through the gate: {self.privileged_objects_in_storage_unquarantined}",
            f"orphan objects in storage ... {self.orphan_objects}",
            "INVARIANT I1 HOLDS" if self.ok else "INVARIANT I1 VIOLATED",
        ]


class Simulator:
    def __init__(self, seed: SeedResult, *, rng_seed: int | None = None, run_key: str | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(rng_seed)
        random.seed(rng_seed)
        self.switches = {f["code"]: self._client(f["switch_token"]) for f in seed.facilities}
        self.clerk = self._client(seed.users["registry_clerk"]["token"])
        self.attorney = self._client(seed.attorneys[0]["token"])
        # Every call of a run carries its key in switch_call_id (see run_key_used).
        self.run_tag = run_key or os.urandom(4).hex()
        self.report = SimulationReport(run_key=self.run_tag)
        self.privilege: PrivilegeReport | None = None
        self.counter = 0

    @staticmethod
    def _client(token: str) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Token {token}")

    def run(self, calls: int, attorney_share: float = 0.08) -> SimulationReport:
        first_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        # (number, the facility a scoped registration covers, or None: every facility)
        attorney_numbers = list(
            ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED).values_list("number", "facility__code")
        )
        plant_at = self._canary_moments(calls)
        for i in range(calls):
            for code in plant_at.get(i, []):
                self._plant_canary(code)
            roll = self.rng.random()
            if roll < attorney_share and attorney_numbers:
                self._attorney_call(*self.rng.choice(attorney_numbers))
            elif roll < attorney_share + 0.02:
                self._verified_mid_call()
            elif roll < attorney_share + 0.03:
                self._verified_after_call()
            elif roll < attorney_share + 0.04:
                self._inmate_claim()
            else:
                self._ordinary_call()
            if i % 25 == 0:
                self._bad_request()
        self._station_call()
        # Issue 11's privilege assurance, after the mix so that it covers what the mix verified.
        self.privilege = PrivilegeScenes(self).play()
        self.report.audit_events = AuditEvent.objects.filter(id__gt=first_event).count()
        self._check_invariant()
        return self.report

    def _canary_moments(self, calls: int) -> dict[int, list[str]]:
        """For each facility without a canary, a random call index in the middle half."""
        planted = Canary.objects.filter(target_type="calls.call").values_list("target_id", flat=True)
        with_canary = set(
            Call.objects.filter(pk__in=[int(pk) for pk in planted]).values_list("facility__code", flat=True)
        )
        moments: dict[int, list[str]] = {}
        for facility in self.seed.facilities:
            if facility["code"] not in with_canary:
                moment = self.rng.randrange(calls // 4, max(calls // 4 + 1, 3 * calls // 4))
                moments.setdefault(moment, []).append(facility["code"])
        return moments

    def _plant_canary(self, code: str) -> None:
        planter, _ = User.objects.get_or_create(
            username="system-canary-planter", defaults={"is_active": False}
        )
        canaries_plant(facility=Facility.objects.get(code=code), count=1, actor=planter, rng=self.rng)
        self.report.canaries_planted += 1

    # --- scenarios
    def _ordinary_call(self) -> dict[str, Any]:
        call = self._setup(self._random_number())
        self._end(call)
        self._upload(call, expect=201)
        return call

    def _attorney_call(self, e164: str, facility: str | None = None) -> None:
        """A call to a verified number: in any facility, or in its own for a scoped one."""
        call = self._setup(self.rng.choice(number_formats(e164)), facility=facility)
        assert call["record"] is False, f"verified number {e164} was not exempted: {call}"
        self.report.exempted_at_setup += 1
        self._end(call)
        if self.rng.random() < 0.5:  # a misbehaving switch uploads it anyway
            self._upload(call, expect=403)

    def _station_call(self) -> None:
        """A call from the seeded attorney booth (issue 11, section 6): the switch names the
        station (in another case than registered) and dials an ordinary number; the call is
        exempt, and the audio a misbehaving switch uploads anyway is refused."""
        booth = (
            PrivilegedStation.objects.filter(retired_at__isnull=True, station_id=DEMO_BOOTH[0])
            .select_related("facility")
            .first()
        )
        if booth is None:
            return
        facility = booth.facility.code
        body = self._setup_body(facility, self._random_number())
        r = self.switches[facility].post(
            "/api/v1/calls/", {**body, "station": booth.station_id.lower()}, content_type="application/json"
        )
        assert r.status_code == 201, r.content
        call = {**r.json(), "facility": facility}
        assert call["record"] is False and call["reason"] == "privileged_station", call
        self.report.calls += 1
        self.report.station_calls_exempted += 1
        self._end(call)
        self._upload(call, expect=403)
        self.report.station_uploads_refused += 1

    def _verified_mid_call(self) -> None:
        number = self._random_number()
        exempt = self._register(number)
        call = self._setup(number)
        assert call["record"] is True
        self._verify(exempt["id"])
        self.report.verified_mid_call += 1
        self._end(call)
        self._upload(call, expect=403)

    def _verified_after_call(self) -> None:
        number = self._random_number()
        self._ordinary_call()
        call = self._setup(number)
        self._end(call)
        self._upload(call, expect=201)
        exempt = self._register(number)
        body = self._verify(exempt["id"])
        self.report.quarantined_after_verification += body["quarantined_recordings"]

    def _inmate_claim(self) -> None:
        """The switch reports a claim; the next call's audio is stored into quarantine; the
        clerk then verifies (the audio waits for two privilege officers, who alone may purge)
        or rejects (it is released). Claims past INMATE_CLAIM_LIMITS are refused with 429."""
        from django.contrib.auth.models import User

        from apps.registry.claims import claim_reject, claim_verify

        facility = self.rng.choice(self.seed.facilities)["code"]
        number = self._random_number()
        inmate = self.rng.choice([i for i in self.seed.inmates if i["facility"] == facility])
        r = self.switches[facility].post(
            "/api/v1/registry/claims/",
            {"inmate": inmate["booking_number"], "number": self.rng.choice(number_formats(number))},
            content_type="application/json",
        )
        if r.status_code == 429:  # repeated demo runs can reach an inmate's daily limit
            self.report.claims_rate_limited += 1
            return
        assert r.status_code == 201, r.content
        self.report.claims_reported += 1
        call = self._setup(number, facility=facility)
        assert call["record"] is True  # a pending claim does not exempt: it quarantines
        self._end(call)
        stored = self._upload(call, expect=201)
        assert stored["state"] == RecordingState.QUARANTINED, stored
        self.report.quarantined_on_arrival += 1
        # The clerk decides in the attorney portal's queue (here: the same service it calls).
        clerk = User.objects.get(username=self.seed.users["registry_clerk"]["username"])
        if self.rng.random() < 0.5:
            outcome = claim_verify(claim_id=r.json()["id"], clerk=clerk)
            self.report.claim_audio_queued_for_review += outcome.queued_for_review
        else:
            outcome = claim_reject(claim_id=r.json()["id"], clerk=clerk, reason="not an attorney line")
            self.report.claim_audio_released += outcome.released

    def _bad_request(self) -> None:
        facility = self.rng.choice(self.seed.facilities)["code"]
        switch = self.switches[facility]
        kind = self.rng.choice(
            ["bad_number", "unknown_inmate", "checksum", "duplicate", "missing_fields", "wrong_type"]
        )
        if kind == "bad_number":
            r = switch.post(
                "/api/v1/calls/", self._setup_body(facility, "call-me-maybe"), content_type="application/json"
            )
        elif kind == "unknown_inmate":
            body = self._setup_body(facility, self._random_number())
            body["inmate"] = "NOPE-0"
            r = switch.post("/api/v1/calls/", body, content_type="application/json")
        elif kind == "missing_fields":
            r = switch.post("/api/v1/calls/", {"inmate": "x"}, content_type="application/json")
        else:
            call = self._setup(self._random_number(), facility=facility)
            if kind == "duplicate":
                self._upload(call, expect=201)
            audio = os.urandom(2048)
            # Switches must send the digest (a missing one is refused as checksum_required).
            sha = "0" * 64 if kind == "checksum" else hashlib.sha256(audio).hexdigest()
            headers = {"Content-SHA256": sha}
            content_type = "text/plain" if kind == "wrong_type" else "audio/wav"
            r = switch.put(
                f"/api/v1/calls/{call['id']}/recording/", audio, content_type=content_type, headers=headers
            )
        assert 400 <= r.status_code < 500, (kind, r.status_code, r.content)
        self.report.rejected_requests[r.json()["reason"]] += 1

    # --- API steps
    def _setup_body(self, facility: str, dialed: str, inmate: str | None = None) -> dict[str, Any]:
        self.counter += 1
        if inmate is None:
            inmates = [i["booking_number"] for i in self.seed.inmates if i["facility"] == facility]
            inmate = self.rng.choice(inmates)
        return {
            "switch_call_id": f"{call_id_prefix(self.run_tag)}{self.counter}",
            "inmate": inmate,
            "dialed_number": dialed,
            "started_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        }

    def _setup(self, dialed: str, facility: str | None = None, inmate: str | None = None) -> dict[str, Any]:
        facility = facility or self.rng.choice(self.seed.facilities)["code"]
        r = self.switches[facility].post(
            "/api/v1/calls/", self._setup_body(facility, dialed, inmate), content_type="application/json"
        )
        assert r.status_code == 201, r.content
        self.report.calls += 1
        return {**r.json(), "facility": facility}

    def _end(self, call: dict[str, Any]) -> None:
        """End the call, reporting the prompt the switch played: the one setup named."""
        body: dict[str, Any] = {"ended_at": timezone.now().isoformat()}
        prompt = call.get("prompt")
        if prompt:
            body["prompt_played"] = {"id": prompt["id"], "version": prompt["version"]}
        r = self.switches[call["facility"]].post(
            f"/api/v1/calls/{call['id']}/end/", body, content_type="application/json"
        )
        assert r.status_code == 200, r.content
        if prompt:
            self.report.prompts_reported += 1

    def _upload(self, call: dict[str, Any], *, expect: int) -> dict[str, Any]:
        audio = tone_pattern_wav(self.rng)  # real audio: the portal's player plays it
        r = self.switches[call["facility"]].put(
            f"/api/v1/calls/{call['id']}/recording/",
            audio,
            content_type="audio/wav",
            headers={"Content-SHA256": hashlib.sha256(audio).hexdigest()},
        )
        assert r.status_code == expect, (expect, r.status_code, r.content)
        if r.status_code == 201:
            self.report.recorded += 1
        elif r.status_code == 403:
            self.report.refused_at_gate += 1
        return dict(r.json())

    def _register(self, number: str) -> dict[str, Any]:
        r = self.attorney.post(
            "/api/v1/attorney/numbers/",
            {"number": number, "label": "mobile"},
            content_type="application/json",
        )
        assert r.status_code == 201, r.content
        return dict(r.json())

    def _verify(self, exempt_id: int) -> dict[str, Any]:
        r = self.clerk.post(
            f"/api/v1/registry/numbers/{exempt_id}/verify/", {}, content_type="application/json"
        )
        assert r.status_code == 200, r.content
        return dict(r.json())

    def _random_number(self) -> str:
        return f"+1{self.rng.choice(AREA_CODES)}{self.rng.randint(200, 999)}{self.rng.randint(0, 9999):04d}"

    # --- the check that matters
    def _check_invariant(self) -> None:
        verified = ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED).values("number")
        claimed = InmateClaim.objects.filter(
            status=ClaimStatus.VERIFIED,
            facility_id=OuterRef("call__facility_id"),
            number=OuterRef("call__dialed_number"),
        )
        # A live privileged station of the call's facility makes it privileged too (issue 11 s.6).
        from_station = PrivilegedStation.objects.filter(
            retired_at__isnull=True,
            facility_id=OuterRef("call__facility_id"),
            station_id=OuterRef("call__station"),
        )
        privileged = Recording.objects.filter(
            Q(call__privileged=True)
            | Q(call__dialed_number__in=verified)
            | Exists(claimed)
            | Exists(from_station)
        )
        self.report.privileged_recordings_accessible = privileged.filter(state=RecordingState.STORED).count()
        # Privileged audio that is in storage although it never was quarantined, i.e. it went
        # through the gate while privileged. Quarantined ones predate their registration.
        self.report.privileged_objects_in_storage_unquarantined = privileged.filter(
            quarantined_at__isnull=True
        ).count()
        known = set(Recording.objects.values_list("storage_key", flat=True))
        self.report.orphan_objects = sum(1 for key, _ in get_storage().list_keys() if key not in known)
        assert Call.objects.filter(decision="exempt", privileged=False).count() == 0
