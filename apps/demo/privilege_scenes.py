"""The demo's privilege-assurance scenes (issue 11), played by ``simulate_calls`` after its mix.

Each scene goes through the real API where one exists (the switch, the attorney, the clerks, the
investigator are Django test clients with their tokens) and through the service otherwise (the
snapshot, the import proposal and the assurance run have a command and a beat task, no API):

1. a late registration: a number with recorded calls in both facilities is registered by an
   attorney and verified by the clerk; verification quarantines those recordings;
2. two clerks: clerk 1 proposes a partner system's registry file (identical rows are skipped;
   the new ones wait), clerk 2 lists the queue and approves with the digest it showed. The
   same file again proposes nothing: the import is idempotent;
3. "sounds privileged - stop": the investigator (holding the seeded case grant) plays the start
   of a fresh recording of the granted inmate, then presses stop;
4. the day's signed snapshot of the verified list (taken once a day; later runs find it);
5. each switch fetches its signed decision list, checks the signature offline and reports the
   version it now holds;
6. a nightly assurance run over every verified number (it must pass: 0 failures);
7. the compliance report of the half-year so far, per facility, made for the demo's auditor
   (issued once per facility and period: a re-run the same day finds it), signature checked.

Nothing here writes a model directly: each step is a service or an endpoint.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.actions.assurance import assurance_run
from apps.actions.exposure import exposure_report_body, exposure_report_signature_valid
from apps.audit import signing
from apps.compliance.services import compliance_report_generate, period_parse
from apps.recordings.models import StopPress
from apps.registry.bulk import bulk_import_propose
from apps.registry.decision_list import decision_list_signature_valid
from apps.registry.exposure_models import ExposureReport
from apps.registry.portability import FIELDS
from apps.registry.snapshots import registry_snapshot_take, snapshot_signature_valid

if TYPE_CHECKING:
    from apps.demo.simulator import Simulator

# A partner system's registry export (issue 11: "importing system A's export into system B"):
# a public defender the demo has never seen, one global number and one for one facility only.
PARTNER_ATTORNEY = {
    "attorney_name": "Samuel Ortiz",
    "bar_state": "TX",
    "bar_number": "24099887",
    "firm": "County Public Defender (demo)",
    "contact_email": "attorney-ortiz@example.org",
}
PARTNER_NUMBERS = [("+17135550160", "office", ""), ("+19365550112", "jail visiting line", "tx-hunt")]
PARTNER_FROM = "2024-01-01T00:00:00+00:00"
PARTNER_FILE = "partner-registry.csv"


@dataclass
class PrivilegeReport:
    late_calls_recorded: int = 0
    late_quarantined: int = 0
    late_exposure_report: int | None = None  # made automatically by the verification
    late_exposure_calls: int = 0
    late_exposure_signed: bool = False
    bulk_proposed: int | None = None  # the change id clerk 1 proposed, None: nothing to change
    bulk_identical_rows: int = 0
    bulk_applied: dict[str, Any] = field(default_factory=dict)
    bulk_rerun_proposed: bool = False
    stop_recording: int | None = None
    stop_bytes_heard: int = 0
    stop_seconds_heard: float | None = None
    stop_officers_notified: int = 0
    stop_exports_pulled: int = 0
    stop_refused: str = ""  # the API's reason when the press was refused (hourly limit)
    snapshot_day: str = ""
    snapshot_count: int = 0
    snapshot_created: bool = False
    snapshot_signature_ok: bool = False
    snapshot_alarm: bool = False
    # facility code -> (version, entries, signature ok, version reported held, current version)
    decision_lists: dict[str, tuple[int, int, bool, int, int]] = field(default_factory=dict)
    assurance_run: int = 0
    assurance_checked: int = 0
    assurance_global: int = 0
    assurance_scoped: int = 0
    assurance_failures: int = 0
    assurance_seconds: float = 0.0
    # facility code -> (report id, made now, exempted at setup, gate refusals, signature ok)
    compliance: dict[str, tuple[int, bool, int, int, bool]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.assurance_failures == 0
            and self.late_exposure_signed
            and self.snapshot_signature_ok
            and not self.snapshot_alarm
            and all(sig and held == current for _, _, sig, held, current in self.decision_lists.values())
            and all(ok for *_, ok in self.compliance.values())
        )

    def lines(self) -> list[str]:
        bulk = (
            f"bulk change #{self.bulk_proposed} proposed by clerk 1, approved by clerk 2: {self.bulk_applied}"
            if self.bulk_proposed is not None
            else f"partner file imported before: {self.bulk_identical_rows} identical row(s), no change"
        )
        if self.stop_recording is not None:
            heard = "unknown" if self.stop_seconds_heard is None else f"~{self.stop_seconds_heard:.0f} s"
            stop = (
                f"recording #{self.stop_recording} quarantined by the investigator after "
                f"{self.stop_bytes_heard} bytes ({heard}) heard; "
                f"{self.stop_officers_notified} privilege officer(s) notified, "
                f"{self.stop_exports_pulled} export(s) pulled"
            )
        else:
            stop = f"press refused ({self.stop_refused})"
        lists = "; ".join(
            f"{code} v{version} ({entries} entries, signature {'ok' if sig else 'INVALID'}, holds v{held})"
            for code, (version, entries, sig, held, _) in sorted(self.decision_lists.items())
        )
        return [
            "--- privilege assurance (issue 11)",
            f"late registration ........... {self.late_calls_recorded} earlier recording(s) of the number, "
            f"quarantined on verification: {self.late_quarantined}; exposure report "
            + (
                f"#{self.late_exposure_report} ({self.late_exposure_calls} call(s), signature "
                f"{'ok' if self.late_exposure_signed else 'INVALID'})"
                if self.late_exposure_report
                else "MISSING"
            ),
            f"two-clerk registry import ... {bulk}"
            + ("" if self.bulk_rerun_proposed else "; the same file again proposes nothing"),
            f'"sounds privileged - stop" .. {stop}',
            f"list snapshot ............... {self.snapshot_day}: {self.snapshot_count} numbers, "
            f"{'taken now' if self.snapshot_created else 'already taken today'}, signature "
            f"{'ok' if self.snapshot_signature_ok else 'INVALID'}"
            + (", ALARM: unexplained drop" if self.snapshot_alarm else ", no unexplained drop"),
            f"switch decision lists ....... {lists}",
            f"nightly assurance run ....... #{self.assurance_run}: {self.assurance_checked} numbers checked "
            f"({self.assurance_global} global, {self.assurance_scoped} facility-scoped), "
            f"{self.assurance_failures} failure(s), {self.assurance_seconds:.2f} s",
            "compliance reports .......... "
            + "; ".join(
                f"{code} #{pk} ({'made now' if made else 'already issued'}: {exempted} exempted at setup, "
                f"{refused} gate refusal(s), signature {'ok' if ok else 'INVALID'})"
                for code, (pk, made, exempted, refused, ok) in sorted(self.compliance.items())
            ),
            "PRIVILEGE ASSURANCE HOLDS" if self.ok else "PRIVILEGE ASSURANCE FAILED",
        ]


class PrivilegeScenes:
    def __init__(self, simulator: Simulator) -> None:
        self.sim = simulator
        self.seed = simulator.seed
        self.report = PrivilegeReport()

    def play(self) -> PrivilegeReport:
        self.late_registration()
        self.two_clerk_import()
        self.stop_button()
        self.list_snapshot()
        self.decision_lists()
        self.nightly_assurance()
        self.compliance_reports()
        return self.report

    def _user(self, username: str) -> User:
        return User.objects.get(username=username)

    # 1
    def late_registration(self) -> None:
        """Calls recorded before the number was known to be an attorney's, in both facilities."""
        number = self.sim._random_number()
        for facility in self.seed.facilities:
            call = self.sim._setup(number, facility=facility["code"])
            self.sim._end(call)
            self.sim._upload(call, expect=201)
            self.report.late_calls_recorded += 1
        exempt = self.sim._register(number)
        self.report.late_quarantined = self.sim._verify(exempt["id"])["quarantined_recordings"]
        # The verification that quarantined them made, signed and kept the exposure report.
        report = ExposureReport.objects.filter(registration_id=exempt["id"]).order_by("-pk").first()
        if report is not None:
            self.report.late_exposure_report = report.pk
            self.report.late_exposure_calls = len(exposure_report_body(report)["calls"]["rows"])
            self.report.late_exposure_signed = exposure_report_signature_valid(report)

    # 2
    def two_clerk_import(self) -> None:
        first = self._user(self.seed.users["registry_clerk"]["username"])
        text = partner_file()
        change, report = bulk_import_propose(text=text, fmt="csv", file_name=PARTNER_FILE, actor=first)
        self.report.bulk_identical_rows = report.identical
        if change is not None:
            self.report.bulk_proposed = change.pk
            second = _client(self.seed.second_users["registry_clerk"]["token"])
            listed = second.get("/api/v1/registry/bulk-changes/")
            assert listed.status_code == 200, listed.content
            digest = next(c["digest"] for c in listed.json()["results"] if c["id"] == change.pk)
            r = second.post(
                f"/api/v1/registry/bulk-changes/{change.pk}/approve/",
                {"digest": digest},
                content_type="application/json",
            )
            assert r.status_code == 200, r.content
            self.report.bulk_applied = {k: v for k, v in r.json()["result"].items() if isinstance(v, int)}
        again, _ = bulk_import_propose(text=text, fmt="csv", file_name=PARTNER_FILE, actor=first)
        self.report.bulk_rerun_proposed = again is not None

    # 3
    def stop_button(self) -> None:
        grant = self.seed.grants[0]
        investigator_user = self._user(grant["investigator"])
        # One call of the granted inmate stays playable: after the demo the investigator must
        # find something to play, not only the recording they stopped (issue 15, trap 3).
        kept = self.sim._setup(self.sim._random_number(), facility=grant["facility"], inmate=grant["inmate"])
        self.sim._end(kept)
        self.sim._upload(kept, expect=201)
        hour_ago = timezone.now() - timedelta(hours=1)
        if (
            StopPress.objects.filter(pressed_by=investigator_user, pressed_at__gte=hour_ago).count()
            >= settings.STOP_BUTTON_PER_HOUR
        ):
            # Pressing past the hourly limit would be refused and audited as quota.exceeded,
            # which anomaly analysis reads: the demo does not make its investigator look abusive.
            self.report.stop_refused = "skipped: the investigator's hourly stop limit is reached"
            return
        call = self.sim._setup(self.sim._random_number(), facility=grant["facility"], inmate=grant["inmate"])
        self.sim._end(call)
        recording_id = self.sim._upload(call, expect=201)["id"]
        investigator = _client(self.seed.users["investigator"]["token"])
        # Listen to the start (the estimate of what was heard comes from the ranges served).
        link = investigator.post(f"/api/v1/recordings/{recording_id}/playback/")
        assert link.status_code == 200, link.content
        stream = investigator.get(link.json()["url"], headers={"Range": "bytes=0-16383"})
        assert stream.status_code in (200, 206), stream.status_code
        b"".join(stream.streaming_content)  # type: ignore[attr-defined]
        r = investigator.post(f"/api/v1/recordings/{recording_id}/stop-privileged/")
        if r.status_code == 429:  # STOP_BUTTON_PER_HOUR, reached by another press meanwhile
            self.report.stop_refused = r.json().get("reason", "429")
            return
        assert r.status_code == 200, r.content
        body = r.json()
        self.report.stop_recording = body["recording"]
        self.report.stop_bytes_heard = body["heard"]["bytes_heard"]
        self.report.stop_seconds_heard = body["heard"]["seconds_heard"]
        self.report.stop_officers_notified = len(body["officers_notified"])
        self.report.stop_exports_pulled = len(body["exports_pulled"])

    # 4
    def list_snapshot(self) -> None:
        clerk = self._user(self.seed.users["registry_clerk"]["username"])
        outcome = registry_snapshot_take(actor=clerk)
        snapshot = outcome.snapshot
        self.report.snapshot_day = snapshot.day.isoformat()
        self.report.snapshot_count = snapshot.count
        self.report.snapshot_created = outcome.created
        self.report.snapshot_signature_ok = snapshot_signature_valid(snapshot)
        self.report.snapshot_alarm = outcome.alarm is not None

    # 5
    def decision_lists(self) -> None:
        public_key = signing.public_key_bytes()
        for facility in self.seed.facilities:
            switch = self.sim.switches[facility["code"]]
            r = switch.get("/api/v1/switch/decision-list/")
            assert r.status_code == 200, r.content
            body = r.json()
            valid = decision_list_signature_valid(body, public_key=public_key)
            held = switch.post(
                "/api/v1/switch/decision-list/held/",
                {"version": body["version"]},
                content_type="application/json",
            )
            assert held.status_code == 200, held.content
            answer = held.json()
            self.report.decision_lists[facility["code"]] = (
                body["version"],
                body["count"],
                valid,
                answer["version"],
                answer["current_version"],
            )

    # 6
    def nightly_assurance(self) -> None:
        clerk = self._user(self.seed.users["registry_clerk"]["username"])
        run = assurance_run(trigger="demo", actor=clerk)
        self.report.assurance_run = run.pk
        self.report.assurance_checked = run.numbers_checked
        self.report.assurance_global = run.global_checked
        self.report.assurance_scoped = run.scoped_checked
        self.report.assurance_failures = run.failures
        self.report.assurance_seconds = run.duration_seconds or 0.0

    # 7
    def compliance_reports(self) -> None:
        auditor = self._user(self.seed.users["auditor"]["username"])
        today = timezone.localdate()
        start = today.replace(month=1 if today.month < 7 else 7, day=1)
        for facility in self.seed.facilities:
            period = period_parse(facility_code=facility["code"], start=start, end=today)
            report, made = compliance_report_generate(period=period, actor=auditor)
            figures = report.figures
            signed = signing.verify_signature(
                public_key=signing.public_key_bytes(),
                payload=report.manifest.encode(),
                signature_b64=report.signature,
            )
            self.report.compliance[facility["code"]] = (
                report.pk,
                made,
                int(figures["calls"]["exempted_at_setup"]),
                int(figures["gate_refusals"]["total"]),
                signed,
            )


def _client(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def partner_file() -> str:
    """The partner system's export (the registry's CSV format): the public defender's numbers."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    for number, label, facility in PARTNER_NUMBERS:
        writer.writerow(
            {
                **PARTNER_ATTORNEY,
                "number": number,
                "label": label,
                "facility": facility,
                "status": "verified",
                "effective_from": PARTNER_FROM,
                "effective_until": "",
            }
        )
    return out.getvalue()
