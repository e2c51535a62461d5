"""Make, schedule and serve compliance reports (issue 11, section 8).

- ``compliance_report_generate``: one facility and period -> figures, PDF, CSV, signed manifest,
  stored, audited. Issued once: asking again returns the report already issued (see models.py).
- ``compliance_reports_schedule``: what beat runs; every facility's last finished half-year.
- ``report_file_read``: one file of a report for an auditor, its read audited in the same
  transaction, and its bytes checked against the hashes the row holds before they are served.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit import signing
from apps.audit.canonical import format_time
from apps.audit.services import record_event
from apps.common.errors import DomainError
from apps.compliance import bundle
from apps.compliance.figures import Period, compliance_figures
from apps.compliance.models import ComplianceReport, ReportStatus
from apps.compliance.render import render_csv, render_pdf
from apps.compliance.store import report_store
from apps.facilities.models import Facility

logger = logging.getLogger(__name__)
Progress = Callable[[str], None]

# The longest period one report may cover: a half-year is the schedule's; a year is allowed
# for a request by hand, and nothing longer (it would be a different kind of report).
MAX_PERIOD_DAYS = 366


class ReportInputError(DomainError):
    reason = "invalid_report_request"


class ReportIntegrityError(DomainError):
    """A stored file no longer matches the hash its report row holds: never served."""

    status_code = 409
    reason = "report_file_altered"
    default_message = "The stored file differs from the report's signed hash; it is not served."


class ReportNotReadyError(DomainError):
    status_code = 409
    reason = "report_not_ready"
    default_message = "The report has not been generated."


@dataclass(frozen=True)
class Part:
    name: str  # the bundle file it is, or "bundle" (a zip of the four)
    suffix: str
    content_type: str


PARTS = {
    "pdf": Part(bundle.PDF, "pdf", "application/pdf"),
    "csv": Part(bundle.CSV, "csv", "text/csv; charset=utf-8"),
    "manifest": Part(bundle.MANIFEST, "manifest.json", "application/json"),
    "signature": Part(bundle.SIGNATURE, "manifest.json.sig", "text/plain; charset=utf-8"),
    "bundle": Part("bundle", "zip", "application/zip"),
}


def period_parse(*, facility_code: str, start: str | date, end: str | date) -> Period:
    """The period asked for, or ReportInputError naming what is wrong (``field`` says which)."""
    facility = Facility.objects.filter(code=facility_code).first()
    if facility is None:
        raise ReportInputError(f"Unknown facility {facility_code!r}.", field="facility")
    start_date, end_date = _date(start, "from"), _date(end, "to")
    if end_date < start_date:
        raise ReportInputError("The period ends before it starts ('to' is before 'from').", field="to")
    if (end_date - start_date).days >= MAX_PERIOD_DAYS:
        raise ReportInputError(f"A report covers at most {MAX_PERIOD_DAYS} days.", field="to")
    return Period(facility=facility, start_date=start_date, end_date=end_date)


def _date(value: str | date, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReportInputError(f"{name!r} must be a date as YYYY-MM-DD, not {value!r}.", field=name) from None


def _claim(period: Period, actor: User | None) -> tuple[ComplianceReport, bool]:
    """The report row for ``period``, and whether this call is to build it: a new row, a failed
    build, or a build that lost its worker. An issued report, or one being built, is left alone."""
    key = {"facility": period.facility, "period_start": period.start_date, "period_end": period.end_date}
    now = timezone.now()
    try:
        with transaction.atomic():
            report = ComplianceReport.objects.select_for_update().filter(**key).first()
            if report is None:
                return ComplianceReport.objects.create(**key, started_at=now, generated_by=actor), True
            lost = report.started_at < now - timedelta(seconds=settings.EXPORT_BUILD_STALE_SECONDS)
            if report.status == ReportStatus.DONE or (report.status == ReportStatus.RUNNING and not lost):
                return report, False
            report.status, report.started_at, report.error, report.generated_by = (
                ReportStatus.RUNNING,
                now,
                "",
                actor,
            )
            report.save(update_fields=["status", "started_at", "error", "generated_by"])
            return report, True
    except IntegrityError:  # another process created it between our read and our insert
        return ComplianceReport.objects.get(**key), False


def compliance_report_generate(
    *, period: Period, actor: User | None, progress: Progress | None = None
) -> tuple[ComplianceReport, bool]:
    """Make the report of ``period`` unless it is already issued (or being made); returns
    (report, made now). ``actor`` None: the schedule. A failure marks the row failed (a later
    call builds it again) and is raised."""
    say = progress or (lambda _line: None)
    report, build = _claim(period, actor)
    if not build:
        say(
            f"report {report.pk} for {period.facility.code} {period.start_date}..{period.end_date}"
            f" is {report.status}"
        )
        return report, False
    try:
        _build(report, period, say)
    except Exception as exc:
        logger.exception("compliance report %s failed", report.pk)
        ComplianceReport.objects.filter(pk=report.pk, started_at=report.started_at).update(
            status=ReportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], progress=""
        )
        raise
    return report, True


def _step(report: ComplianceReport, say: Progress, text: str) -> None:
    ComplianceReport.objects.filter(pk=report.pk).update(progress=text)
    say(f"report {report.pk}: {text}")


def _build(report: ComplianceReport, period: Period, say: Progress) -> None:
    _step(report, say, "computing figures")
    figures = compliance_figures(period)
    generated_at = format_time(timezone.now()) or ""
    key_id = signing.key_id(signing.public_key_bytes())
    _step(report, say, "rendering PDF and CSV")
    files = {
        bundle.PDF: render_pdf(figures, generated_at=generated_at, key_id=key_id),
        bundle.CSV: render_csv(figures),
    }
    _step(report, say, "signing the manifest")
    manifest = bundle.manifest_build(figures=figures, files=files, generated_at=generated_at)
    files[bundle.MANIFEST] = manifest
    files[bundle.SIGNATURE] = bundle.manifest_sign(manifest)
    _step(report, say, "storing the files")
    store, folder = report_store(), _folder(report)
    for name, data in files.items():
        store.put(f"{folder}/{name}", data, content_type=_content_type(name))
    with transaction.atomic():
        updated = ComplianceReport.objects.filter(
            pk=report.pk, started_at=report.started_at, status=ReportStatus.RUNNING
        ).update(
            status=ReportStatus.DONE,
            progress="",
            generated_at=datetime.fromisoformat(generated_at),
            figures=figures,
            pdf_key=f"{folder}/{bundle.PDF}",
            pdf_sha256=bundle.sha256_hex(files[bundle.PDF]),
            pdf_bytes=len(files[bundle.PDF]),
            csv_key=f"{folder}/{bundle.CSV}",
            csv_sha256=bundle.sha256_hex(files[bundle.CSV]),
            csv_bytes=len(files[bundle.CSV]),
            manifest_key=f"{folder}/{bundle.MANIFEST}",
            manifest=manifest.decode(),
            signature=files[bundle.SIGNATURE].decode().strip(),
            key_id=key_id,
        )
        if not updated:
            raise RuntimeError("the report was taken over by another build")
        record_event(
            action="compliance_report.generated",
            actor=report.generated_by,
            target=report,
            facility_id=period.facility.pk,
            details={
                "trigger": "command" if report.generated_by_id else "schedule",
                "period": figures["period"],
                "pdf_sha256": bundle.sha256_hex(files[bundle.PDF]),
                "csv_sha256": bundle.sha256_hex(files[bundle.CSV]),
                "key_id": key_id,
            },
        )
    report.refresh_from_db()
    say(f"report {report.pk}: done (PDF {report.pdf_bytes} bytes, CSV {report.csv_bytes} bytes)")


def _folder(report: ComplianceReport) -> str:
    return (
        f"facility-{report.facility_id}/{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}-{report.pk}"
    )


def _content_type(name: str) -> str:
    return next(part.content_type for part in PARTS.values() if part.name == name)


# --- the schedule -------------------------------------------------------------------------------


def last_half_year(today: date) -> tuple[date, date]:
    """The last half-year finished before ``today``: Jan-Jun or Jul-Dec."""
    if today.month >= 7:
        return date(today.year, 1, 1), date(today.year, 6, 30)
    return date(today.year - 1, 7, 1), date(today.year - 1, 12, 31)


def compliance_reports_schedule(now: datetime | None = None) -> list[int]:
    """Beat: make every facility's report of its last finished half-year (in its own timezone)
    that is not made yet. Returns the ids made now: empty when all were already there, so a
    second run makes nothing. One facility's failure does not stop the others."""
    now = now or timezone.now()
    made = []
    for facility in Facility.objects.order_by("code"):
        today = now.astimezone(zoneinfo.ZoneInfo(facility.timezone)).date()
        start, end = last_half_year(today)
        issued = ComplianceReport.objects.filter(
            facility=facility, period_start=start, period_end=end, status=ReportStatus.DONE
        )
        if issued.exists():
            continue
        try:
            report, created = compliance_report_generate(
                period=Period(facility=facility, start_date=start, end_date=end), actor=None
            )
        except Exception:  # marked failed (and logged) by the build; the next run tries again
            logger.warning("compliance report of %s for %s..%s not made", facility.code, start, end)
            continue
        if created:
            made.append(report.pk)
    return made


