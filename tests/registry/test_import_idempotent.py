"""registry_import is idempotent, reports conflicts by line, is all or nothing, and carries one
system's registry into another without losing an exempt number."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.accounts.roles import REGISTRY_CLERK, ensure_role_groups
from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.registry.bulk import (
    ImportInvalidError,
    bulk_change_approve,
    bulk_change_digest,
    bulk_import_propose,
)
from apps.registry.models import Attorney, BulkChange, ExemptNumber, ListAlarm
from apps.registry.portability import FIELDS, export_text
from apps.registry.privilege import is_privileged
from apps.registry.services import exempt_number_register
from apps.registry.snapshots import registry_snapshot_take
from tests.conftest import wipe_registry
from tests.factories import AttorneyFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = ",".join(FIELDS) + "\n"
NUMBERS = ["+12125550101", "+12125550102", "+12125550103", "+12125550104"]


@pytest.fixture
def second_clerk(db: None) -> User:
    user = UserFactory(username="clerk-2")
    user.groups.add(ensure_role_groups()[REGISTRY_CLERK])
    return user


def ann() -> Attorney:
    return AttorneyFactory(full_name="Ann Law", bar_state="NY", bar_number="1234567")


def verified(attorney: Attorney, clerk: User, number: str) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


def run_import(path: Path, clerk: User, *extra: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("registry_import", str(path), "--as", clerk.username, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def approve(change: BulkChange, second: User) -> BulkChange:
    """The second clerk approves the change as listed (with its digest)."""
    return bulk_change_approve(change_id=change.pk, clerk=second, digest=bulk_change_digest(change))


def import_and_approve(path: Path, clerk: User, second: User) -> BulkChange:
    run_import(path, clerk)
    change = BulkChange.objects.get(status="pending")
    return approve(change, second)


def system_a(clerk: User, tmp_path: Path) -> Path:
    """System A: four verified numbers of Ann's, exported."""
    attorney = ann()
    for number in NUMBERS:
        verified(attorney, clerk, number)
    path = tmp_path / "a.csv"
    path.write_text(export_text("csv")[0])
    return path


def test_identical_rows_are_skipped_and_counted(clerk: User, tmp_path: Path) -> None:
    path = system_a(clerk, tmp_path)
    out, _ = run_import(path, clerk)
    assert "4 row(s): 4 identical (skipped), 0 conflicting (skipped), 0 to import" in out
    assert "nothing to change" in out and not BulkChange.objects.exists()


def test_the_same_file_twice_changes_nothing_the_second_time(
    clerk: User, second_clerk: User, tmp_path: Path
) -> None:
    path = system_a(clerk, tmp_path)
    wipe_registry()
    import_and_approve(path, clerk, second_clerk)
    rows = sorted(ExemptNumber.objects.values_list("number", "status", "effective_from", "effective_until"))
    events = AuditEvent.objects.filter(action="exempt_number.imported").count()
    out, _ = run_import(path, clerk)
    assert "4 identical (skipped)" in out and "nothing to change" in out
    assert not BulkChange.objects.filter(status="pending").exists()
    assert (
        sorted(ExemptNumber.objects.values_list("number", "status", "effective_from", "effective_until"))
        == rows
    )
    assert AuditEvent.objects.filter(action="exempt_number.imported").count() == events == 4


def test_conflicting_rows_are_reported_with_their_lines_and_skipped(
    clerk: User, second_clerk: User, tmp_path: Path
) -> None:
    verified(AttorneyFactory(bar_number="7654321"), clerk, NUMBERS[1])  # someone else holds it here
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER
        + f"{NUMBERS[0]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
        + f"{NUMBERS[1]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
    )
    out, err = run_import(path, clerk)
    assert f"conflict: line 3: {NUMBERS[1]} is verified here for another attorney" in err
    assert "1 conflicting (skipped), 1 to import" in out
    change = approve(BulkChange.objects.get(), second_clerk)
    assert change.result["imported"] == 1 and len(change.result["conflicts"]) == 1
    assert ExemptNumber.objects.get(number=NUMBERS[1]).attorney.bar_number == "7654321"


