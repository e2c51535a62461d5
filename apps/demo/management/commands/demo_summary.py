from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.demo.seed import seed_demo
from apps.recordings.models import Recording


class Command(BaseCommand):
    help = "Print where the demo runs and its logins (demo accounts only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = seed_demo()
        base = f"http://{options['addr']}"
        out = self.stdout.write
        out("")
        out(self.style.SUCCESS("callplatform demo is ready"))
        calls = Call.objects.filter(synthetic=False).count()  # not the assurance run's
        out(
            f"  calls: {calls}  recordings: {Recording.objects.count()}  "
            f"audit events: {AuditEvent.objects.count()}"
        )
        out(f"  Facility portal (staff):  {base}/")
        out(f"  Attorney portal:          {base}/attorney/  (clerk queue and privilege review there too)")
        out(f"  API:     {base}/api/v1/   (OpenAPI schema: {base}/api/schema/)")
        out(f"  Health:  {base}/healthz")
        out("  Demo logins (role: username / password):")
        for role, user in seed.users.items():
            out(f"    {role:<18} {user['username']} / {user['password']}")
        for attorney in seed.attorneys:
            out(f"    {'attorney':<18} {attorney['username']} / {attorney['password']}")
        switch = seed.facilities[0]
        out("  Try the switch API:")
        out(
            f"    curl -s -H 'Authorization: Token {switch['switch_token']}' "
            f'-H \'Content-Type: application/json\' -d \'{{"switch_call_id": "try-1", '
            f'"inmate": "{seed.inmates[0]["booking_number"]}", '
            f'"dialed_number": "(212) 555-0101", '
            f'"started_at": "2026-01-01T10:00:00Z"}}\' {base}/api/v1/calls/'
        )
        out("")
