"""Issue 15, item 7 (registry search and a number's history) and issue 11, section 6 on the
portal pages (the category on the attorney's form and list, and on the clerk's screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.audit.references import reference
from apps.facilities.models import Facility
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.services import exempt_number_register, exempt_number_reject
from tests.actors import INVESTIGATOR, staff_member
from tests.factories import AttorneyFactory

pytestmark = pytest.mark.django_db
SEARCH = "/attorney/clerk/registrations/"
PDF = b"%PDF-1.4\n% letter\n"


def _web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _evidence_dir(settings: Any, tmp_path: Path) -> None:
    settings.EVIDENCE_DIR = tmp_path / "evidence"


@pytest.fixture
def registry(attorney: Attorney, clerk: User, facility: Facility) -> dict[str, ExemptNumber]:
    """Ann's verified office line, a doctor she registered, and Bob's rejected try at her line."""
    bob = AttorneyFactory(full_name="Bob Counsel", bar_state="NY", bar_number="7654321")
    Attorney.objects.filter(pk=attorney.pk).update(full_name="Ann Law", bar_number="1234567")
    attorney.refresh_from_db()
    office = exempt_number_register(attorney=attorney, number="(212) 555-0101", actor=attorney.user)
    office, _ = exempt_number_verify(exempt_number_id=office.pk, clerk=clerk)
    doctor = exempt_number_register(
        attorney=attorney,
        number="+44 7700 900123",
        category="doctor",
        credential="MD-1",
        credential_issuer="NY",
        facility=facility,
        actor=attorney.user,
    )
    tried = exempt_number_register(attorney=bob, number="212.555.0101", actor=bob.user)
    exempt_number_reject(exempt_number_id=tried.pk, clerk=clerk, reason="not his line")
    return {"office": office, "doctor": doctor, "tried": tried}


def _ids(response: Any) -> list[int]:
    return [int(row.split('"')[0]) for row in response.content.decode().split('id="row-')[1:]]


def test_a_clerk_searches_by_number_in_any_format_and_the_read_is_audited_masked(
    clerk: User, registry: dict[str, ExemptNumber]
) -> None:
    response = _web(clerk).get(SEARCH, {"number": "1-212-555-0101"})
    assert response.status_code == 200
    assert _ids(response) == [registry["tried"].pk, registry["office"].pk]
    event = AuditEvent.objects.filter(action="registry_search.viewed").latest("pk")
    assert event.actor == clerk and event.details["rows"] == 2
    assert event.details["filters"]["number_ref"] == reference("number", "+12125550101")
    assert "+12125550101" not in str(event.details)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"attorney": "ann"}, ["doctor", "office"]),
        ({"attorney": "765-4321"}, ["tried"]),  # a bar number in any spacing
        ({"status": "rejected"}, ["tried"]),
        ({"category": "doctor"}, ["doctor"]),
        ({"facility": "home"}, ["doctor"]),
        ({"facility": "global", "status": "verified"}, ["office"]),
        ({}, ["tried", "doctor", "office"]),
    ],
)
def test_a_clerk_searches_by_attorney_status_category_and_facility(
    clerk: User, registry: dict[str, ExemptNumber], query: dict[str, str], expected: list[str]
) -> None:
    response = _web(clerk).get(SEARCH, query)
    assert response.status_code == 200
    assert _ids(response) == [registry[name].pk for name in expected]


def test_search_pages_through_every_registration(clerk: User, attorney: Attorney) -> None:
    for n in range(30):
        ExemptNumber.objects.create(
            attorney=attorney, number=f"+1212555{n:04d}", status=ExemptStatus.REJECTED
        )
    web = _web(clerk)
    first, second = (
        web.get(SEARCH, {"status": "rejected"}),
        web.get(SEARCH, {"status": "rejected", "page": 2}),
    )
    assert (len(_ids(first)), len(_ids(second))) == (25, 5)
    assert set(_ids(first)).isdisjoint(_ids(second))
    assert b"status=rejected&amp;page=2" in first.content
    events = AuditEvent.objects.filter(action="registry_search.viewed").order_by("pk")
    assert [(e.details["rows"], e.details["page"]) for e in events] == [(25, 1), (5, 2)]


@pytest.mark.parametrize(
    "query", [{"number": "not a number"}, {"status": "lost"}, {"page": "0"}, {"page": "x"}, {"page": "9"}]
)
def test_a_bad_search_is_a_400_with_the_reason_and_still_audited(
    clerk: User, registry: dict[str, ExemptNumber], query: dict[str, str]
) -> None:
    response = _web(clerk).get(SEARCH, query)
    assert response.status_code == 400
    assert b'class="errorlist' in response.content
    assert AuditEvent.objects.filter(action="registry_search.viewed", details__rows=0).exists()


def test_a_number_s_history_shows_every_registration_and_decision_with_who_and_when(
    clerk: User, registry: dict[str, ExemptNumber]
) -> None:
    response = _web(clerk).get(f"/attorney/clerk/registrations/{registry['office'].pk}/history/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="reg-{registry["office"].pk}"' in page and f'id="reg-{registry["tried"].pk}"' in page
    assert f'id="reg-{registry["doctor"].pk}"' not in page  # another number
    assert "Verified</strong>" in page and "Rejected</strong>" in page and "not his line" in page
    assert f"by {clerk.username}" in page
    event = AuditEvent.objects.get(action="registry_history.viewed")
    assert event.details["registrations"] == 2 and event.target_id == str(registry["office"].pk)
    assert event.details["number_ref"] == reference("number", "+12125550101")
    assert "+1212" not in str(event.details)


@pytest.mark.parametrize("who", ["attorney", "investigator"])
def test_attorneys_and_facility_staff_get_404_and_the_refusal_is_audited(
    who: str, attorney: Attorney, facility: Facility, registry: dict[str, ExemptNumber]
) -> None:
    user = attorney.user if who == "attorney" else staff_member("staff", INVESTIGATOR, facility).user
    web = _web(user)
    for url, attempted in [
        (SEARCH + "?number=2125550101", "registry_search.view"),
        (f"/attorney/clerk/registrations/{registry['office'].pk}/history/", "registry_history.view"),
    ]:
        response = web.get(url)
        assert response.status_code == 404 and b"+1212" not in response.content
        denied = AuditEvent.objects.filter(action="access.denied", actor=user).latest("pk")
        assert denied.details["attempted"] == attempted
    assert not AuditEvent.objects.filter(
        action__in=["registry_search.viewed", "registry_history.viewed"]
    ).exists()


def test_the_clerk_queue_links_to_search_and_history(clerk: User, registry: dict[str, ExemptNumber]) -> None:
    page = _web(clerk).get("/attorney/clerk/").content.decode()
    assert 'href="/attorney/clerk/registrations/"' in page
    assert f'href="/attorney/clerk/registrations/{registry["doctor"].pk}/history/"' in page


# --- categories on the portal pages ------------------------------------------------------------


def test_the_clerk_sees_the_category_the_credential_and_what_to_check(
    clerk: User, attorney: Attorney, registry: dict[str, ExemptNumber]
) -> None:
    page = _web(clerk).get("/attorney/clerk/").content.decode()
    card = page.split(f'id="reg-{registry["doctor"].pk}"')[1].split("</article>")[0]
    assert "<strong>Doctor</strong>" in card and "Medical licence number" in card and "MD-1" in card
    assert "medical board" in card
    assert "Missing" in card and "it cannot be verified yet" in card
    assert "'verify'" not in card and "/verify/" not in card  # no Approve until the evidence is in

    refused = _web(clerk).post(
        f"/attorney/clerk/numbers/{registry['doctor'].pk}/verify/", {"confirm": "1"}, follow=True
    )
    assert b"Cannot verify a doctor registration without" in refused.content
    assert ExemptNumber.objects.get(pk=registry["doctor"].pk).status == ExemptStatus.PENDING

    pdf = SimpleUploadedFile("licence.pdf", PDF, content_type="application/pdf")
    _web(attorney.user).post(f"/attorney/numbers/{registry['doctor'].pk}/", {"file": pdf})
    card = _web(clerk).get("/attorney/clerk/").content.decode().split(f'id="reg-{registry["doctor"].pk}"')[1]
    assert "/verify/" in card.split("</article>")[0]


def test_the_attorney_registers_by_category_and_sees_each_number_under_its_label(
    attorney: Attorney, registry: dict[str, ExemptNumber]
) -> None:
    web = _web(attorney.user)
    bad = web.post("/attorney/", {"number": "+12125550190", "scope": "global", "category": "clergy"})
    assert bad.status_code == 400
    assert b"Ordination or endorsement reference is required" in bad.content
    good = web.post(
        "/attorney/",
        {
            "number": "+12125550190",
            "scope": "global",
            "category": "clergy",
            "credential": "ORD-7",
            "credential_issuer": "Diocese of Brooklyn",
        },
    )
    assert good.status_code == 302
    home = web.get("/attorney/").content.decode()
    assert '<strong class="category">Clergy</strong>' in home
    assert '<strong class="category">Doctor</strong>' in home
    assert '<strong class="category">Attorney</strong>' in home
    detail = web.get(f"/attorney/numbers/{registry['doctor'].pk}/").content.decode()
    assert "Medical licence number" in detail and "MD-1" in detail
    assert "Required for this category: a copy of the medical licence" in detail
