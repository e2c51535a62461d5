"""verify_audit_chain when the checkpoint witness cannot be read: a clear error, not a traceback."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from django.core.management import CommandError, call_command

from apps.audit.management.commands import verify_audit_chain

pytestmark = pytest.mark.django_db


class _UnreachableWitness:
    def names(self, *, after: str = "") -> list[str]:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    def read(self, name: str) -> bytes:
        raise AssertionError("not reached")

    def put(self, name: str, data: bytes) -> None:
        raise AssertionError("not reached")


def test_an_unreachable_s3_witness_is_a_clear_command_error(monkeypatch: Any) -> None:
    monkeypatch.setattr(verify_audit_chain, "get_witness", lambda: _UnreachableWitness())
    with pytest.raises(CommandError, match="cannot read the checkpoint witness"):
        call_command("verify_audit_chain")
