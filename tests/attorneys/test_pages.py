"""Attorney portal and registry desk pages (server-rendered, Django test client)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from apps.actions.registry import exempt_number_verify
from apps.recordings.models import Recording
from apps.registry.models import Attorney, Evidence, ExemptNumber
from apps.registry.services import exempt_number_register
from tests.actors import actor, grant_facility
from tests.factories import AttorneyFactory, CallFactory, InmateFactory, UserFactory

pytestmark = pytest.mark.django_db
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def attorney_web(attorney: Attorney) -> Client:
    return _client(attorney.user)


@pytest.fixture
def clerk_web(clerk: User) -> Client:
    return _client(clerk)


@pytest.mark.usefixtures("celery_eager")  # the e-mail goes out from a Celery task
def test_sign_up_sends_a_verification_link_that_activates_the_account(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/attorney/signup/",
            {
                "full_name": "Ada Counsel",
                "email": "ada@example.org",
                "username": "ada",
                "password": "correct-horse-battery",
                "bar_state": "NY",
                "bar_number": "1234567",
                "firm": "",
            },
        )
    assert response.status_code == 200 and b"Check your e-mail" in response.content
    user = User.objects.get(username="ada")
    # No bar number is claimed until the e-mail is verified.
    assert not user.is_active and (user.attorney.bar_number, user.attorney.requested_bar_number) == (
        "",
        "1234567",
    )
    assert (
        client.post("/attorney/login/", {"username": "ada", "password": "correct-horse-battery"}).status_code
        == 200
    )
    link = re.search(r"http://testserver(/attorney/verify/\S+)", mail.outbox[0].body)
    assert link
    assert client.get(link.group(1)).status_code == 302
    user.refresh_from_db()
    assert user.is_active and user.attorney.bar_number == "1234567"
    assert client.get("/attorney/").status_code == 200
    assert client.get(link.group(1).replace(link.group(1).split("/")[-2], "bad-token")).status_code == 400


def test_sign_up_validates_the_bar_number_for_known_states(client: Client) -> None:
    response = client.post(
        "/attorney/signup/",
        {
            "full_name": "X",
            "email": "x@example.org",
            "username": "xx",
            "password": "correct-horse-battery",
            "bar_state": "TX",
            "bar_number": "12",
        },
    )
    assert b"A TX bar number is 8 digits" in response.content
    assert not User.objects.filter(username="xx").exists()


@pytest.mark.usefixtures("celery_eager")
def test_password_reset_mails_a_link(
    client: Client, attorney: Attorney, django_capture_on_commit_callbacks: Any
) -> None:
    attorney.user.email = "att@example.org"
    attorney.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/attorney/password-reset/", {"email": "att@example.org"})
    assert response.status_code == 302
    assert "/attorney/password-reset/" in mail.outbox[0].body


def test_login_is_throttled_after_repeated_failures(client: Client, attorney: Attorney) -> None:
    for _ in range(5):
        client.post("/attorney/login/", {"username": attorney.user.username, "password": "wrong"})
    response = client.post(
        "/attorney/login/", {"username": attorney.user.username, "password": "a-long-test-password"}
    )
    assert response.status_code == 429


def test_an_attorney_registers_numbers_globally_by_default(attorney_web: Client, attorney: Attorney) -> None:
    for number, label in (("(212) 555-0101", "office"), ("917.555.0102", "mobile"), ("+1 646 555 0103", "")):
        response = attorney_web.post("/attorney/", {"number": number, "label": label, "scope": "global"})
        assert response.status_code == 302
    rows = ExemptNumber.objects.filter(attorney=attorney)
    assert rows.count() == 3 and all(r.facility_id is None and r.status == "pending" for r in rows)
    page = attorney_web.get("/attorney/").content.decode()
    assert "+12125550101" in page and "office" in page and "Pending" in page


def test_a_facility_scoped_registration_must_name_the_facility(attorney_web: Client, facility: Any) -> None:
    response = attorney_web.post("/attorney/", {"number": "2125550101", "scope": "facility"})
    assert b"Choose the facility" in response.content
    attorney_web.post("/attorney/", {"number": "2125550101", "scope": "facility", "facility": "home"})
    assert ExemptNumber.objects.get().facility == facility


def test_an_attorney_cannot_see_another_attorneys_number(attorney_web: Client) -> None:
    other = AttorneyFactory()
    exempt = exempt_number_register(attorney=other, number="+12125550101", actor=other.user)
    assert attorney_web.get(f"/attorney/numbers/{exempt.pk}/").status_code == 404
    assert attorney_web.post(f"/attorney/numbers/{exempt.pk}/revoke/").status_code == 404
    exempt.refresh_from_db()
    assert exempt.status == "pending"


def test_revoke_and_renew_from_the_number_page(attorney_web: Client, attorney: Attorney, clerk: User) -> None:
    exempt = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    asked = attorney_web.post(f"/attorney/numbers/{exempt.pk}/revoke/").content.decode()
    assert "will be recorded again from now on" in asked  # the confirmation, not the act
    exempt.refresh_from_db()
    assert exempt.status == "verified"
    attorney_web.post(f"/attorney/numbers/{exempt.pk}/revoke/", {"confirm": "1"})
    exempt.refresh_from_db()
    assert exempt.status == "revoked"
    response = attorney_web.post(f"/attorney/numbers/{exempt.pk}/renew/")
    fresh = ExemptNumber.objects.exclude(pk=exempt.pk).get()
    assert response["Location"] == f"/attorney/numbers/{fresh.pk}/" and fresh.status == "pending"
    page = attorney_web.get(f"/attorney/numbers/{exempt.pk}/").content.decode()
    assert "Registered" in page and "Verified" in page and "Revoked" in page


def test_the_clerk_renews_with_a_chosen_window_or_declines_with_a_reason(
    attorney_web: Client, attorney: Attorney, clerk: User, clerk_web: Client
) -> None:
    from datetime import timedelta

    exempt = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    exempt, _ = exempt_number_verify(exempt_number_id=exempt.pk, clerk=clerk)
    assert exempt.effective_until is not None
    attorney_web.post(f"/attorney/numbers/{exempt.pk}/renew/")
    queue = clerk_web.get("/attorney/clerk/").content.decode()
    assert f'id="renewal-{exempt.pk}"' in queue and "Decline renewal" in queue
    too_long = (exempt.effective_until + timedelta(days=5000)).strftime("%Y-%m-%dT%H:%M")
    page = clerk_web.post(f"/attorney/clerk/numbers/{exempt.pk}/renew/", {"effective_until": too_long})
    assert page.status_code == 400 and "at most" in page.content.decode()
    assert (
        clerk_web.post(f"/attorney/clerk/numbers/{exempt.pk}/decline-renewal/", {"reason": "x"}).status_code
        == 302
    )
    exempt.refresh_from_db()
    assert exempt.renewal_requested_at is None and exempt.decided_reason == "x"
    history = attorney_web.get(f"/attorney/numbers/{exempt.pk}/").content.decode()
    assert "Renewal declined" in history


def test_evidence_upload_is_type_checked_and_only_clerks_download_it(
    attorney_web: Client, attorney: Attorney, clerk_web: Client, settings: Any, tmp_path: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.EVIDENCE_DIR = tmp_path / "ev"
    exempt = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    bad = SimpleUploadedFile("card.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = attorney_web.post(f"/attorney/numbers/{exempt.pk}/", {"file": bad})
    assert b"Upload a PDF, PNG or JPEG" in response.content
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    attorney_web.post(f"/attorney/numbers/{exempt.pk}/", {"file": SimpleUploadedFile("card.png", png)})
    evidence = Evidence.objects.get()
    assert attorney_web.get(f"/attorney/clerk/evidence/{evidence.pk}/").status_code == 404
    download = clerk_web.get(f"/attorney/clerk/evidence/{evidence.pk}/")
    assert download.status_code == 200 and download.content == png
    assert (
        download["Content-Disposition"].startswith("attachment")
        and download["X-Content-Type-Options"] == "nosniff"
    )


def test_the_clerk_approves_and_rejects_and_the_attorney_is_mailed(
    clerk_web: Client, attorney: Attorney, store_recording: Any, django_capture_on_commit_callbacks: Any
) -> None:
    attorney.contact_email = "att@example.org"
    attorney.save()
    one = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    two = exempt_number_register(attorney=attorney, number="+12125550102", actor=attorney.user)
    earlier = store_recording(CallFactory(dialed_number="+12125550101"))
    queue = clerk_web.get("/attorney/clerk/").content.decode()
    assert "+12125550101" in queue and "+12125550102" in queue
    with django_capture_on_commit_callbacks(execute=True):
        approved = clerk_web.post(f"/attorney/clerk/numbers/{one.pk}/verify/", {"confirm": "1"}, follow=True)
        clerk_web.post(f"/attorney/clerk/numbers/{two.pk}/reject/", {"reason": "no evidence", "confirm": "1"})
    assert "1 existing recording(s) quarantined" in approved.content.decode()
    earlier.refresh_from_db()
    assert earlier.state == "quarantined"
    one.refresh_from_db()
    two.refresh_from_db()
    assert (one.status, two.status, two.decided_reason) == ("verified", "rejected", "no evidence")
    # The verification quarantined a recording, so the exposure notice (counts only) goes too.
    assert sorted(m.subject for m in mail.outbox) == [
        f"Exposure report for your registration #{one.pk}",
        "Your number +12125550101 is verified",
        "Your number +12125550102 was not verified",
    ]


def test_a_number_verified_for_another_attorney_is_shown_as_a_conflict(
    clerk_web: Client, clerk: User, attorney: Attorney
) -> None:
    holder = AttorneyFactory(full_name="First Holder")
    first = exempt_number_register(attorney=holder, number="+12125550101", actor=holder.user)
    exempt_number_verify(exempt_number_id=first.pk, clerk=clerk)
    second = exempt_number_register(attorney=attorney, number="+12125550101", actor=attorney.user)
    assert "Conflict: already verified for First Holder" in clerk_web.get("/attorney/clerk/").content.decode()
    response = clerk_web.post(f"/attorney/clerk/numbers/{second.pk}/verify/", {"confirm": "1"}, follow=True)
    assert "already verified for another attorney" in response.content.decode()
    second.refresh_from_db()
    assert second.status == "pending"


def test_attorneys_and_strangers_do_not_reach_the_desk(attorney_web: Client) -> None:
    assert attorney_web.get("/attorney/clerk/").status_code == 404
    assert attorney_web.get("/attorney/review/").status_code == 404
    stranger = _client(UserFactory(username="nobody"))
    assert stranger.get("/attorney/").status_code == 404
    assert Client().get("/attorney/").status_code == 302


def test_the_clerk_decides_a_claim_from_the_queue(
    clerk_web: Client, switch: Any, inmate: Any, store_recording: Any
) -> None:
    from apps.registry.claims import claim_report

    claim, _ = claim_report(
        facility=switch.facility, booking_number="A1001", number="+12125550177", actor=switch.user
    )
    rec = store_recording(CallFactory(inmate=inmate, dialed_number="+12125550177"))
    assert "+12125550177" in clerk_web.get("/attorney/clerk/").content.decode()
    response = clerk_web.post(f"/attorney/clerk/claims/{claim.pk}/verify/", follow=True)
    assert "1 recording(s) held for the two-officer privilege review" in response.content.decode()
    rec.refresh_from_db()
    assert rec.state == "quarantined"


def test_two_officers_purge_from_the_review_page(
    attorney: Attorney, facility: Any, store_recording: Any
) -> None:
    first, second = actor("off-1", "privilege_officer").user, actor("off-2", "privilege_officer").user
    for officer in (first, second):
        grant_facility(officer, facility, "view_facility", "view_facility_calls")
    rec = store_recording(CallFactory(inmate=InmateFactory(facility=facility), dialed_number="+12125550155"))
    Recording.objects.filter(pk=rec.pk).update(
        state="quarantined", quarantined_at=rec.created_at, quarantine_reason="x"
    )
    one, two = _client(first), _client(second)
    one.post(f"/attorney/review/{rec.pk}/propose/", {"action": "purge", "reason": "advice to client"})
    from apps.recordings.models import ReviewDecision

    decision = ReviewDecision.objects.get()
    assert "Waiting for a second privilege officer" in one.get("/attorney/review/").content.decode()
    one.post(f"/attorney/review/decisions/{decision.pk}/confirm/")
    rec.refresh_from_db()
    assert rec.state == "quarantined"
    two.post(f"/attorney/review/decisions/{decision.pk}/confirm/")
    rec.refresh_from_db()
    assert rec.state == "purged"


def test_xss_in_every_free_text_field_is_rendered_inert(
    attorney_web: Client, attorney: Attorney, clerk_web: Client, clerk: User
) -> None:
    attorney_web.post(
        "/attorney/profile/",
        {
            "full_name": XSS,
            "bar_state": "NY",
            "bar_number": "4000001",
            "firm": XSS,
            "contact_email": "",
            "contact_phone": XSS[:40],
        },
    )
    # A name change waits for a clerk; both the attorney's page and the queue show it.
    assert attorney.identity_changes.get().full_name == XSS
    attorney_web.post("/attorney/", {"number": "2125550101", "label": XSS[:100], "scope": "global"})
    response = attorney_web.post("/attorney/", {"number": XSS[:40], "label": "x", "scope": "global"})
    exempt = ExemptNumber.objects.get()
    clerk_web.post(f"/attorney/clerk/numbers/{exempt.pk}/reject/", {"reason": XSS, "confirm": "1"})
    pages = [
        response.content.decode(),
        attorney_web.get("/attorney/").content.decode(),
        attorney_web.get(f"/attorney/numbers/{exempt.pk}/").content.decode(),
        attorney_web.get("/attorney/profile/").content.decode(),
        clerk_web.get("/attorney/clerk/").content.decode(),
    ]
    exempt_number_register(attorney=attorney, number="+12125550109", label=XSS[:100], actor=attorney.user)
    pages.append(clerk_web.get("/attorney/clerk/").content.decode())
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(" in pages[1] and "&lt;script&gt;alert(" in pages[2]
