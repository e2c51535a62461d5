"""Issue 13, findings High 2, Medium 7, Medium 9 and Low "username enumeration": the attorney
account flows (sign-up, e-mail verification, profile, password reset) as an outsider would
attack them. Each test reproduces the attack; each failed on the code before the fix.

Size: the account flows share one outsider's view (mailbox, rate limits), kept in one place.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.registry.models import Attorney
from tests.actors import actor
from tests.factories import AttorneyFactory, UserFactory

# E-mails go out from a Celery task: run it in-process here, whether or not a broker is set.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]
PASSWORD = "correct-horse-battery"


def _signup(client: Client, name: str, remote: str = "127.0.0.1", **overrides: str) -> Any:
    data = {
        "full_name": f"{name.title()} Counsel",
        "email": f"{name}@example.org",
        "username": name,
        "password": PASSWORD,
        "bar_state": "NY",
        "bar_number": "1234567",
        "firm": "",
    }
    data.update(overrides)
    return client.post("/attorney/signup/", data, REMOTE_ADDR=remote)


def _link(message: Any, path: str) -> str:
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", message.body)
    assert found, message.body
    return found.group(1)


def _mail_to(address: str) -> list[Any]:
    return [m for m in mail.outbox if address in m.to]


def _page(response: Any) -> str:
    """The page without the per-request CSRF token, so two answers can be compared."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def _login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- High 2: bar-number squatting and the signup oracle ------------------------------------


def test_a_taken_bar_number_gets_the_same_answer_as_a_free_one(
    django_capture_on_commit_callbacks: Any,
) -> None:
    AttorneyFactory(bar_state="NY", bar_number="1234567")
    client = Client(raise_request_exception=False)
    with django_capture_on_commit_callbacks(execute=True):
        taken = _signup(client, "squat", bar_number="1234567")
        padded = _signup(client, "padded", bar_number=" 1234567 ")
        free = _signup(client, "fresh", bar_number="7654321")
    assert taken.status_code == padded.status_code == free.status_code == 200
    assert _page(taken).replace("squat", "X") == _page(free).replace("fresh", "X")
    assert "already exists" not in _page(taken)


def test_bar_numbers_are_compared_in_one_canonical_form() -> None:
    from apps.registry.profiles import validate_bar

    assert validate_bar(" ny ", " 123 4567 ") == ("NY", "1234567")
    assert validate_bar("CA", "012345") == validate_bar("CA", "12345") == ("CA", "12345")
    assert validate_bar("FL", "0123456") == validate_bar("FL", "123456")
    assert validate_bar("OH", " ab-12 3 ") == validate_bar("OH", "AB123") == ("OH", "AB123")


def test_no_bar_number_is_claimed_before_the_email_is_verified(
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = Client(raise_request_exception=False)
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "squatter")
        real = _signup(client, "real")
    assert real.status_code == 200
    assert not Attorney.objects.filter(bar_number="1234567").exists()
    client.get(_link(_mail_to("real@example.org")[-1], "/attorney/verify/"))
    assert Attorney.objects.get(bar_number="1234567").user.username == "real"


