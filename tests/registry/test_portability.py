"""registry_export / registry_import: round trip, line-numbered errors, all or nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from apps.accounts.roles import REGISTRY_CLERK, ensure_role_groups
from apps.actions.registry import exempt_number_verify
from apps.registry.models import Attorney, BulkChange, ExemptNumber
from apps.registry.services import exempt_number_register, exempt_number_reject
from tests.conftest import wipe_registry
from tests.factories import AttorneyFactory, CallFactory, UserFactory

pytestmark = pytest.mark.django_db


def _seed(clerk: User) -> None:
    a = AttorneyFactory(
        full_name="Ann Law", bar_state="NY", bar_number="1234567", contact_email="ann@example.org"
    )
    v = exempt_number_register(attorney=a, number="+12125550101", label="office", actor=a.user)
    exempt_number_verify(exempt_number_id=v.pk, clerk=clerk)
    r = exempt_number_register(attorney=a, number="+12125550102", actor=a.user)
    exempt_number_reject(exempt_number_id=r.pk, clerk=clerk, reason="no")
    exempt_number_register(attorney=a, number="+12125550103", actor=a.user)


def _wipe() -> None:
    wipe_registry()


def _approved_by_a_second_clerk(out: str) -> None:
    """An import takes effect once another registry clerk approves its bulk change."""
    from apps.registry.models import BulkChange

    change = BulkChange.objects.get(status="pending", kind="import")
    assert f"bulk change {change.pk} is pending" in out
    second = UserFactory(username="clerk-2")
    second.groups.add(ensure_role_groups()[REGISTRY_CLERK])
    from apps.registry.bulk import bulk_change_digest

    # The second clerk approves the change as listed (``registry_bulk list`` shows its digest).
    digest = bulk_change_digest(change)
    call_command(
        "registry_bulk",
        "approve",
        str(change.pk),
        "--digest",
        digest,
        "--as",
        second.username,
        stdout=io.StringIO(),
    )


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_round_trips(clerk: User, tmp_path: Path, fmt: str, store_recording: Any) -> None:
    _seed(clerk)
    path = tmp_path / f"registry.{fmt}"
    call_command("registry_export", "--format", fmt, "--output", str(path), "--as", clerk.username)
    before = sorted((e.number, e.status, e.label, e.attorney.bar_number) for e in ExemptNumber.objects.all())
    _wipe()
    earlier = store_recording(CallFactory(dialed_number="+12125550101"))
    out = io.StringIO()
    call_command("registry_import", str(path), "--as", clerk.username, stdout=out)
    assert "3 row(s): 0 identical (skipped), 0 conflicting (skipped), 3 to import" in out.getvalue()
    _approved_by_a_second_clerk(out.getvalue())
    assert BulkChange.objects.get().result["quarantined"] == 1
    after = sorted((e.number, e.status, e.label, e.attorney.bar_number) for e in ExemptNumber.objects.all())
    assert after == before
    earlier.refresh_from_db()
    assert earlier.state == "quarantined"


def test_a_bad_row_is_reported_by_line_and_nothing_changes(clerk: User, tmp_path: Path) -> None:
    path = tmp_path / "registry.csv"
    path.write_text(
        "number,attorney_name,bar_state,bar_number,firm,contact_email,label,facility,status,effective_from,effective_until\n"
        "+12125550101,Ann,NY,1234567,,,office,,verified,2026-01-01T00:00:00+00:00,\n"
        "not a number,Bob,NY,7654321,,,,,pending,,\n"
        "+12125550103,Cy,TX,12,,,,,pending,,\n"
        "+12125550104,Di,NY,1111111,,,,nowhere,maybe,,\n"
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 invalid row"):
        call_command("registry_import", str(path), "--as", clerk.username, stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("line 3:") and lines[1].startswith("line 4: A TX bar number")
    assert lines[2].startswith("line 5:")
    assert not ExemptNumber.objects.exists() and not Attorney.objects.exists()


def test_json_errors_name_the_registration(clerk: User, tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {
                "format": "callplatform-registry",
                "version": 1,
                "registrations": [
                    {
                        "number": "+12125550101",
                        "attorney_name": "A",
                        "bar_state": "NY",
                        "bar_number": "1234567",
                        "status": "verified",
                    },
                ],
            }
        )
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("registry_import", str(path), "--as", clerk.username, stderr=err)
    assert "registration 1: a verified row needs effective_from" in err.getvalue()


def test_only_a_clerk_may_import(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("x\n")
    UserFactory(username="nobody")
    with pytest.raises(CommandError, match="registry clerk"):
        call_command("registry_import", str(path), "--as", "nobody")
