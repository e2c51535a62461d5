"""Authentication and Django-admin acts are captured (through Django's own signals)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import Client

from apps.audit.models import AuditEvent, Outcome
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def _login(client: Client, password: str) -> int:
    response = client.post("/admin/login/", {"username": "officer", "password": password})
    return response.status_code


def test_a_login_and_a_logout_are_recorded() -> None:
    user = UserFactory(username="officer", is_staff=True)
    client = Client()
    assert _login(client, "a-long-test-password") == 302
    client.logout()
    assert [a for a in _actions() if a.startswith("auth.")] == ["auth.login", "auth.logout"]
    assert set(AuditEvent.objects.filter(action__startswith="auth.").values_list("actor_id", flat=True)) == {
        user.pk
    }


def test_a_failed_login_is_recorded_with_the_username_but_never_the_password() -> None:
    UserFactory(username="officer", is_staff=True)
    assert _login(Client(), "wrong-password-123") == 200
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert (event.action, event.outcome, event.actor_id) == ("auth.login_failed", Outcome.DENIED, None)
    assert event.details["username"] == "officer"
    assert "wrong-password-123" not in str(event.details)


def test_a_password_change_is_recorded() -> None:
    user = UserFactory(username="officer")
    user.set_password("another-long-password")
    user.save()
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id) == ("auth.password_changed", user.pk)
    assert "another-long-password" not in str(event.details)


def test_a_password_change_that_rolls_back_leaves_no_event() -> None:
    user = UserFactory(username="officer")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        user.set_password("another-long-password")
        user.save()
        raise ZeroDivisionError
    assert not AuditEvent.objects.exists()


def test_an_ordinary_profile_save_is_not_a_password_change() -> None:
    user = UserFactory(username="officer")
    user.first_name = "Pat"
    user.save()
    assert not AuditEvent.objects.exists()


def test_a_change_made_in_the_admin_is_recorded() -> None:
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    response = client.post("/admin/auth/group/add/", {"name": "night-shift"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.add")
    group = Group.objects.get(name="night-shift")
    assert (event.actor_id, event.target_type, event.target_id) == (admin.pk, "auth.group", str(group.pk))


def test_reading_the_trail_in_the_admin_is_recorded() -> None:
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert AuditEvent.objects.filter(action="audit.events_read", actor=admin).count() == 1
