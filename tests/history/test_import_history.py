"""``import_history`` (issue 14, section 1): a vendor's call history arrives with the registry
applied retroactively, bad rows are rejected by line number, a re-run changes nothing, and the
report is signed. Written as the attacks on it: a protected number in another format, a
facility the operator does not run, a row that rewrites an imported call."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.calls.models import Call
from apps.facilities.models import Facility
from apps.history.columns import COLUMNS
from apps.history.generator import Shape, write_history
from apps.history.loader import report_signature_valid
from apps.history.models import HistoryImport, ImportedCall, RecordingFate
from apps.inmates.models import Inmate
from apps.registry.models import Attorney, ExemptNumber
from apps.registry.services import exempt_number_register
from tests.actors import Cast

pytestmark = pytest.mark.django_db

ATTORNEY = "+12125550101"  # verified today, global
HOME_ONLY = "+12125550102"  # verified today, for the home facility only
REVOKED = "+12125550103"  # was verified, revoked: recorded again
CLAIMED = "+12125550104"  # an inmate's claim is pending at home
ORDINARY = "+17185550199"


def _verified(attorney: Attorney, clerk: User, number: str, facility: Facility | None = None) -> ExemptNumber:
    exempt = exempt_number_register(attorney=attorney, number=number, facility=facility, actor=attorney.user)
    return exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0]


def _row(
    call_id: str, number: str, *, facility: str = "home", booking: str = "B-1", ref: str = "r", **kw: str
) -> list[str]:
    values = {
        "vendor_call_id": call_id,
        "facility": facility,
        "booking_number": booking,
        "last_name": "Doe",
        "first_name": "Jan",
        "account_number": "A-1",
        "dialed_number": number,
        "started_at": "2024-03-01T14:05:00-05:00",
        "duration_seconds": "300",
        "recording_ref": ref and f"s3://vendor/{call_id}.wav",
        **kw,
    }
    return [values[c] for c in COLUMNS]


def _file(tmp_path: Path, rows: list[list[str]], name: str = "history.csv") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _run(cast: Cast, path: Path, *, batch: int = 3) -> tuple[dict[str, object], Path]:
    out = io.StringIO()
    call_command(
        "import_history",
        "--as",
        cast.admin.user.username,
        str(path),
        "--batch",
        str(batch),
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue()), path.with_suffix(".rejects.csv")


def _call(call_id: str, facility: Facility) -> Call:
    return Call.objects.get(facility=facility, switch_call_id=f"hist-{call_id}")


def test_protected_numbers_arrive_privileged_in_any_format_and_their_recordings_are_not_copied(
    cast: Cast, registry: None, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        [
            _row("c1", "(212) 555-0101"),  # verified, global, national format
            _row("c2", "212.555.0102"),  # verified for home
            _row("c3", "+1 212 555 0103"),  # revoked: recorded again
            _row("c4", "1-212-555-0104", booking="B-CLAIM"),  # pending claim: quarantine on copy
            _row("c5", ORDINARY),
            _row("c6", "+12125550101", ref=""),  # privileged, no recording
        ],
    )
    body, _ = _run(cast, path)
    home = cast.facility
    assert _call("c1", home).privileged and _call("c1", home).reason == "verified_attorney_number"
    assert _call("c2", home).privileged
    assert not _call("c3", home).privileged and _call("c3", home).reason == "not_exempt"
    assert not _call("c4", home).privileged and _call("c4", home).reason == "pending_inmate_claim"
    assert not _call("c5", home).privileged
    fates = dict(ImportedCall.objects.values_list("call__switch_call_id", "recording_fate"))
    assert fates == {
        "hist-c1": RecordingFate.NOT_COPIED,
        "hist-c2": RecordingFate.NOT_COPIED,
        "hist-c3": RecordingFate.TO_COPY,
        "hist-c4": RecordingFate.TO_QUARANTINE,
        "hist-c5": RecordingFate.TO_COPY,
        "hist-c6": RecordingFate.NONE,
    }
    report = body["report"]
    assert isinstance(report, dict)
    assert report["figures"] == {
        "rows": 6,
        "loaded": 6,
        "skipped_identical": 0,
        "privileged": 3,
        "quarantined_on_arrival": 1,
        "recordings_not_copied": 2,
        "recordings_to_copy": 2,
        "recordings_to_quarantine": 1,
        "rejects": 0,
        "batches": 2,
    }
    listed = list(csv.reader(path.with_suffix(".not-copied.csv").open()))
    assert [r[1] for r in listed[1:]] == ["c1", "c2"]
    assert "212" not in path.with_suffix(".not-copied.csv").read_text()  # refs only, no numbers


def test_a_number_verified_for_one_facility_protects_only_that_facility(
    cast: Cast, registry: None, tmp_path: Path
) -> None:
    from guardian.shortcuts import assign_perm

    assign_perm("facilities.manage_facility", cast.admin.user, cast.other_facility)
    _run(cast, _file(tmp_path, [_row("h", HOME_ONLY), _row("o", HOME_ONLY, facility="other")]))
    assert _call("h", cast.facility).privileged
    assert not _call("o", cast.other_facility).privileged


def test_bad_rows_are_rejected_by_line_number_and_the_good_ones_load(
    cast: Cast, registry: None, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        [
            _row("ok1", ORDINARY),
            _row("bad-time", ORDINARY, started_at="yesterday"),
            _row("no-zone", ORDINARY, started_at="2024-03-01T14:05:00"),
            _row("bad-number", "not a number"),
            _row("far", ORDINARY, facility="other"),  # not administered by the operator
            _row("neg", ORDINARY, duration_seconds="-5"),
            _row("bad id!", ORDINARY),
            _row("ok2", ATTORNEY),
        ],
    )
    body, rejects = _run(cast, path)
    lines = {int(r[0]): r[1] for r in list(csv.reader(rejects.open()))[1:]}
    assert sorted(lines) == [3, 4, 5, 6, 7, 8]
    assert lines[6] == "unknown facility, or one you do not administer"
    assert "ISO 8601" in lines[3] and "UTC offset" in lines[4]
    assert Call.objects.filter(switch_call_id__startswith="hist-").count() == 2
    report = body["report"]
    assert isinstance(report, dict) and report["figures"]["rejects"] == 6  # type: ignore[index]
    assert not Call.objects.filter(facility=cast.other_facility).exists()


def test_a_rerun_changes_nothing_and_says_so(cast: Cast, registry: None, tmp_path: Path) -> None:
    path = _file(
        tmp_path, [_row(f"c{i}", ORDINARY if i % 2 else ATTORNEY, booking=f"B-{i}") for i in range(7)]
    )
    _run(cast, path)
    counts = (Call.objects.count(), Inmate.objects.count(), ImportedCall.objects.count())
    body, _ = _run(cast, path)
    assert (Call.objects.count(), Inmate.objects.count(), ImportedCall.objects.count()) == counts
    report = body["report"]
    assert isinstance(report, dict)
    assert report["figures"]["loaded"] == 0 and report["figures"]["skipped_identical"] == 7  # type: ignore[index]


def test_a_row_that_rewrites_an_imported_call_is_rejected_not_dropped(
    cast: Cast, registry: None, tmp_path: Path
) -> None:
    _run(cast, _file(tmp_path, [_row("c1", ORDINARY)], "first.csv"))
    body, rejects = _run(
        cast,
        _file(tmp_path, [_row("c1", ORDINARY, duration_seconds="999"), _row("c2", ORDINARY)], "second.csv"),
    )
    assert _call("c1", cast.facility).duration_seconds == 300
    assert [r[0] for r in list(csv.reader(rejects.open()))[1:]] == ["2"]
    report = body["report"]
    assert isinstance(report, dict) and report["figures"]["loaded"] == 1  # type: ignore[index]


def test_one_audit_event_per_batch_with_the_files_hash_and_no_numbers(
    cast: Cast, registry: None, tmp_path: Path
) -> None:
    path = _file(tmp_path, [_row(f"c{i}", ATTORNEY, booking=f"B-{i}") for i in range(7)])
    body, _ = _run(cast, path, batch=3)
    batches = AuditEvent.objects.filter(action="history.batch_imported").order_by("id")
    assert [(e.details["first_line"], e.details["last_line"]) for e in batches] == [(2, 4), (5, 7), (8, 8)]
    trail = json.dumps(list(AuditEvent.objects.values_list("details", flat=True)))
    assert "5550101" not in trail
    finished = AuditEvent.objects.get(action="history.import_finished")
    report = body["report"]
    assert isinstance(report, dict) and finished.details["file_sha256"] == report["file_sha256"]
    import hashlib

    assert report["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_report_is_signed_and_a_changed_report_fails(cast: Cast, registry: None, tmp_path: Path) -> None:
    _run(cast, _file(tmp_path, [_row("c1", ATTORNEY)]))
    run = HistoryImport.objects.get()
    assert report_signature_valid(run)
    out = io.StringIO()
    call_command("import_history", "--as", cast.admin.user.username, "--verify", str(run.pk), stdout=out)
    assert "verifies" in out.getvalue()
    run.report["figures"]["privileged"] = 0
    run.save(update_fields=["report"])
    with pytest.raises(CommandError, match="does NOT verify"):
        call_command("import_history", "--as", cast.admin.user.username, "--verify", str(run.pk))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"vendor_call_id,facility\n", "missing columns"),
        (",".join([*COLUMNS, "ssn"]).encode() + b"\n", "unknown columns: ssn"),
        (",".join(COLUMNS).encode() + b"\n\xff\xfe,bad\n", "can"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_clear_command_error(
    cast: Cast, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        _run(cast, path)
    assert HistoryImport.objects.get().status == "failed"


def test_only_an_administrator_imports(cast: Cast, tmp_path: Path) -> None:
    path = _file(tmp_path, [_row("c1", ORDINARY)])
    with pytest.raises(CommandError, match="may not run this command"):
        call_command("import_history", "--as", cast.investigator.user.username, str(path))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_history", "--as", cast.admin.user.username, str(tmp_path / "missing.csv"))


def test_a_generated_history_imports_with_counts_that_add_up(
    cast: Cast, registry: None, tmp_path: Path
) -> None:
    path = tmp_path / "generated.csv"
    with path.open("w", newline="") as out:
        write_history(
            out,
            Shape(
                rows=3000,
                facilities=["home"],
                protected_numbers=[ATTORNEY, HOME_ONLY],
                start=datetime(2023, 1, 1, tzinfo=UTC),
                bad_rows=10,
            ),
        )
    body, _ = _run(cast, path, batch=1000)
    report = body["report"]
    assert isinstance(report, dict)
    f = report["figures"]
    assert f["rows"] == 3000 and f["rejects"] == 10
    assert f["loaded"] + f["skipped_identical"] + f["rejects"] == f["rows"]
    assert (
        f["privileged"]
        == Call.objects.filter(switch_call_id__startswith="hist-", privileged=True).count()
        > 0
    )
    # No privileged call's recording is left to copy.
    assert not ImportedCall.objects.filter(
        call__privileged=True, recording_fate__in=[RecordingFate.TO_COPY, RecordingFate.TO_QUARANTINE]
    ).exists()
    assert (
        f["recordings_not_copied"]
        == ImportedCall.objects.filter(recording_fate=RecordingFate.NOT_COPIED).count()
    )


@override_settings()
def test_the_generator_command_needs_facilities(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no facilities"):
        call_command("generate_history", str(tmp_path / "x.csv"), "--rows", "10")
