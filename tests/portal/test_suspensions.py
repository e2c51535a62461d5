"""Lifting a suspension in the portal (issue 15, demo trap 1): an administrator of every
facility the suspended person works at lifts it with a written reason; nobody else can, and
an id outside that scope answers 404 (audited), whether it exists or not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from apps.access.models import Suspension
from apps.access.suspensions import LiftNotAllowedError, suspension_lift, user_suspend
from apps.audit.models import AuditEvent
from tests.actors import FACILITY_ADMIN, INVESTIGATOR, PASSWORD, Cast, staff_member
from tests.factories import UserFactory
from tests.portal.conftest import logged_in
from tests.portal.test_pages import _without_csrf

pytestmark = pytest.mark.django_db


def _suspend(user: User, rule: str = "canary") -> Suspension:
    suspension = user_suspend(user=user, rule=rule, details={})
    assert suspension is not None
    return suspension


def _denied(user: User) -> bool:
    return AuditEvent.objects.filter(
        action="access.denied", actor=user, details__attempted="suspension.lift"
    ).exists()


def test_an_administrator_lifts_a_suspension_of_their_staff_with_a_reason(
    cast: Cast, django_capture_on_commit_callbacks: object
) -> None:
    suspension = _suspend(cast.investigator.user)
    client = logged_in(cast.admin.user)

    listing = client.get("/staff/suspensions/")
    assert listing.status_code == 200
    assert b"investigator" in listing.content and b"Opened a planted canary record" in listing.content
    assert AuditEvent.objects.filter(action="suspensions.listed", actor=cast.admin.user).exists()

    confirm = client.get(f"/staff/suspensions/{suspension.pk}/lift/")
    assert confirm.status_code == 200
    assert b"will be able to sign in again" in confirm.content

    no_reason = client.post(f"/staff/suspensions/{suspension.pk}/lift/", {"reason": "  "})
    assert no_reason.status_code == 200  # the form again, with its error; nothing lifted
    suspension.refresh_from_db()
    assert suspension.lifted_at is None

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        done = client.post(
            f"/staff/suspensions/{suspension.pk}/lift/", {"reason": "Canary opened in training"}
        )
    assert done.status_code == 302
    suspension.refresh_from_db()
    assert suspension.lifted_by == cast.admin.user and suspension.lift_reason == "Canary opened in training"
    assert User.objects.get(pk=cast.investigator.user.pk).is_active
    assert AuditEvent.objects.filter(action="user.suspension_lifted", actor=cast.admin.user).exists()
    assert [m.subject for m in mail.outbox] == ["[callplatform] suspension of investigator lifted by admin"]
    assert client.get("/staff/suspensions/").content.count(b"Review and lift") == 0


def test_the_second_administrator_recovers_the_first(cast: Cast) -> None:
    """The demo's trap: the only admin opened the canary. A second admin of the facility lifts it."""
    second = staff_member("admin2", FACILITY_ADMIN, cast.facility)
    suspension = _suspend(cast.admin.user)
    with pytest.raises(LiftNotAllowedError):  # never one's own, even if somehow signed in
        suspension_lift(suspension=suspension, lifted_by=cast.admin.user, reason="me")
    r = logged_in(second.user).post(f"/staff/suspensions/{suspension.pk}/lift/", {"reason": "demo reset"})
    assert r.status_code == 302
    assert User.objects.get(pk=cast.admin.user.pk).is_active


def test_someone_who_also_works_elsewhere_is_not_this_administrators_to_lift(cast: Cast) -> None:
    roaming = staff_member("roaming", INVESTIGATOR, cast.facility)
    staff_member("roaming-too", INVESTIGATOR, cast.other_facility)  # someone else, elsewhere
    from guardian.shortcuts import assign_perm

    assign_perm("facilities.view_facility", roaming.user, cast.other_facility)
    suspension = _suspend(roaming.user)
    client = logged_in(cast.admin.user)
    assert b"roaming" not in client.get("/staff/suspensions/").content
    assert client.get(f"/staff/suspensions/{suspension.pk}/lift/").status_code == 404
    assert client.post(f"/staff/suspensions/{suspension.pk}/lift/", {"reason": "x"}).status_code == 404
    assert _denied(cast.admin.user)
    with pytest.raises(LiftNotAllowedError):
        suspension_lift(suspension=suspension, lifted_by=cast.admin.user, reason="x")
    suspension.refresh_from_db()
    assert suspension.lifted_at is None


def test_an_unknown_id_and_a_foreign_one_answer_alike(cast: Cast) -> None:
    foreign = _suspend(staff_member("far", INVESTIGATOR, cast.other_facility).user)
    client = logged_in(cast.admin.user)
    missing = client.get("/staff/suspensions/999999/lift/")
    hidden = client.get(f"/staff/suspensions/{foreign.pk}/lift/")
    assert missing.status_code == hidden.status_code == 404
    assert _without_csrf(missing.content) == _without_csrf(hidden.content)


def test_staff_without_administration_get_404(cast: Cast) -> None:
    suspension = _suspend(staff_member("peer", INVESTIGATOR, cast.facility).user)
    client = logged_in(cast.investigator.user)
    assert client.get("/staff/suspensions/").status_code == 404
    assert client.post(f"/staff/suspensions/{suspension.pk}/lift/", {"reason": "x"}).status_code == 404


def test_compliance_with_the_lift_permission_sees_every_suspension(cast: Cast) -> None:
    from guardian.shortcuts import assign_perm

    compliance = UserFactory(username="compliance-officer")
    assign_perm("access.lift_suspension", compliance)
    suspension = _suspend(staff_member("far", INVESTIGATOR, cast.other_facility).user)
    r = logged_in(compliance).post(f"/staff/suspensions/{suspension.pk}/lift/", {"reason": "reviewed"})
    assert r.status_code == 302
    suspension.refresh_from_db()
    assert suspension.lifted_by == compliance


def test_a_suspended_person_is_told_so_and_whom_to_ask_once_the_password_is_right(cast: Cast) -> None:
    _suspend(cast.investigator.user)
    right = Client().post("/login/", {"username": "investigator", "password": PASSWORD})
    assert right.status_code == 200
    assert b"Your account is suspended since" in right.content
    assert b"admin" in right.content  # the facility's administrator, who can lift it
    wrong = Client().post("/login/", {"username": "investigator", "password": "not-the-password"})
    assert b"suspended" not in wrong.content
    assert b"did not match" in wrong.content


def test_an_account_disabled_without_a_suspension_gets_the_usual_answer(cast: Cast) -> None:
    User.objects.filter(pk=cast.investigator.user.pk).update(is_active=False)
    r = Client().post("/login/", {"username": "investigator", "password": PASSWORD})
    assert b"suspended" not in r.content and b"did not match" in r.content