# --- downloads ----------------------------------------------------------------------------------


def report_file_read(*, report: ComplianceReport, part: str, actor: User, via: str) -> tuple[bytes, str, str]:
    """(bytes, file name, content type) of one part of an issued report, after checking them
    against the row; the read is audited in the same transaction as it is served."""
    wanted = PARTS.get(part)
    if wanted is None:
        raise ReportInputError(f"Unknown part {part!r}: one of {', '.join(PARTS)}.", field="part")
    if report.status != ReportStatus.DONE:
        raise ReportNotReadyError(f"The report is {report.status}.")
    files = _files_checked(report, [wanted.name] if wanted.name != "bundle" else list(bundle.BUNDLE_FILES))
    data = files[wanted.name] if wanted.name != "bundle" else bundle.bundle_zip(files)
    stem = f"compliance-{report.facility.code}-{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}"
    name = f"{stem}.{wanted.suffix}"
    with transaction.atomic():
        record_event(
            action="compliance_report.downloaded",
            actor=actor,
            target=report,
            facility_id=report.facility_id,
            details={"part": part, "via": via, "sha256": bundle.sha256_hex(data), "bytes": len(data)},
        )
    return data, name, wanted.content_type


def _files_checked(report: ComplianceReport, names: list[str]) -> dict[str, bytes]:
    store, folder = report_store(), report.pdf_key.rsplit("/", 1)[0]
    expected = {
        bundle.PDF: report.pdf_sha256,
        bundle.CSV: report.csv_sha256,
        bundle.MANIFEST: bundle.sha256_hex(report.manifest.encode()),
        bundle.SIGNATURE: bundle.sha256_hex((report.signature + "\n").encode()),
    }
    files = {}
    for name in names:
        data = store.read(f"{folder}/{name}")
        if bundle.sha256_hex(data) != expected[name]:
            raise ReportIntegrityError(f"{name} of report {report.pk} differs from its signed hash.")
        files[name] = data
    return files
