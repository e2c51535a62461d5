"""Copying an imported history's recordings (issue 14, section 1): through the storage gate, so
a privileged call's recording is never opened, a number verified since the import is refused,
a pending claim's audio lands in quarantine, a manifest's checksum is enforced, and a second
run copies nothing twice. The vendor's store is the real S3 server (or a folder, embedded)."""

from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.common.s3 import s3_client
from apps.history.copying import Source, history_recordings_copy, manifest_apply
from apps.history.models import ImportedCall, RecordingFate
from apps.recordings.models import Recording
from apps.registry.models import Attorney
from tests.actors import Cast
from tests.history.test_import_history import ATTORNEY, CLAIMED, ORDINARY, _file, _row, _run, _verified

pytestmark = pytest.mark.django_db

AUDIO = b"RIFF" + bytes(range(256)) * 16
LATER = "+12125550177"
Imported = tuple[Source, dict[str, str]]  # verified after the import, before the copy


def _vendor_store(tmp_path: Path, refs: list[str]) -> tuple[Source, dict[str, str]]:
    """Put each ref's audio where the vendor kept it: an S3 bucket under tests, a folder embedded."""
    names: dict[str, str] = {}
    if settings.RECORDINGS_STORAGE == "s3":
        bucket = f"cp-vendor-{uuid.uuid4().hex[:10]}"
        client = s3_client()
        client.create_bucket(Bucket=bucket)
        for ref in refs:
            client.put_object(Bucket=bucket, Key=f"{ref}.wav", Body=AUDIO)
            names[ref] = f"s3://{bucket}/{ref}.wav"
        return Source(), names
    root = tmp_path / "vendor"
    root.mkdir()
    for ref in refs:
        (root / f"{ref}.wav").write_bytes(AUDIO)
        names[ref] = f"{ref}.wav"
    return Source(root=root), names


@pytest.fixture
def imported(
    cast: Cast, registry: None, attorney: Attorney, clerk: User, storage: object, tmp_path: Path
) -> tuple[Source, dict[str, str]]:
    source, names = _vendor_store(tmp_path, ["ord", "claim", "later"])
    rows = [
        _row("ord", ORDINARY),
        _row("claim", CLAIMED, booking="B-CLAIM"),
        _row("later", LATER),
        _row("priv", ATTORNEY),  # privileged on arrival: its object does not even exist
    ]
    path = _file(tmp_path, rows)
    text = path.read_text()
    for ref in ["ord", "claim", "later"]:
        text = text.replace(f"s3://vendor/{ref}.wav", names[ref])
    path.write_text(text)
    _run(cast, path)
    _verified(attorney, clerk, LATER)
    return source, names


def test_the_copy_goes_through_the_gate(cast: Cast, imported: tuple[Source, dict[str, str]]) -> None:
    source, _ = imported
    figures = history_recordings_copy(actor=cast.admin.user, source=source)
    fates = dict(ImportedCall.objects.values_list("call__switch_call_id", "recording_fate"))
    assert fates == {
        "hist-ord": RecordingFate.COPIED,
        "hist-claim": RecordingFate.COPIED_TO_QUARANTINE,
        "hist-later": RecordingFate.REFUSED,
        "hist-priv": RecordingFate.NOT_COPIED,
    }
    assert (figures.copied, figures.quarantined, figures.refused, figures.failed) == (1, 1, 1, 0)
    stored = Recording.objects.get(call__switch_call_id="hist-ord")
    assert stored.sha256 == hashlib.sha256(AUDIO).hexdigest()
    assert Recording.objects.get(call__switch_call_id="hist-claim").state == "quarantined"
    assert not Recording.objects.filter(call__switch_call_id__in=["hist-later", "hist-priv"]).exists()
    assert AuditEvent.objects.filter(action="recording.upload_refused").exists()
    assert AuditEvent.objects.filter(action="history.recordings_copied").count() == 1

    again = history_recordings_copy(actor=cast.admin.user, source=source)
    assert again.done == 0 and Recording.objects.count() == 2


def test_a_manifest_checksum_that_does_not_match_stores_nothing(
    cast: Cast, imported: tuple[Source, dict[str, str]], tmp_path: Path
) -> None:
    source, names = imported
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"recording_ref,size,sha256\n{names['ord']},{len(AUDIO)},{'0' * 64}\n")
    assert manifest_apply(manifest) == 1
    history_recordings_copy(actor=cast.admin.user, source=source)
    row = ImportedCall.objects.get(call__switch_call_id="hist-ord")
    assert row.recording_fate == RecordingFate.FAILED and "checksum" in row.copy_error
    assert not Recording.objects.filter(call=row.call).exists()


def test_a_missing_object_fails_that_row_only(cast: Cast, imported: tuple[Source, dict[str, str]]) -> None:
    source, _ = imported
    ImportedCall.objects.filter(call__switch_call_id="hist-ord").update(
        recording_ref="nowhere/../../etc/passwd"
    )
    history_recordings_copy(actor=cast.admin.user, source=source)
    row = ImportedCall.objects.get(call__switch_call_id="hist-ord")
    assert row.recording_fate == RecordingFate.FAILED and row.copy_error
    assert (
        ImportedCall.objects.get(call__switch_call_id="hist-claim").recording_fate
        == RecordingFate.COPIED_TO_QUARANTINE
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_parallel_workers_copy_each_recording_once(
    cast: Cast, imported: tuple[Source, dict[str, str]]
) -> None:
    source, _ = imported
    history_recordings_copy(actor=cast.admin.user, source=source, workers=3)
    assert Recording.objects.count() == 2
    assert not ImportedCall.objects.filter(
        recording_fate__in=[RecordingFate.TO_COPY, RecordingFate.TO_QUARANTINE]
    ).exists()


def test_the_command_checks_its_input(
    cast: Cast, imported: tuple[Source, dict[str, str]], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("recording_ref,size,sha256\nx,notanumber,abc\n")
    with pytest.raises(CommandError, match="line 2"):
        call_command("copy_history_recordings", "--as", cast.admin.user.username, "--manifest", str(bad))
    with pytest.raises(CommandError, match="no import 999 of yours"):
        call_command("copy_history_recordings", "--as", cast.admin.user.username, "--import", "999")
    with pytest.raises(CommandError, match="may not run"):
        call_command("copy_history_recordings", "--as", cast.investigator.user.username)
    out = io.StringIO()
    source, _ = imported
    args = ["--source-dir", str(source.root)] if source.root else []
    call_command(
        "copy_history_recordings",
        "--as",
        cast.admin.user.username,
        "--workers",
        "1",
        *args,
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "copied 1, quarantined 1, refused 1, failed 0" in out.getvalue()
