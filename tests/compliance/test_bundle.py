"""The report's files: the PDF reads back with the facility and its figures, the CSV states the
same rows, and the offline verification passes on the bundle and fails on any flipped byte."""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from apps.audit import signing
from apps.compliance import bundle
from apps.compliance.figures import figure_rows
from apps.compliance.models import ComplianceReport
from apps.compliance.services import compliance_report_generate, period_parse, report_file_read
from tests.compliance.conftest import World

pytestmark = pytest.mark.django_db


def _report(world: World) -> ComplianceReport:
    period = period_parse(facility_code="home", start="2026-01-01", end="2026-06-30")
    report, made = compliance_report_generate(period=period, actor=world.cast.auditor.user)
    assert made
    return report


def _bundle(report: ComplianceReport, world: World, tmp_path: Path) -> Path:
    data, name, _ = report_file_read(report=report, part="bundle", actor=world.cast.auditor.user, via="test")
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _verify(path: Path) -> str:
    out = StringIO()
    call_command("verify_compliance_report", str(path), "--public-key", signing.public_key_b64(), stdout=out)
    return out.getvalue()


def test_the_pdf_opens_and_states_the_facility_and_its_figures(world: World) -> None:
    report = _report(world)
    data, name, content_type = report_file_read(
        report=report, part="pdf", actor=world.cast.auditor.user, via="t"
    )
    assert content_type == "application/pdf" and name == "compliance-home-20260101-20260630.pdf"
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3  # title, figures, chart
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert world.facility.name in text
    assert "2026-01-01 to 2026-06-30" in text
    assert "exempted at setup" in text and "refusals at the gate" in text
    assert reader.metadata is not None and "home" in (reader.metadata.title or "")


def test_the_csv_states_exactly_the_signed_figures(world: World) -> None:
    report = _report(world)
    data, _, _ = report_file_read(report=report, part="csv", actor=world.cast.auditor.user, via="t")
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["section", "item", "value"]
    assert [tuple(row) for row in rows[1:]] == figure_rows(report.figures)
    assert ["Calls", "exempted at setup", "2"] in rows
    assert ["Refusals at the gate", "total", "1"] in rows


def test_the_bundle_verifies_offline_as_a_zip_and_as_a_folder(world: World, tmp_path: Path) -> None:
    path = _bundle(_report(world), world, tmp_path)
    assert "compliance report OK: home 2026-01-01..2026-06-30" in _verify(path)
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    assert "OK" in _verify(folder)


@pytest.mark.parametrize("name", [bundle.PDF, bundle.CSV, bundle.MANIFEST])
def test_one_flipped_byte_fails_the_verification(world: World, tmp_path: Path, name: str) -> None:
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(_bundle(_report(world), world, tmp_path)) as archive:
        archive.extractall(folder)
    data = bytearray((folder / name).read_bytes())
    middle = len(data) // 2
    data[middle] ^= 0x01
    (folder / name).write_bytes(bytes(data))

    with pytest.raises(CommandError) as failure:
        _verify(folder)

    assert failure.value.returncode == 1
    assert "compliance report INVALID" in str(failure.value)
    assert name in str(failure.value)


def test_a_bundle_re_signed_with_another_key_is_not_trusted(world: World, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = tmp_path / "bundle"
    with zipfile.ZipFile(_bundle(_report(world), world, tmp_path)) as archive:
        archive.extractall(folder)
    forger = Ed25519PrivateKey.generate()
    manifest = (
        (folder / bundle.MANIFEST).read_bytes().replace(b'"exempted_at_setup": 2', b'"exempted_at_setup": 0')
    )
    (folder / bundle.MANIFEST).write_bytes(manifest)
    (folder / bundle.SIGNATURE).write_text(base64.b64encode(forger.sign(manifest)).decode())

    with pytest.raises(CommandError) as failure:
        _verify(folder)

    assert "signature invalid" in str(failure.value)


def test_verification_needs_a_trusted_key(world: World, tmp_path: Path, settings: object) -> None:
    path = _bundle(_report(world), world, tmp_path)
    settings.AUDIT_TRUSTED_PUBLIC_KEYS = []  # type: ignore[attr-defined]
    with pytest.raises(CommandError) as failure:
        call_command("verify_compliance_report", str(path))
    assert failure.value.returncode == 2
    assert "no trusted public key" in str(failure.value)


def test_an_extra_file_in_the_bundle_fails(world: World, tmp_path: Path) -> None:
    path = _bundle(_report(world), world, tmp_path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", "unsigned")
    with pytest.raises(CommandError, match="notes.txt: not part of a bundle"):
        _verify(path)
