from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.registry.models import Attorney, ExemptNumber
from tests.factories import AttorneyFactory, ExemptNumberFactory

pytestmark = pytest.mark.django_db
NUMBERS = "/api/v1/attorney/numbers/"


def test_an_attorney_registers_a_number_in_any_format(attorney_client: APIClient) -> None:
    r = attorney_client.post(NUMBERS, {"number": "(212) 555-0101", "label": "office"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["number"] == "+12125550101"
    assert r.json()["status"] == "pending"


def test_a_malformed_number_gets_400_with_a_reason(attorney_client: APIClient) -> None:
    r = attorney_client.post(NUMBERS, {"number": "not a number"}, format="json")
    assert r.status_code == 400
    assert r.json()["reason"] == "invalid_number"
    assert ExemptNumber.objects.count() == 0


def test_missing_fields_get_400(attorney_client: APIClient) -> None:
    r = attorney_client.post(NUMBERS, {}, format="json")
    assert r.status_code == 400
    assert r.json()["reason"] == "invalid"
    assert "number" in r.json()["errors"]


def test_an_attorney_sees_only_their_own_numbers(attorney_client: APIClient, attorney: Attorney) -> None:
    mine = ExemptNumberFactory(attorney=attorney)
    theirs = ExemptNumberFactory(attorney=AttorneyFactory())
    listed = attorney_client.get(NUMBERS).json()
    assert [n["id"] for n in listed["results"]] == [mine.pk]
    assert attorney_client.get(f"{NUMBERS}{theirs.pk}/").status_code == 404
    r = attorney_client.delete(f"{NUMBERS}{theirs.pk}/")
    assert r.status_code == 404 and r.json()["reason"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == "pending"
    assert AuditEvent.objects.filter(action="access.denied", target_id=str(theirs.pk)).exists()


def test_an_attorney_revokes_their_number(attorney_client: APIClient, attorney: Attorney) -> None:
    mine = ExemptNumberFactory(attorney=attorney)
    r = attorney_client.delete(f"{NUMBERS}{mine.pk}/")
    assert r.status_code == 200 and r.json()["status"] == "revoked"


def test_only_attorneys_use_the_attorney_endpoints(stranger_client: APIClient) -> None:
    assert stranger_client.get(NUMBERS).status_code == 403
    assert APIClient().get(NUMBERS).status_code == 401


def test_a_clerk_verifies_and_the_answer_counts_quarantined(clerk_client: APIClient) -> None:
    exempt = ExemptNumberFactory()
    r = clerk_client.post(f"/api/v1/registry/numbers/{exempt.pk}/verify/", {}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "verified"
    assert r.json()["quarantined_recordings"] == 0


def test_a_clerk_rejects_with_a_reason(clerk_client: APIClient) -> None:
    exempt = ExemptNumberFactory()
    r = clerk_client.post(
        f"/api/v1/registry/numbers/{exempt.pk}/reject/", {"reason": "no such bar number"}, format="json"
    )
    assert r.status_code == 200 and r.json()["decided_reason"] == "no such bar number"
    again = clerk_client.post(f"/api/v1/registry/numbers/{exempt.pk}/verify/", {}, format="json")
    assert again.status_code == 409 and again.json()["reason"] == "illegal_transition"


def test_a_non_clerk_cannot_verify(attorney_client: APIClient, attorney: Attorney) -> None:
    mine = ExemptNumberFactory(attorney=attorney)
    r = attorney_client.post(f"/api/v1/registry/numbers/{mine.pk}/verify/", {}, format="json")
    assert r.status_code == 403
    mine.refresh_from_db()
    assert mine.status == "pending"


def test_verifying_a_missing_registration_is_404(clerk_client: APIClient) -> None:
    assert clerk_client.post("/api/v1/registry/numbers/999999/verify/", {}, format="json").status_code == 404


def test_the_clerk_queue_filters_by_status(clerk_client: APIClient) -> None:
    ExemptNumberFactory()
    assert clerk_client.get("/api/v1/registry/numbers/?status=pending").json()["count"] == 1
    assert clerk_client.get("/api/v1/registry/numbers/?status=verified").json()["count"] == 0
    assert clerk_client.get("/api/v1/registry/numbers/?status=bogus").status_code == 400