def test_strict_makes_a_conflict_an_error_and_nothing_changes(clerk: User, tmp_path: Path) -> None:
    verified(AttorneyFactory(bar_number="7654321"), clerk, NUMBERS[1])
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER
        + f"{NUMBERS[0]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
        + f"{NUMBERS[1]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
    )
    with pytest.raises(CommandError, match="1 invalid row"):
        run_import(path, clerk, "--strict")
    assert ExemptNumber.objects.count() == 1 and not BulkChange.objects.exists()


def test_any_bad_row_changes_nothing(clerk: User, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER
        + f"{NUMBERS[0]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
        + f"{NUMBERS[0]},Ann,NY,1234567,,,,,pending,,\n"
    )
    with pytest.raises(CommandError, match="1 invalid row"):
        run_import(path, clerk)
    assert not ExemptNumber.objects.exists() and not BulkChange.objects.exists()
    assert not Attorney.objects.exists()


def test_an_import_that_no_longer_applies_at_approval_changes_nothing(
    clerk: User, second_clerk: User, tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        HEADER
        + f"{NUMBERS[0]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
        + f"{NUMBERS[1]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"
    )
    change, report = bulk_import_propose(
        text=path.read_text(), fmt="csv", file_name="r.csv", actor=clerk, strict=True
    )
    assert change is not None and report.to_create == 2
    # Meanwhile another attorney's registration of the second number is verified here.
    verified(AttorneyFactory(bar_number="7654321"), clerk, NUMBERS[1])
    with pytest.raises(ImportInvalidError) as caught:
        approve(change, second_clerk)
    assert caught.value.extra["errors"][0].startswith("line 3:")
    assert ExemptNumber.objects.count() == 1
    change.refresh_from_db()
    assert change.status == "pending"


def test_the_dry_run_reports_and_creates_nothing(clerk: User, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(HEADER + f"{NUMBERS[0]},Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n")
    out, _ = run_import(path, clerk, "--dry-run")
    assert "1 to import" in out
    assert not ExemptNumber.objects.exists() and not BulkChange.objects.exists()


def test_system_a_into_system_b_leaves_every_number_of_a_exempt(
    clerk: User, second_clerk: User, tmp_path: Path
) -> None:
    path = system_a(clerk, tmp_path)
    a_rows = {(e.number, e.status) for e in ExemptNumber.objects.all()}
    wipe_registry()
    # System B already holds some of the same registrations, some of them differently.
    b_ann = ann()
    import_and_approve(_only(path, tmp_path, NUMBERS[0]), clerk, second_clerk)  # identical copy
    verified(b_ann, clerk, NUMBERS[1])  # same attorney, another window
    exempt_number_register(attorney=b_ann, number=NUMBERS[2], actor=b_ann.user)  # pending here
    verified(AttorneyFactory(bar_number="7654321"), clerk, NUMBERS[3])  # held by someone else here
    out, err = run_import(path, clerk)
    assert "1 identical (skipped), 2 conflicting (skipped), 0 to import, 1 pending here to verify" in out
    assert "line 3:" in err and "line 5:" in err
    approve(BulkChange.objects.get(status="pending"), second_clerk)
    now = timezone.now()
    assert all(is_privileged(number, now).privileged for number, status in a_rows if status == "verified")
    # Twice: nothing more.
    out, _ = run_import(path, clerk)
    assert "nothing to change" in out


def _only(path: Path, tmp_path: Path, number: str) -> Path:
    lines = path.read_text().splitlines(keepends=True)
    part = tmp_path / "part.csv"
    part.write_text(lines[0] + "".join(line for line in lines[1:] if number in line))
    return part


def test_an_import_that_drops_half_the_list_raises_the_alarm(
    clerk: User, second_clerk: User, tmp_path: Path
) -> None:
    """A vendor's upgrade re-imports the list and loses half of it (Orange County, 2015)."""
    path = system_a(clerk, tmp_path)
    registry_snapshot_take(day=date(2030, 3, 1))
    lines = path.read_text().splitlines(keepends=True)
    half = tmp_path / "half.csv"
    half.write_text("".join(lines[:3]))
    wipe_registry()
    import_and_approve(half, clerk, second_clerk)
    alarm = registry_snapshot_take(day=date(2030, 3, 2)).alarm
    assert alarm is not None and (alarm.previous_count, alarm.current_count) == (4, 2)
    assert alarm.unexplained_count == 2 and ListAlarm.objects.count() == 1
