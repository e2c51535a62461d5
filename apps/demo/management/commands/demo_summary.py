from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.demo.seed import seed_demo
from apps.facilities.models import SwitchAccount
from apps.recordings.models import HoldKind, QuarantineHold, Recording, StopPress
from apps.registry.alarms import open_list_alarms
from apps.registry.drift import stale_since
from apps.registry.models import (
    AssuranceRun,
    BulkChange,
    BulkChangeStatus,
    ExemptNumber,
    ExemptStatus,
    ListSnapshot,
    SwitchListHolding,
)


class Command(BaseCommand):
    help = "Print where the demo runs, what the privilege assurance did, and the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = seed_demo()
        base = f"http://{options['addr']}"
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("callplatform demo is ready"))
        calls = Call.objects.filter(synthetic=False).count()
        out(
            f"  calls: {calls} (the switch's and the canaries planted among them; the assurance runs' "
            f"synthetic calls are not counted)  recordings: {Recording.objects.count()}  "
            f"audit events: {AuditEvent.objects.count()}"
        )
        for line in privilege_lines():
            out(f"  {line}")
        out(f"  Facility portal (staff):  {base}/")
        out(f"  Attorney portal:          {base}/attorney/  (clerk queue and privilege review there too)")
        out(f"  API: OpenAPI schema at {base}/api/schema/ (sign in first, or send a token);")
        out(f"       its endpoints are under {base}/api/v1/ (calls/, recordings/, switch/decision-list/ ...)")
        out(f"  Health:  {base}/healthz")
        out("  Demo logins (role: username / password):")
        for role, user in seed.users.items():
            out(f"    {role:<18} {user['username']} / {user['password']}")
        for role, user in seed.second_users.items():
            second = f"(the second {role.replace('_', ' ')})"
            out(f"    {role:<18} {user['username']} / {user['password']}  {second}")
        for attorney in seed.attorneys:
            out(f"    {'attorney':<18} {attorney['username']} / {attorney['password']}")
        for grant in seed.grants:
            out(
                f"  {grant['investigator']} holds case grant {grant['case_reference']} on inmate "
                f"{grant['inmate']} ({grant['facility']}): it can play, and stop, that inmate's recordings"
            )
        out(f"  API docs (sign in first): Swagger UI {base}/api/docs/  Redoc {base}/api/redoc/")
        for line in switch_curl_lines(seed.facilities[0], seed.inmates[0]["booking_number"], base):
            out(line)
        out("")


def switch_curl_lines(facility: dict[str, Any], booking_number: str, base: str) -> list[str]:
    """A switch's whole call, in curl: set up, upload the audio, end. Each facility's switch has
    its own token (a token only reaches its own facility's calls), so the lines say whose it is."""
    auth = '-H "Authorization: Token $TOKEN"'
    json_type = "-H 'Content-Type: application/json'"
    return [
        f"  Try the switch API as the switch of {facility['code']} ({facility['name']}), with that "
        "facility's switch token",
        "  (every facility's switch has its own; `seed_demo --json` lists them):",
        f"    TOKEN={facility['switch_token']}",
        '    # 1. set up a call ("inmate" is the booking number); the answer\'s "record": record or not',
        f'    curl -s {auth} {json_type} -d \'{{"switch_call_id": "try-1", '
        f'"inmate": "{booking_number}", "dialed_number": "(718) 555-0142", '
        f'"started_at": "2026-01-01T10:00:00Z"}}\' {base}/api/v1/calls/',
        '    CALL_ID=<the "id" it answered>',
        "    # 2. upload the audio (any WAV file); a privileged call answers 403 privileged, nothing stored",
        f"    curl -s -X PUT {auth} -H 'Content-Type: audio/wav' "
        "-H \"Content-SHA256: $(sha256sum call.wav | cut -d' ' -f1)\" "
        f"--data-binary @call.wav {base}/api/v1/calls/$CALL_ID/recording/",
        '    # 3. end the call, naming the prompt you played (the "prompt" of step 1)',
        f'    curl -s {auth} {json_type} -d \'{{"ended_at": "2026-01-01T10:05:00Z", '
        f'"prompt_played": {{"id": <id>, "version": <version>}}}}\' {base}/api/v1/calls/$CALL_ID/end/',
    ]


def privilege_lines() -> list[str]:
    """What the privilege assurance (issue 11) did, from the database: counts, no secrets."""
    lines = ["Privilege assurance:"]
    verified = ExemptNumber.objects.filter(status=ExemptStatus.VERIFIED).count()
    snapshot = ListSnapshot.objects.order_by("-day").first()
    lines.append(
        f"  verified numbers: {verified}; list snapshots: {ListSnapshot.objects.count()}"
        + (f", latest {snapshot.day} with {snapshot.count} numbers" if snapshot else "")
        + f"; open list alarms: {open_list_alarms().count()}"
    )
    applied = BulkChange.objects.filter(status=BulkChangeStatus.APPLIED).count()
    pending = BulkChange.objects.filter(status=BulkChangeStatus.PENDING).count()
    lines.append(f"  bulk changes approved by a second clerk: {applied}, waiting: {pending}")
    switches = []
    for switch in SwitchAccount.objects.select_related("facility").order_by("facility__code"):
        holding = SwitchListHolding.objects.filter(switch=switch).first()
        held = holding.held_version if holding else None
        state = "current" if held and stale_since(switch=switch, held=held) is None else "behind"
        switches.append(f"{switch.facility.code} holds v{held or '-'} ({state})")
    lines.append(f"  switch decision lists: {'; '.join(switches) or 'none'}")
    run = AssuranceRun.objects.exclude(finished_at__isnull=True).order_by("-pk").first()
    if run is None:
        lines.append("  assurance runs: none yet")
    else:
        lines.append(
            f"  last assurance run #{run.pk} ({run.status}): {run.numbers_checked} numbers checked, "
            f"{run.failures} failure(s), {run.duration_seconds or 0:.2f} s; "
            f"runs so far: {AssuranceRun.objects.count()}"
        )
    holds = QuarantineHold.objects.filter(closed_at__isnull=True)
    lines.append(
        f"  recordings held in quarantine: {holds.values('recording').distinct().count()} "
        f"(number became privileged: {holds.filter(kind=HoldKind.PRIVILEGED).count()}, "
        f"stop button: {holds.filter(kind=HoldKind.STOP_BUTTON).count()}, "
        f"inmate claim: {holds.filter(kind=HoldKind.CLAIM).count()}); "
        f"stop presses: {StopPress.objects.count()}"
    )
    return lines