def test_a_conflict_at_verification_goes_to_a_clerk_who_awards_the_bar_number(
    clerk: User, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.registry.models import BarDispute

    holder = AttorneyFactory(full_name="Throwaway Holder", bar_state="NY", bar_number="1234567")
    client = Client(raise_request_exception=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert _signup(client, "real").status_code == 200
    assert client.get(_link(_mail_to("real@example.org")[-1], "/attorney/verify/")).status_code == 302
    real = Attorney.objects.get(user__username="real")
    assert real.user.is_active and real.bar_number == ""
    # The real attorney works as usual meanwhile, and sees the number they asked for.
    assert client.post("/attorney/", {"number": "2125550101", "scope": "global"}).status_code == 302
    assert "1234567" in client.get("/attorney/profile/").content.decode()
    dispute = BarDispute.objects.get(claimant=real, status="open")
    clerk_web = _login(clerk)
    queue = clerk_web.get("/attorney/clerk/").content.decode()
    assert "Throwaway Holder" in queue and f"dispute-{dispute.pk}" in queue
    response = clerk_web.post(
        f"/attorney/clerk/disputes/{dispute.pk}/claimant/", {"reason": "bar card matches"}, follow=True
    )
    assert response.status_code == 200
    real.refresh_from_db()
    holder.refresh_from_db()
    assert (real.bar_state, real.bar_number, holder.bar_number) == ("NY", "1234567", "")
    event = AuditEvent.objects.get(action="bar_dispute.decided")
    assert event.details["awarded_to"] == real.pk and event.details["previous_holder"] == holder.pk


def test_the_profile_form_does_not_reveal_whether_a_bar_number_is_taken(attorney: Attorney) -> None:
    AttorneyFactory(bar_state="NY", bar_number="7000001")
    web = _login(attorney.user)
    answers = []
    for bar in ("7000001", "7000002"):
        response = web.post(
            "/attorney/profile/",
            {"full_name": attorney.full_name, "bar_state": "NY", "bar_number": bar},
            follow=True,
        )
        answers.append((response.status_code, response.redirect_chain, _page(response).replace(bar, "X")))
    assert answers[0] == answers[1]
    assert "already exists" not in answers[0][2]


def test_unverified_signups_expire_and_free_their_username(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.registry.tasks import expire_unverified_signups

    settings.ATTORNEY_SIGNUP_EXPIRY_HOURS = 48
    with django_capture_on_commit_callbacks(execute=True):
        _signup(Client(), "ghost")
    kept = AttorneyFactory(user=UserFactory(username="kept"))
    created = Attorney.objects.get(user__username="ghost").created_at
    assert (
        expire_unverified_signups.apply(kwargs={"now": (created + timedelta(hours=47)).isoformat()}).get()
        == 0
    )
    assert (
        expire_unverified_signups.apply(kwargs={"now": (created + timedelta(hours=49)).isoformat()}).get()
        == 1
    )
    assert not User.objects.filter(username="ghost").exists()
    assert Attorney.objects.filter(pk=kept.pk).exists()
    assert AuditEvent.objects.filter(action="attorney.signup_expired").count() == 1
    assert "registry-expire-signups" in settings.CELERY_BEAT_SCHEDULE


# --- Low: username enumeration and unthrottled signup e-mails ---------------------------------


def test_signup_does_not_say_whether_a_username_or_address_exists(
    django_capture_on_commit_callbacks: Any,
) -> None:
    UserFactory(username="taken", email="taken@example.org")
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        by_name = _signup(client, "taken", email="new1@example.org")
        by_address = _signup(client, "newname", email="taken@example.org")
        fresh = _signup(client, "fresh", email="new2@example.org")
    pages = [
        _page(by_name).replace("new1@example.org", "X"),
        _page(by_address).replace("taken@example.org", "X"),
        _page(fresh).replace("new2@example.org", "X"),
    ]
    assert by_name.status_code == by_address.status_code == fresh.status_code == 200
    assert pages[0] == pages[1] == pages[2]
    assert "taken" not in pages[0].lower()
    (existing,) = _mail_to("taken@example.org")
    assert "already exists" in existing.body and "/attorney/verify/" not in existing.body


def test_signup_emails_are_rate_limited_per_address_and_per_ip(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.ACCOUNT_EMAIL_LIMITS = {"address": [(3600, 2)], "ip": [(3600, 3)]}
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            _signup(client, f"name-a{i}", email="victim@example.org", remote=f"10.0.0.{i}").status_code
            for i in range(3)
        ]
        assert statuses == [200, 200, 429]
        statuses = [_signup(client, f"name-b{i}", remote="10.9.9.9").status_code for i in range(4)]
        assert statuses == [200, 200, 200, 429]
    assert len(_mail_to("victim@example.org")) == 2


# --- Medium 7: identity changes after verification ---------------------------------------------


def test_a_verified_attorneys_name_and_bar_change_only_through_a_clerk(
    attorney: Attorney, clerk: User
) -> None:
    from apps.registry.models import IdentityChangeRequest

    before = (attorney.full_name, attorney.bar_state, attorney.bar_number)
    web = _login(attorney.user)
    web.post("/attorney/profile/", {"full_name": "Someone Else", "bar_state": "NY", "bar_number": "7100000"})
    attorney.refresh_from_db()
    assert (attorney.full_name, attorney.bar_state, attorney.bar_number) == before
    change = IdentityChangeRequest.objects.get(attorney=attorney, status="pending")
    clerk_web = _login(clerk)
    assert f"identity-{change.pk}" in clerk_web.get("/attorney/clerk/").content.decode()
    clerk_web.post(f"/attorney/clerk/identity/{change.pk}/approve/")
    attorney.refresh_from_db()
    assert (attorney.full_name, attorney.bar_number) == ("Someone Else", "7100000")
    event = AuditEvent.objects.get(action="attorney.identity_changed")
    assert event.details["full_name"] == {"before": before[0], "after": "Someone Else"}
    assert event.details["bar_number"] == {"before": before[2], "after": "7100000"}


def test_taking_another_attorneys_bar_number_opens_a_dispute_instead(attorney: Attorney, clerk: User) -> None:
    from apps.registry.models import BarDispute, IdentityChangeRequest

    other = AttorneyFactory(bar_state="NY", bar_number="7200000")
    _login(attorney.user).post(
        "/attorney/profile/", {"full_name": other.full_name, "bar_state": "NY", "bar_number": "7200000"}
    )
    change = IdentityChangeRequest.objects.get(attorney=attorney)
    _login(clerk).post(f"/attorney/clerk/identity/{change.pk}/approve/")
    attorney.refresh_from_db()
    other.refresh_from_db()
    assert other.bar_number == "7200000" and attorney.bar_number != "7200000"
    assert BarDispute.objects.get(claimant=attorney, status="open").holder == other


def test_a_new_contact_email_takes_effect_only_when_confirmed_at_that_address(
    attorney: Attorney, django_capture_on_commit_callbacks: Any
) -> None:
    attorney.contact_email = "old@example.org"
    attorney.save()
    web = _login(attorney.user)
    fields = {
        "full_name": attorney.full_name,
        "bar_state": attorney.bar_state,
        "bar_number": attorney.bar_number,
    }
    with django_capture_on_commit_callbacks(execute=True):
        web.post("/attorney/profile/", {**fields, "contact_email": "new@example.org"})
    attorney.refresh_from_db()
    assert attorney.contact_email == "old@example.org"
    (confirm,) = _mail_to("new@example.org")
    link = _link(confirm, "/attorney/profile/email/")
    # The link is for this purpose only: it neither resets a password nor verifies a sign-up.
    uid, token = link.rstrip("/").split("/")[-2:]
    assert Client().get(f"/attorney/verify/{uid}/{token}/").status_code == 400
    assert Client().get(link).status_code in (200, 302)
    attorney.refresh_from_db()
    assert attorney.contact_email == "new@example.org"
    event = AuditEvent.objects.get(action="attorney.contact_email_changed")
    assert event.details["contact_email"] == {"before": "old@example.org", "after": "new@example.org"}


def test_profile_events_record_before_and_after(attorney: Attorney) -> None:
    attorney.firm = "Old Firm LLP"
    attorney.save()
    _login(attorney.user).post(
        "/attorney/profile/",
        {
            "full_name": attorney.full_name,
            "bar_state": attorney.bar_state,
            "bar_number": attorney.bar_number,
            "firm": "New Firm LLP",
        },
    )
    event = AuditEvent.objects.get(action="attorney.profile_updated")
    assert event.details["firm"] == {"before": "Old Firm LLP", "after": "New Firm LLP"}


# --- Medium 9: the password reset ---------------------------------------------------------------


def test_the_attorney_reset_serves_only_attorneys(
    attorney: Attorney, django_capture_on_commit_callbacks: Any
) -> None:
    staff = actor("desk", "registry_clerk").user
    staff.email = "desk@example.org"
    staff.save()
    root = UserFactory(username="root", email="root@example.org", is_superuser=True, is_staff=True)
    attorney.user.email = "att@example.org"
    attorney.user.save()
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        for address in ("desk@example.org", root.email, "att@example.org"):
            assert client.post("/attorney/password-reset/", {"email": address}).status_code == 302
    assert [m.to for m in mail.outbox] == [["att@example.org"]]
    assert "/attorney/password-reset/" in mail.outbox[0].body


def test_staff_have_their_own_reset_serving_only_active_unsuspended_staff(
    attorney: Attorney, django_capture_on_commit_callbacks: Any
) -> None:
    from apps.access.suspensions import user_suspend

    clerk = actor("desk", "registry_clerk").user
    suspended = actor("held", "investigator").user
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    for user in (clerk, suspended, root, attorney.user):
        user.email = f"{user.username}@example.org"
        user.save()
    user_suspend(user=suspended, rule="canary", details={})
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        for user in (clerk, suspended, root, attorney.user):
            assert client.post("/password-reset/", {"email": user.email}).status_code == 302
    assert [m.to for m in mail.outbox] == [["desk@example.org"]]
    link = _link(mail.outbox[0], "/password-reset/")
    form = client.get(link, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"new_password1": "a-fresh-long-password", "new_password2": "a-fresh-long-password"},
    )
    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password("a-fresh-long-password")
    # An attorney's reset link is no good at the staff portal, and the other way round.
    uid, token = link.rstrip("/").split("/")[-2:]
    other = client.get(f"/attorney/password-reset/{uid}/{token}/", follow=True).content.decode()
    assert "not valid any more" in other


def test_a_reset_link_does_not_verify_an_account_or_sign_anyone_in(
    attorney: Attorney, django_capture_on_commit_callbacks: Any
) -> None:
    attorney.user.email = "att@example.org"
    attorney.user.save()
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/attorney/password-reset/", {"email": "att@example.org"})
    uid, token = _link(mail.outbox[0], "/attorney/password-reset/").rstrip("/").split("/")[-2:]
    assert client.get(f"/attorney/verify/{uid}/{token}/").status_code == 400
    assert "_auth_user_id" not in client.session


def test_tokens_are_separated_by_purpose(attorney: Attorney) -> None:
    from apps.accounts import tokens

    generators = [
        tokens.attorney_verify_token,
        tokens.attorney_reset_token,
        tokens.staff_reset_token,
        tokens.email_change_token,
    ]
    assert len({g.key_salt for g in generators}) == 4
    user = attorney.user
    for maker in generators:
        token = maker.make_token(user)
        for checker in generators:
            assert checker.check_token(user, token) is (checker is maker)


def test_reset_requests_are_audited_with_a_keyed_address_and_rate_limited(
    attorney: Attorney, settings: Any
) -> None:
    settings.ACCOUNT_EMAIL_LIMITS = {"address": [(3600, 2)], "ip": [(3600, 50)]}
    client = Client()
    statuses = [
        client.post("/attorney/password-reset/", {"email": "who@example.org"}).status_code for _ in range(3)
    ]
    assert statuses == [302, 302, 429]
    staff = [client.post("/password-reset/", {"email": "who@example.org"}).status_code]
    assert staff == [429]
    events = list(AuditEvent.objects.filter(action="password_reset.requested").order_by("pk"))
    assert [e.outcome for e in events] == ["success", "success", "denied", "denied"]
    for event in events:
        assert "who@example.org" not in str(event.details)
        assert event.details["email_ref"] == events[0].details["email_ref"]


@pytest.mark.parametrize("path", ["/attorney/password-reset/", "/password-reset/"])
def test_the_reset_answer_does_the_same_work_whether_or_not_the_account_exists(
    path: str, attorney: Attorney, django_capture_on_commit_callbacks: Any
) -> None:
    clerk = actor("desk", "registry_clerk").user
    clerk.email = "desk@example.org"
    clerk.save()
    attorney.user.email = "att@example.org"
    attorney.user.save()
    known = "att@example.org" if path.startswith("/attorney/") else "desk@example.org"
    shapes = []
    for address in (known, "nobody@example.org"):
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = Client().post(path, {"email": address})
        # Nothing is looked up or sent while answering: a task decides after the commit.
        assert mail.outbox == []
        # (the audit's sealing callback is shared by every commit of the test, so count ours)
        sends = [cb for cb in callbacks if "password_reset_enqueue" in getattr(cb, "__qualname__", "")]
        shapes.append((response.status_code, response["Location"], len(queries), len(sends)))
    assert shapes[0] == shapes[1] and shapes[0][3] == 1
