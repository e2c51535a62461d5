"""The Django admin is no way around I1-I4 (issue 9, finding 7).

A superuser holds every model permission, so the admin must itself refuse what would break an
invariant: registry, calls, recordings, grants and canaries are read-only there; nothing the
admin shows unmasks a privileged number; call records it lists are charged to the superuser's
``call_rows`` quota; every permission change names who got what on which object.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.access.models import Canary, ExportRequest, QuotaUsage, Suspension
from apps.actions.registry import exempt_number_verify
from apps.audit.models import AuditEvent
from apps.calls.models import Call, Decision
from apps.facilities.models import Facility
from apps.inmates.models import Inmate
from apps.recordings.models import Recording
from apps.registry.models import Attorney, ExemptNumber, ExemptStatus
from apps.registry.services import exempt_number_register
from tests.actors import actor
from tests.factories import CallFactory, InmateFactory, UserFactory

pytestmark = pytest.mark.django_db

NUMBER = "+12125550123"


@pytest.fixture
def root() -> tuple[User, Client]:
    user = UserFactory(username="root-admin", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.fixture
def verified(attorney: Attorney) -> ExemptNumber:
    clerk = actor("adm-clerk", "registry_clerk").user
    exempt = exempt_number_register(attorney=attorney, number=NUMBER, actor=attorney.user)
    verified, _ = exempt_number_verify(
        exempt_number_id=exempt.pk, clerk=clerk, effective_until=timezone.now() + timedelta(days=200)
    )
    return verified


@pytest.fixture
def privileged_call(facility: Facility, verified: ExemptNumber) -> Call:
    inmate = InmateFactory(facility=facility)
    return CallFactory(
        inmate=inmate,
        dialed_number=NUMBER,
        decision=Decision.EXEMPT,
        privileged=True,
        reason="verified_attorney_number",
        exempt_number=verified,
    )


# --- the registry ------------------------------------------------------------------------


def test_a_superuser_cannot_delete_a_verified_registration(
    root: tuple[User, Client], verified: ExemptNumber
) -> None:
    _, client = root
    url = reverse("admin:registry_exemptnumber_delete", args=[verified.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert ExemptNumber.objects.filter(pk=verified.pk, status=ExemptStatus.VERIFIED).exists()


def test_the_bulk_delete_action_is_gone_from_the_registry(
    root: tuple[User, Client], verified: ExemptNumber
) -> None:
    _, client = root
    url = reverse("admin:registry_exemptnumber_changelist")
    response = client.post(
        url, {"action": "delete_selected", "_selected_action": [verified.pk], "post": "yes"}
    )
    assert ExemptNumber.objects.filter(pk=verified.pk).exists()
    assert response.status_code in (200, 302, 403)


@pytest.mark.postgres
def test_the_database_refuses_to_delete_a_verified_registration(verified: ExemptNumber) -> None:
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), transaction.atomic():
        ExemptNumber.objects.filter(pk=verified.pk).delete()
    assert ExemptNumber.objects.filter(pk=verified.pk).exists()


def test_an_attorneys_identity_cannot_be_edited_in_the_admin(
    root: tuple[User, Client], attorney: Attorney
) -> None:
    _, client = root
    url = reverse("admin:registry_attorney_change", args=[attorney.pk])
    before = (attorney.full_name, attorney.bar_number)
    client.post(url, {"full_name": "Someone Else", "bar_state": "NY", "bar_number": "999", "firm": ""})
    attorney.refresh_from_db()
    assert (attorney.full_name, attorney.bar_number) == before


def test_the_registry_pages_never_show_a_registered_number(
    root: tuple[User, Client], verified: ExemptNumber
) -> None:
    _, client = root
    pages = [
        reverse("admin:registry_exemptnumber_changelist"),
        reverse("admin:registry_exemptnumber_change", args=[verified.pk]),
        reverse("admin:registry_exemptnumber_history", args=[verified.pk]),
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert NUMBER not in response.content.decode(), page
        assert NUMBER[2:] not in response.content.decode(), page


def test_searching_the_registry_by_number_is_not_an_oracle(
    root: tuple[User, Client], verified: ExemptNumber
) -> None:
    _, client = root
    url = reverse("admin:registry_exemptnumber_changelist")
    row_link = reverse("admin:registry_exemptnumber_change", args=[verified.pk])
    for query in [NUMBER, NUMBER[2:], "555-0123"]:
        assert row_link not in client.get(url, {"q": query}).content.decode(), query


# --- calls and recordings ----------------------------------------------------------------


def test_call_pages_never_show_the_dialed_number_of_a_privileged_call(
    root: tuple[User, Client], privileged_call: Call
) -> None:
    _, client = root
    for page in [
        reverse("admin:calls_call_changelist"),
        reverse("admin:calls_call_change", args=[privileged_call.pk]),
    ]:
        body = client.get(page).content.decode()
        assert NUMBER not in body, page
        assert NUMBER[2:] not in body, page


def test_call_records_listed_in_the_admin_are_charged_to_call_rows(
    root: tuple[User, Client], facility: Facility
) -> None:
    user, client = root
    inmate = InmateFactory(facility=facility)
    for _ in range(3):
        CallFactory(inmate=inmate)
    response = client.get(reverse("admin:calls_call_changelist"))
    assert response.status_code == 200
    charged = sum(QuotaUsage.objects.filter(user=user, kind="call_rows").values_list("amount", flat=True))
    assert charged == 3
    event = AuditEvent.objects.filter(action="admin.calls_listed", actor=user).get()
    assert event.details["rows"] == 3


def test_the_admin_call_list_refuses_past_the_quota(
    root: tuple[User, Client], facility: Facility, settings: Any
) -> None:
    settings.ACCESS_QUOTAS = {**settings.ACCESS_QUOTAS, "call_rows": [(3600, 2)]}
    _, client = root
    inmate = InmateFactory(facility=facility)
    for _ in range(3):
        CallFactory(inmate=inmate)
    response = client.get(reverse("admin:calls_call_changelist"))
    assert response.status_code == 429
    assert b"quota" in response.content.lower()


def test_calls_and_recordings_cannot_be_changed_or_deleted(
    root: tuple[User, Client], privileged_call: Call
) -> None:
    _, client = root
    assert (
        client.post(
            reverse("admin:calls_call_delete", args=[privileged_call.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Call.objects.filter(pk=privileged_call.pk).exists()
    model_admin = admin.site._registry[Recording]
    request = client.get(reverse("admin:index")).wsgi_request
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


# --- grants, canaries, tokens ------------------------------------------------------------


def test_object_permissions_cannot_be_granted_through_guardians_pages(
    root: tuple[User, Client], facility: Facility
) -> None:
    _, client = root
    url = f"/admin/facilities/facility/{facility.pk}/change/permissions/"
    response = client.get(url)
    assert response.status_code in (302, 404)
    assert b"Object permissions" not in response.content


def test_canaries_are_not_listed_nor_deletable_in_the_admin(root: tuple[User, Client]) -> None:
    _, client = root
    canary = Canary.objects.create(target_type="recordings.recording", target_id="42")
    assert Canary not in admin.site._registry
    assert client.get("/admin/access/canary/").status_code == 404
    assert Canary.objects.filter(pk=canary.pk).exists()


def test_api_tokens_are_not_shown_in_the_admin(root: tuple[User, Client]) -> None:
    from rest_framework.authtoken.models import Token, TokenProxy

    _, client = root
    token = Token.objects.create(user=UserFactory(username="adm-switch"))
    assert TokenProxy not in admin.site._registry
    assert token.key not in client.get("/admin/authtoken/tokenproxy/").content.decode()


def test_suspensions_and_exports_cannot_be_deleted_in_the_admin(root: tuple[User, Client]) -> None:
    _, client = root
    suspension = Suspension.objects.create(user=UserFactory(username="adm-suspended"), rule="manual")
    export = ExportRequest.objects.create(
        requested_by=UserFactory(username="adm-req"), case_reference="C-1", justification="x"
    )
    client.post(reverse("admin:access_suspension_delete", args=[suspension.pk]), {"post": "yes"})
    client.post(reverse("admin:access_exportrequest_delete", args=[export.pk]), {"post": "yes"})
    assert Suspension.objects.filter(pk=suspension.pk).exists()
    assert ExportRequest.objects.filter(pk=export.pk).exists()


def test_inmates_are_read_only_in_the_admin(root: tuple[User, Client], inmate: Inmate) -> None:
    _, client = root
    client.post(reverse("admin:inmates_inmate_delete", args=[inmate.pk]), {"post": "yes"})
    assert Inmate.objects.filter(pk=inmate.pk).exists()


# --- permission changes name who got what on which object --------------------------------


def _change_user(client: Client, user: User, **overrides: Any) -> Any:
    url = reverse("admin:auth_user_change", args=[user.pk])
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "initial-date_joined_0": "2026-01-01",
        "initial-date_joined_1": "00:00:00",
        "groups": [],
        "user_permissions": [],
    }
    data.update(overrides)
    return client.post(url, data)


def test_a_role_given_in_the_admin_names_who_got_which_role(root: tuple[User, Client]) -> None:
    admin_user, client = root
    target = actor("adm-newcomer").user
    investigator_group = Group.objects.get(name="investigator")
    response = _change_user(client, target, groups=[investigator_group.pk])
    assert response.status_code == 302, response.content[:500]
    assert target.groups.filter(name="investigator").exists()
    event = AuditEvent.objects.get(action="permission.changed", target_id=str(target.pk))
    assert event.actor == admin_user
    assert event.details["user"] == "adm-newcomer"
    assert event.details["groups_added"] == ["investigator"]
    assert event.details["groups_removed"] == []


def test_a_permission_and_superuser_flag_given_in_the_admin_are_named(root: tuple[User, Client]) -> None:
    _, client = root
    target = actor("adm-promoted").user
    perm = Permission.objects.get(codename="verify_exemptnumber")
    response = _change_user(client, target, user_permissions=[perm.pk], is_superuser="on", is_staff="on")
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.get(action="permission.changed", target_id=str(target.pk))
    assert event.details["permissions_added"] == ["registry.verify_exemptnumber"]
    assert event.details["flags"] == {"is_staff": [False, True], "is_superuser": [False, True]}


def test_a_groups_permissions_changed_in_the_admin_are_named(root: tuple[User, Client]) -> None:
    _, client = root
    group = Group.objects.create(name="adm-temp")
    perm = Permission.objects.get(codename="verify_exemptnumber")
    url = reverse("admin:auth_group_change", args=[group.pk])
    response = client.post(url, {"name": "adm-temp", "permissions": [perm.pk]})
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.get(action="permission.changed", target_id=str(group.pk))
    assert event.target_type == "auth.group"
    assert event.details["group"] == "adm-temp"
    assert event.details["permissions_added"] == ["registry.verify_exemptnumber"]


# --- the admin matrix: every registered model has a decided policy -----------------------

# Models whose rows a superuser may add, change or delete in the admin: configuration only.
# Every other registered model is read-only there (or changes only through audited services).
WRITABLE = {
    "auth.user": {"add", "change"},
    "auth.group": {"add", "change"},  # deleting either would orphan the trail's names
    "facilities.facility": {"add", "change"},
    "facilities.switchaccount": {"add", "change", "delete"},
    "access.quotalimit": {"add", "change", "delete"},
    "axes.accessattempt": {"delete"},
    "axes.accesslog": set(),
    "axes.accessfailurelog": set(),
}
READ_ONLY = {
    "audit.auditevent",
    "audit.checkpoint",
    "audit.chainverification",
    "inmates.inmate",
    "registry.attorney",
    "registry.exemptnumber",
    "calls.call",
    "recordings.recording",
    "access.suspension",
    "access.exportrequest",
}


def test_every_registered_model_has_a_decided_admin_policy(root: tuple[User, Client]) -> None:
    _, client = root
    request = client.get(reverse("admin:index")).wsgi_request
    seen = set()
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        seen.add(label)
        assert label in WRITABLE or label in READ_ONLY, f"{label} has no admin policy in this test"
        allowed = WRITABLE.get(label, set())
        got = {
            action
            for action, check in [
                ("add", model_admin.has_add_permission(request)),
                ("change", model_admin.has_change_permission(request)),
                ("delete", model_admin.has_delete_permission(request)),
            ]
            if check
        }
        assert got == allowed, f"{label}: admin allows {sorted(got)}, policy is {sorted(allowed)}"
    assert READ_ONLY <= seen


@pytest.mark.parametrize(
    "role", ["facility_admin", "investigator", "privilege_officer", "registry_clerk", "auditor"]
)
def test_no_role_but_superusers_reaches_the_admin(role: str) -> None:
    who = actor(f"adm-{role}", role)
    who.user.is_staff = True
    who.user.save()
    client = Client()
    client.force_login(who.user)
    for url in ["/admin/", "/admin/calls/call/", "/admin/registry/exemptnumber/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], (role, url)
