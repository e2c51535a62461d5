"""Issue 11, section 6: registration categories and cell phones.

Every category is exempt once verified: the decision never reads the category, so each one
goes register -> evidence -> verify -> call setup exempt -> upload refused through the real
endpoints. The category only decides the evidence: a missing or malformed credential is a 400
at registration, a missing document a 409 at verification. Mobile numbers (UK and US) go the
same way in several spellings: no rule excludes them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from apps.registry.categories import RULES
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus, RegistrationCategory
from tests.conftest import Switch

pytestmark = pytest.mark.django_db
NUMBERS = "/api/v1/attorney/numbers/"
PDF = b"%PDF-1.4\n% engagement letter\n"

# A valid credential for each category, as the registrant types it.
CREDENTIALS: dict[str, dict[str, str]] = {
    "attorney": {},
    "doctor": {"credential": "md-204518", "credential_issuer": "ny"},
    "clergy": {"credential": "ORD-1998-114", "credential_issuer": "Diocese of Brooklyn"},
    "consular_officer": {
        "credential": "CA-55120",
        "credential_issuer": "Consulate General of Mexico in New York",
    },
    "defence_social_worker": {"credential": "4000123", "credential_issuer": "NY"},
}


@pytest.fixture(autouse=True)
def _evidence_dir(settings: Any, tmp_path: Path) -> None:
    settings.EVIDENCE_DIR = tmp_path / "evidence"


def _web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _register(client: APIClient, number: str, category: str, **extra: str) -> Any:
    body = {"number": number, "category": category, **CREDENTIALS[category], **extra}
    return client.post(NUMBERS, body, format="json")


def _upload_evidence(attorney: Attorney, pk: int) -> None:
    page = _web(attorney.user)
    r = page.post(f"/attorney/numbers/{pk}/", {"file": _file()})
    assert r.status_code == 302, r.content


def _file() -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("letter.pdf", PDF, content_type="application/pdf")


def _verify(clerk_client: APIClient, pk: int) -> Any:
    return clerk_client.post(f"/api/v1/registry/numbers/{pk}/verify/", {}, format="json")


def _call_and_upload(switch: Switch, inmate: Inmate, call_id: str, dialed: str) -> tuple[dict[str, Any], Any]:
    r = switch.client.post(
        "/api/v1/calls/",
        {
            "switch_call_id": call_id,
            "inmate": inmate.booking_number,
            "dialed_number": dialed,
            "started_at": "2026-11-25T10:00:00Z",
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    audio = os.urandom(1024)
    upload = switch.client.put(
        f"/api/v1/calls/{r.json()['id']}/recording/",
        audio,
        content_type="audio/wav",
        headers={"Content-SHA256": hashlib.sha256(audio).hexdigest()},
    )
    return r.json(), upload


@pytest.mark.parametrize("category", RegistrationCategory.values)
def test_every_category_once_verified_makes_calls_exempt_and_the_gate_refuses(
    category: str,
    attorney: Attorney,
    attorney_client: APIClient,
    clerk_client: APIClient,
    switch: Switch,
    inmate: Inmate,
) -> None:
    r = _register(attorney_client, "(212) 555-0142", category)
    assert r.status_code == 201, r.content
    assert r.json()["category"] == category
    pk = r.json()["id"]
    if RULES[category].document:
        refused = _verify(clerk_client, pk)
        assert refused.status_code == 409, refused.content
        assert refused.json()["reason"] == "category_evidence_missing"
        assert ExemptNumber.objects.get(pk=pk).status == ExemptStatus.PENDING
        _upload_evidence(attorney, pk)
    assert _verify(clerk_client, pk).status_code == 200

    call, upload = _call_and_upload(switch, inmate, f"cat-{category}", "+1 212 555 0142")
    assert (call["record"], call["privileged"]) == (False, True)
    assert upload.status_code == 403 and upload.json()["reason"] == "privileged"
    assert not Recording.objects.exists()


def test_the_credential_is_stored_in_canonical_form(attorney_client: APIClient) -> None:
    doctor = _register(attorney_client, "+12125550143", "doctor").json()
    assert (doctor["credential"], doctor["credential_issuer"]) == ("MD-204518", "NY")
    worker = _register(
        attorney_client,
        "+12125550144",
        "defence_social_worker",
        credential="400-0123",
        credential_issuer="ny",
    ).json()
    assert (worker["credential"], worker["credential_issuer"]) == ("4000123", "NY")


@pytest.mark.parametrize(
    ("category", "extra", "field"),
    [
        ("doctor", {"credential": ""}, "credential"),
        ("doctor", {"credential_issuer": ""}, "credential_issuer"),
        ("doctor", {"credential_issuer": "Narnia"}, "credential_issuer"),
        ("doctor", {"credential": "<script>"}, "credential"),
        ("clergy", {"credential_issuer": ""}, "credential_issuer"),
        ("consular_officer", {"credential": ""}, "credential"),
        ("defence_social_worker", {"credential": "12"}, "credential"),  # NY bar: 7 digits
        ("defence_social_worker", {"credential_issuer": "ZZ"}, "credential"),
        ("attorney", {"credential": "123"}, "credential"),  # the account's bar number is it
    ],
)
def test_a_missing_or_malformed_credential_is_a_400_with_a_reason(
    attorney_client: APIClient, category: str, extra: dict[str, str], field: str
) -> None:
    r = _register(attorney_client, "+12125550145", category, **extra)
    assert r.status_code == 400, r.content
    assert r.json()["reason"] == "category_credential_invalid"
    assert r.json()["field"] == field
    assert not ExemptNumber.objects.exists()


def test_an_unknown_category_is_a_400(attorney_client: APIClient) -> None:
    r = attorney_client.post(NUMBERS, {"number": "+12125550146", "category": "astrologer"}, format="json")
    assert r.status_code == 400 and "category" in r.json()["errors"]


def test_the_database_refuses_a_category_without_its_credential(attorney: Attorney) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ExemptNumber.objects.create(attorney=attorney, number="+12125550147", category="doctor")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExemptNumber.objects.create(
            attorney=attorney, number="+12125550147", credential="X1", credential_issuer="NY"
        )


def test_an_attorney_registration_needs_the_claimed_bar_number(
    attorney: Attorney, attorney_client: APIClient, clerk_client: APIClient
) -> None:
    pk = _register(attorney_client, "+12125550148", "attorney").json()["id"]
    Attorney.objects.filter(pk=attorney.pk).update(
        requested_bar_state="NY", requested_bar_number="4999999", bar_state="", bar_number=""
    )
    r = _verify(clerk_client, pk)
    assert r.status_code == 409 and r.json()["reason"] == "category_evidence_missing"
    assert r.json()["missing"] == ["the attorney's claimed bar number"]


def test_renewing_a_lapsed_registration_keeps_its_category(
    attorney: Attorney, attorney_client: APIClient, clerk_client: APIClient
) -> None:
    pk = _register(attorney_client, "+12125550149", "clergy").json()["id"]
    assert attorney_client.delete(f"{NUMBERS}{pk}/").status_code == 200
    renewed = attorney_client.post(f"{NUMBERS}{pk}/renew/").json()
    assert (renewed["category"], renewed["credential_issuer"]) == ("clergy", "Diocese of Brooklyn")


# --- cell phones: no rule excludes them -------------------------------------------------------

# Ofcom's drama range: a UK mobile prefix the library's metadata does not even call valid
# (type UNKNOWN), the case of a newly issued mobile range; and the library's own example mobile.
UK_MOBILE = "+447700900123"
UK_EXAMPLE_MOBILE = "+447400123456"
US_NUMBER = "+12015550123"  # NANP: phonenumbers cannot tell mobile from fixed (FIXED_LINE_OR_MOBILE)


def test_the_test_numbers_are_what_they_claim() -> None:
    kind = phonenumbers.PhoneNumberType
    assert phonenumbers.number_type(phonenumbers.parse(UK_MOBILE)) == kind.UNKNOWN
    assert phonenumbers.number_type(phonenumbers.parse(UK_EXAMPLE_MOBILE)) == kind.MOBILE
    assert phonenumbers.number_type(phonenumbers.parse(US_NUMBER)) == kind.FIXED_LINE_OR_MOBILE


@pytest.mark.parametrize(
    ("registered", "dialed"),
    [
        ("+44 7700 900123", "+447700900123"),
        ("+44 (0)7700 900 123", "011 44 7700 900123"),  # dialled from a US facility
        ("+447700900123", "+44-7700-900-123"),
        ("+44 7400 123456", "011447400123456"),
        ("(201) 555-0123", "+1 201 555 0123"),
        ("201.555.0123", "1-201-555-0123"),
    ],
)
def test_a_mobile_number_is_registered_verified_and_exempt_in_any_format(
    registered: str,
    dialed: str,
    attorney_client: APIClient,
    clerk_client: APIClient,
    switch: Switch,
    inmate: Inmate,
) -> None:
    r = attorney_client.post(NUMBERS, {"number": registered, "label": "mobile"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["number"] in (UK_MOBILE, UK_EXAMPLE_MOBILE, US_NUMBER)
    assert _verify(clerk_client, r.json()["id"]).status_code == 200
    call_id = "mobile-" + "".join(c for c in registered if c.isdigit())
    call, upload = _call_and_upload(switch, inmate, call_id, dialed)
    assert (call["record"], call["privileged"]) == (False, True)
    assert upload.status_code == 403 and upload.json()["reason"] == "privileged"
    assert not Recording.objects.exists()


def test_no_code_rejects_a_number_by_its_type() -> None:
    """A rule excluding mobile numbers would have to ask phonenumbers for the type."""
    apps = Path(__file__).resolve().parents[2] / "apps"
    offenders = [
        str(path.relative_to(apps))
        for path in apps.rglob("*.py")
        if "number_type(" in path.read_text() or "PhoneNumberType.MOBILE" in path.read_text()
    ]
    assert offenders == []


# --- export and import carry the category -----------------------------------------------------

OLD_HEADER = (
    "number,attorney_name,bar_state,bar_number,firm,contact_email,label,facility,status,"
    "effective_from,effective_until\n"
)


def test_export_carries_category_and_credential_and_reimport_is_identical(attorney_client: APIClient) -> None:
    from apps.registry.importing import plan_import
    from apps.registry.portability import export_text

    _register(attorney_client, "+12125550150", "doctor")
    _register(attorney_client, "+12125550151", "attorney")
    text, rows = export_text("csv")
    assert "doctor,MD-204518,NY" in text
    planned, report = plan_import(text, "csv")
    assert (planned, report.identical, report.conflicts, report.errors) == ([], 2, [], [])
    json_text, _ = export_text("json")
    assert plan_import(json_text, "json")[1].identical == 2


def test_a_row_differing_only_in_category_is_a_conflict_with_its_line(attorney_client: APIClient) -> None:
    from apps.registry.importing import plan_import
    from apps.registry.portability import export_text

    _register(attorney_client, "+12125550152", "doctor")
    text, _ = export_text("csv")
    changed = text.replace("doctor,MD-204518,NY", "clergy,MD-204518,Diocese of Brooklyn")
    planned, report = plan_import(changed, "csv")
    assert planned == [] and report.identical == 0
    assert len(report.conflicts) == 1
    assert report.conflicts[0].startswith("line 2: +12125550152 is here as a doctor registration")


def test_an_old_file_without_the_category_column_reads_as_attorney_registrations(attorney: Attorney) -> None:
    from apps.registry.importing import plan_import

    row = f"+12125550153,Ann Law,NY,{attorney.bar_number},,,office,,pending,,\n"
    planned, report = plan_import(OLD_HEADER + row, "csv")
    assert report.errors == [] and len(planned) == 1
    assert (planned[0].row.category, planned[0].row.credential) == ("attorney", "")


def test_an_imported_doctor_row_needs_its_credential(attorney: Attorney) -> None:
    from apps.registry.importing import plan_import
    from apps.registry.portability import FIELDS

    row = f"+12125550154,Ann Law,NY,{attorney.bar_number},,,office,,pending,,,doctor,,\n"
    _, report = plan_import(",".join(FIELDS) + "\n" + row, "csv")
    assert report.errors == ["line 2: Medical licence number is required for this category."]


def test_clerks_list_registrations_by_category(attorney_client: APIClient, clerk_client: APIClient) -> None:
    doctor = _register(attorney_client, "+12125550155", "doctor").json()
    _register(attorney_client, "+12125550156", "attorney")
    listed = clerk_client.get("/api/v1/registry/numbers/", {"category": "doctor"}).json()
    assert [(n["id"], n["category"], n["credential"]) for n in listed["results"]] == [
        (doctor["id"], "doctor", "MD-204518")
    ]
    assert clerk_client.get("/api/v1/registry/numbers/", {"category": "x"}).status_code == 400


def test_a_verified_registration_of_every_category_is_on_the_decision_list_and_the_snapshot(
    attorney: Attorney, attorney_client: APIClient, clerk_client: APIClient
) -> None:
    """The switches' list and the daily snapshot cover every category alike (their formats carry
    no category: a switch never needs to know whose number it is)."""
    from django.utils import timezone

    from apps.registry.decision_list import covered_now
    from apps.registry.snapshots import verified_list

    numbers = {}
    for n, category in enumerate(RegistrationCategory.values):
        pk = _register(attorney_client, f"+1212555017{n}", category).json()["id"]
        if RULES[category].document:
            _upload_evidence(attorney, pk)
        assert _verify(clerk_client, pk).status_code == 200
        numbers[f"+1212555017{n}"] = pk
    now = timezone.now()
    assert {(number, None) for number in numbers} <= covered_now(now)
    assert {(number, pk, None) for number, pk in numbers.items()} <= set(verified_list(now))
