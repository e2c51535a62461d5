"""Where a report's files are kept: the S3 bucket under ``COMPLIANCE_REPORT_PREFIX`` when the
recordings are on S3, else a local folder (``COMPLIANCE_REPORT_DIR``) on the embedded default.
The same choice the checkpoint witness makes (apps/audit/witness.py), for the same reasons.

Not the recordings' envelope-encrypted store: a report holds counts, no audio and no number, and
its integrity comes from the signed manifest, not from a data key. Its keys never match the
recordings' key pattern, so ``reconcile_storage`` does not take them for orphans. A key is
written once per report (a failed build writes the same keys again before anything is issued).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$")


class ReportStore(Protocol):
    def put(self, name: str, data: bytes, *, content_type: str) -> None: ...

    def read(self, name: str) -> bytes: ...


def _checked(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"malformed report file name {name!r}")
    return name


class LocalReportStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, name: str, data: bytes, *, content_type: str) -> None:
        path = self.root / _checked(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(data)
        partial.replace(path)

    def read(self, name: str) -> bytes:
        return (self.root / _checked(name)).read_bytes()


class S3ReportStore:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def put(self, name: str, data: bytes, *, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self.prefix + _checked(name), Body=data, ContentType=content_type
        )

    def read(self, name: str) -> bytes:
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + _checked(name))[
            "Body"
        ].read()
        return body


def report_store() -> ReportStore:
    if settings.RECORDINGS_STORAGE == "s3":
        from apps.common.s3 import s3_client

        return S3ReportStore(s3_client(), settings.S3_BUCKET, settings.COMPLIANCE_REPORT_PREFIX)
    return LocalReportStore(Path(settings.COMPLIANCE_REPORT_DIR))
