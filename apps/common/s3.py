"""The one S3 client factory (recordings storage, the audit checkpoint witness)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# What an S3 call may raise (the endpoint unreachable, a refused or failed request), for callers
# that must catch it without importing botocore themselves (only the storage modules do).
S3_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)


def s3_client() -> S3Client:
    """A boto3 S3 client with timeouts and bounded retries, so a slow S3 fails fast."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        connect_timeout=settings.S3_CONNECT_TIMEOUT,
        read_timeout=settings.S3_READ_TIMEOUT,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        # RGW does not store the newer flexible checksums; we keep our own SHA-256.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=32,
    )
    return boto3.client(
        "s3", endpoint_url=settings.S3_ENDPOINT_URL, region_name=settings.S3_REGION, config=config
    )
