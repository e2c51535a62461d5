"""Bulk changes need two clerks: imports and a clerk's revocations past the daily limit."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.roles import REGISTRY_CLERK, ensure_role_groups
from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.registry.bulk import (
    BulkChangeChangedError,
    SameClerkError,
    bulk_change_approve,
    bulk_change_digest,
    bulk_change_reject,
    bulk_import_propose,
)
from apps.registry.bulk_limits import SecondClerkRequiredError
from apps.registry.models import Attorney, BulkChange, ExemptNumber
from apps.registry.portability import FIELDS
from apps.registry.services import exempt_number_register, exempt_number_revoke
from apps.registry.snapshots import registry_snapshot_take
from tests.factories import AttorneyFactory, UserFactory, token_for

pytestmark = pytest.mark.django_db

FILE = ",".join(FIELDS) + "\n+12125550101,Ann,NY,1234567,,,,,verified,2026-01-01T00:00:00+00:00,\n"


@pytest.fixture
def second_clerk(db: None) -> User:
    user = UserFactory(username="clerk-2")
    user.groups.add(ensure_role_groups()[REGISTRY_CLERK])
    return user


@pytest.fixture
def limit_two(settings: Any) -> None:
    settings.REGISTRY_BULK_REVOCATIONS_PER_DAY = 2


def verified_numbers(attorney: Attorney, clerk: User, count: int) -> list[ExemptNumber]:
    out = []
    for i in range(count):
        exempt = exempt_number_register(attorney=attorney, number=f"+1212555{i:04d}", actor=attorney.user)
        out.append(exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)[0])
    return out


def approve(change_id: int, clerk: User) -> BulkChange:
    """Approve as reviewed: with the digest the change has now (what a listing shows)."""
    digest = bulk_change_digest(BulkChange.objects.get(pk=change_id))
    return bulk_change_approve(change_id=change_id, clerk=clerk, digest=digest)


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


# --- imports


def test_an_import_takes_effect_only_when_a_second_clerk_approves(clerk: User, second_clerk: User) -> None:
    change, _ = bulk_import_propose(text=FILE, fmt="csv", file_name="f.csv", actor=clerk)
    assert change is not None and change.status == "pending" and not ExemptNumber.objects.exists()
    with pytest.raises(SameClerkError):
        approve(change.pk, clerk)
    assert not ExemptNumber.objects.exists()
    change = approve(change.pk, second_clerk)
    assert change.status == "applied" and change.decided_by == second_clerk
    exempt = ExemptNumber.objects.get()
    assert exempt.status == "verified" and exempt.verified_by == clerk
    event = AuditEvent.objects.get(action="exempt_number.imported")
    assert event.details["bulk_change"] == change.pk
    assert AuditEvent.objects.filter(action="registry.bulk_change_approved", actor=second_clerk).exists()


def test_the_database_refuses_an_approval_by_the_proposer(clerk: User) -> None:
    change, _ = bulk_import_propose(text=FILE, fmt="csv", file_name="f.csv", actor=clerk)
    assert change is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        BulkChange.objects.filter(pk=change.pk).update(
            status="applied", decided_by=clerk, decided_at=timezone.now()
        )


def test_a_rejected_import_changes_nothing(clerk: User, second_clerk: User) -> None:
    change, _ = bulk_import_propose(text=FILE, fmt="csv", file_name="f.csv", actor=clerk)
    assert change is not None
    bulk_change_reject(change_id=change.pk, clerk=second_clerk, reason="not our file")
    assert not ExemptNumber.objects.exists()
    with pytest.raises(Exception, match="already rejected"):
        approve(change.pk, second_clerk)


def test_only_registry_clerks_decide(clerk: User) -> None:
    change, _ = bulk_import_propose(text=FILE, fmt="csv", file_name="f.csv", actor=clerk)
    assert change is not None
    with pytest.raises(Exception, match="Only registry clerks"):
        approve(change.pk, UserFactory(username="stranger"))


def test_the_command_lists_approves_and_refuses_the_proposer(clerk: User, second_clerk: User) -> None:
    change, _ = bulk_import_propose(text=FILE, fmt="csv", file_name="f.csv", actor=clerk)
    assert change is not None
    out = io.StringIO()
    call_command("registry_bulk", "list", "--as", second_clerk.username, stdout=out)
    digest = bulk_change_digest(change)
    assert f"{change.pk} import by clerk" in out.getvalue() and f"digest {digest}" in out.getvalue()
    with pytest.raises(CommandError, match="other than its proposer"):
        call_command("registry_bulk", "approve", str(change.pk), "--digest", digest, "--as", clerk.username)
    with pytest.raises(CommandError, match="needs --digest"):
        call_command("registry_bulk", "approve", str(change.pk), "--as", second_clerk.username)
    with pytest.raises(CommandError, match="no longer the one you reviewed"):
        call_command(
            "registry_bulk", "approve", str(change.pk), "--digest", "0" * 64, "--as", second_clerk.username
        )
    assert not ExemptNumber.objects.exists()
    out = io.StringIO()
    call_command(
        "registry_bulk",
        "approve",
        str(change.pk),
        "--digest",
        digest,
        "--as",
        second_clerk.username,
        stdout=out,
    )
    assert "applied" in out.getvalue() and ExemptNumber.objects.filter(status="verified").count() == 1


# --- revocations


def test_revocations_past_the_daily_limit_wait_for_a_second_clerk(
    attorney: Attorney, clerk: User, second_clerk: User, limit_two: None
) -> None:
    numbers = verified_numbers(attorney, clerk, 4)
    registry_snapshot_take(day=date(2030, 3, 1))
    for exempt in numbers[:2]:
        exempt_number_revoke(exempt_number_id=exempt.pk, actor=clerk)
    with pytest.raises(SecondClerkRequiredError) as third:
        exempt_number_revoke(exempt_number_id=numbers[2].pk, actor=clerk)
    with pytest.raises(SecondClerkRequiredError) as fourth:
        exempt_number_revoke(exempt_number_id=numbers[3].pk, actor=clerk)
    batch_id = third.value.extra["bulk_change_id"]
    assert fourth.value.extra["bulk_change_id"] == batch_id and third.value.status_code == 202
    assert ExemptNumber.objects.filter(status="verified").count() == 2
    batch = BulkChange.objects.get(pk=batch_id)
    assert batch.payload["registration_ids"] == [numbers[2].pk, numbers[3].pk]
    with pytest.raises(SameClerkError):
        approve(batch_id, clerk)
    batch = approve(batch_id, second_clerk)
    assert batch.result == {"revoked": 2, "skipped": 0}
    assert not ExemptNumber.objects.filter(status="verified").exists()
    approved = AuditEvent.objects.filter(action="exempt_number.revoked", details__approved_by="clerk-2")
    assert approved.count() == 2 and all(e.actor == clerk for e in approved)
    # Every drop is an audited revocation: the list guard stays quiet.
    assert registry_snapshot_take(day=date(2030, 3, 2)).alarm is None


def test_an_approval_applies_only_the_batch_the_approver_saw(
    attorney: Attorney, clerk: User, second_clerk: User, limit_two: None
) -> None:
    numbers = verified_numbers(attorney, clerk, 4)
    for exempt in numbers[:2]:
        exempt_number_revoke(exempt_number_id=exempt.pk, actor=clerk)
    with pytest.raises(SecondClerkRequiredError) as queued:
        exempt_number_revoke(exempt_number_id=numbers[2].pk, actor=clerk)
    batch_id = queued.value.extra["bulk_change_id"]
    seen = bulk_change_digest(BulkChange.objects.get(pk=batch_id))
    with pytest.raises(SecondClerkRequiredError):  # queued after the approver looked
        exempt_number_revoke(exempt_number_id=numbers[3].pk, actor=clerk)
    for digest in (seen, None):
        with pytest.raises(BulkChangeChangedError) as changed:
            bulk_change_approve(change_id=batch_id, clerk=second_clerk, digest=digest)
        assert changed.value.status_code == 409 and changed.value.reason == "bulk_change_changed"
        assert "digest" not in changed.value.extra  # the approver must look again
    batch = BulkChange.objects.get(pk=batch_id)
    assert batch.status == "pending"
    assert ExemptNumber.objects.filter(pk__in=[numbers[2].pk, numbers[3].pk], status="verified").count() == 2
    # Looked at again, the grown batch is approved as it now is.
    assert approve(batch_id, second_clerk).result == {"revoked": 2, "skipped": 0}


def test_an_attorney_revoking_their_own_numbers_is_never_limited(
    attorney: Attorney, clerk: User, limit_two: None
) -> None:
    for exempt in verified_numbers(attorney, clerk, 3):
        exempt_number_revoke(exempt_number_id=exempt.pk, actor=attorney.user)
    assert ExemptNumber.objects.filter(status="revoked").count() == 3 and not BulkChange.objects.exists()


def test_the_limit_is_per_clerk(attorney: Attorney, clerk: User, second_clerk: User, limit_two: None) -> None:
    numbers = verified_numbers(attorney, clerk, 4)
    for exempt in numbers[:2]:
        exempt_number_revoke(exempt_number_id=exempt.pk, actor=clerk)
    for exempt in numbers[2:]:
        exempt_number_revoke(exempt_number_id=exempt.pk, actor=second_clerk)
    assert ExemptNumber.objects.filter(status="revoked").count() == 4


# --- the API


def test_the_api_revokes_queues_lists_and_approves(
    attorney: Attorney, clerk: User, second_clerk: User, limit_two: None
) -> None:
    numbers = verified_numbers(attorney, clerk, 3)
    first = client_for(clerk)
    for exempt in numbers[:2]:
        response = first.post(f"/api/v1/registry/numbers/{exempt.pk}/revoke/")
        assert response.status_code == 200 and response.json()["status"] == "revoked"
    response = first.post(f"/api/v1/registry/numbers/{numbers[2].pk}/revoke/")
    assert response.status_code == 202 and response.json()["reason"] == "second_clerk_required"
    batch_id = response.json()["bulk_change_id"]
    second = client_for(second_clerk)
    listed = second.get("/api/v1/registry/bulk-changes/").json()["results"]
    assert [c["id"] for c in listed] == [batch_id] and listed[0]["registration_ids"] == [numbers[2].pk]
    seen = {"digest": listed[0]["digest"]}
    url = f"/api/v1/registry/bulk-changes/{batch_id}/approve/"
    assert first.post(url, seen, format="json").status_code == 403
    assert second.post(url, {}, format="json").status_code == 400  # the digest is required
    response = second.post(url, {"digest": "0" * 64}, format="json")
    assert response.status_code == 409 and response.json()["reason"] == "bulk_change_changed"
    response = second.post(url, seen, format="json")
    assert response.status_code == 200 and response.json()["status"] == "applied"
    numbers[2].refresh_from_db()
    assert numbers[2].status == "revoked"


def test_the_api_rejects_and_refuses_non_clerks(clerk: User, second_clerk: User) -> None:
    change, _ = bulk_import_propose(text=FILE, fmt="csv", file_name="f.csv", actor=clerk)
    assert change is not None
    stranger = client_for(UserFactory(username="stranger"))
    attorney_client = client_for(AttorneyFactory().user)
    for client in (stranger, attorney_client, APIClient()):
        assert client.get("/api/v1/registry/bulk-changes/").status_code in {401, 403}
        assert client.post(f"/api/v1/registry/bulk-changes/{change.pk}/approve/").status_code in {401, 403}
    second = client_for(second_clerk)
    assert (
        second.post(f"/api/v1/registry/bulk-changes/{change.pk}/reject/", {}, format="json").status_code
        == 400
    )
    response = second.post(
        f"/api/v1/registry/bulk-changes/{change.pk}/reject/", {"reason": "no"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    response = second.post(
        "/api/v1/registry/bulk-changes/999999/approve/", {"digest": "0" * 64}, format="json"
    )
    assert response.status_code == 404
    assert not ExemptNumber.objects.exists()
    # An unknown id is audited like every scoped fetch.
    denied = AuditEvent.objects.get(action="access.denied", target_id="999999", actor=second_clerk)
    assert denied.details == {"attempted": "bulk_change.approve", "exists": False}


def test_revoking_an_unknown_registration_is_audited(clerk: User) -> None:
    assert client_for(clerk).post("/api/v1/registry/numbers/999999/revoke/").status_code == 404
    denied = AuditEvent.objects.get(action="access.denied", target_id="999999", actor=clerk)
    assert denied.target_type == "registry.exemptnumber"
    assert denied.details == {"attempted": "exempt_number.revoke", "exists": False}
