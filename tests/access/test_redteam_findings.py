"""Findings of an insider red-team review after the side-paths fixes (each failed before its fix)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.access.anomaly import analyse_new_events
from apps.access.models import Canary, Suspension
from apps.access.suspensions import user_suspend
from apps.facilities.models import Facility
from apps.inmates.services import inmate_grant_create
from tests.actors import actor, staff_member
from tests.factories import CallFactory, InmateFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_reactivation_leaves_an_open_suspension_that_makes_the_user_unsuspendable(
    facility: Facility,
) -> None:
    """Finding 1: a superuser ticks "Active" in /admin/auth/user/<id>/change/ (no reason, no
    Suspension lift); the open Suspension row stays, so the next anomaly hits the
    one_open_suspension_per_user constraint and user_suspend() returns None without
    deactivating the user again."""
    investigator = actor("rt-inv", "investigator").user
    assert user_suspend(user=investigator, rule="canary", details={}) is not None
    investigator.refresh_from_db()
    assert not investigator.is_active

    root = User.objects.create_superuser("rt-root", "root@example.com", "Rt-root-pass-9911")
    admin = Client()
    admin.force_login(root)
    url = f"/admin/auth/user/{investigator.pk}/change/"
    form = {
        "username": investigator.username,
        "is_active": "on",
        "date_joined_0": investigator.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": investigator.date_joined.strftime("%H:%M:%S"),
        "groups": [str(g.pk) for g in investigator.groups.all()],
        "_save": "Save",
    }
    r = admin.post(url, form, HTTP_SEC_FETCH_SITE="same-origin", HTTP_REFERER="http://testserver" + url)
    assert r.status_code == 302, r.content[:500]
    investigator.refresh_from_db()
    # The admin's checkbox does not lift a suspension (only suspension_lift does, with a reason).
    assert not investigator.is_active
    assert Suspension.objects.filter(user=investigator, lifted_at__isnull=True).exists()
    # And whatever reactivates the account outside suspension_lift, the next hit deactivates it.
    User.objects.filter(pk=investigator.pk).update(is_active=True)
    user_suspend(user=investigator, rule="canary", details={"again": True})
    investigator.refresh_from_db()
    assert not investigator.is_active


def test_a_canary_recording_exported_and_downloaded_suspends_nobody(
    facility: Facility, store_recording: Any, django_capture_on_commit_callbacks: Any, celery_eager: None
) -> None:
    """Finding 2: canaries are checked only in event targets and in ``call_ids`` /
    ``recording_ids`` of page reads; export.requested lists ``recordings`` and targets the
    export, so a canary's audio leaves in an export package without any suspension."""
    admin = staff_member(
        "rt-admin",
        "facility_admin",
        facility,
        perms=["manage_facility", "view_facility_calls", "approve_facility_exports"],
    )
    investigator = staff_member("rt-investigator", "investigator", facility, perms=["view_facility_calls"])
    inmate = InmateFactory(facility=facility)
    real = store_recording(CallFactory(inmate=inmate), b"real-audio" * 100)
    canary = store_recording(CallFactory(inmate=inmate), b"canary-audio" * 100)
    Canary.objects.create(target_type="recordings.recording", target_id=str(canary.pk))
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=inmate,
        case_reference="RT-1",
        expires_at=timezone.now() + timedelta(days=1),
    )
    r = investigator.client.post(
        "/api/v1/exports/",
        {"recording_ids": [real.pk, canary.pk], "case_reference": "RT-1", "justification": "x"},
        format="json",
    )
    assert r.status_code == 201, r.content
    export_id = r.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.client.post(f"/api/v1/exports/{export_id}/approve/").status_code == 200
    download = investigator.client.get(f"/api/v1/exports/{export_id}/download/")
    downloaded = download.status_code == 200 and b"".join(download.streaming_content)
    analyse_new_events()
    suspended = Suspension.objects.filter(user=investigator.user).exists()
    assert suspended or not downloaded, "canary audio left in an export; nobody was suspended"


def test_suspension_lift_answers_403_for_an_existing_suspension_and_404_for_a_missing_one(
    attorney_client: Any,
) -> None:
    """Finding 3: any authenticated account (here an attorney) learns which suspension ids exist."""
    victim = UserFactory(username="rt-victim")
    suspension = user_suspend(user=victim, rule="canary", details={})
    assert suspension is not None
    existing = attorney_client.post(
        f"/api/v1/suspensions/{suspension.pk}/lift/", {"reason": "x"}, format="json"
    )
    missing = attorney_client.post(
        f"/api/v1/suspensions/{suspension.pk + 1000}/lift/", {"reason": "x"}, format="json"
    )
    assert existing.status_code == missing.status_code == 404, (existing.status_code, missing.status_code)


def test_a_grant_on_a_canary_inmate_is_a_canary_hit(facility: Facility) -> None:
    """No workflow grants access to a planted inmate: the granting admin is suspended."""
    admin = staff_member(
        "rt-granting-admin", "facility_admin", facility, perms=["manage_facility", "view_facility_calls"]
    )
    investigator = staff_member("rt-grantee", "investigator", facility, perms=["view_facility_calls"])
    canary_inmate = InmateFactory(facility=facility)
    Canary.objects.create(target_type="inmates.inmate", target_id=str(canary_inmate.pk))
    inmate_grant_create(
        granted_by=admin.user,
        investigator=investigator.user,
        inmate=canary_inmate,
        case_reference="RT-2",
        expires_at=timezone.now() + timedelta(days=1),
    )
    analyse_new_events()
    assert Suspension.objects.filter(user=admin.user, rule="canary").exists()


def test_an_honest_first_search_never_opens_on_a_canary(facility: Facility, store_recording: Any) -> None:
    """Red-team observation: a canary "just ended" was the first row of the default call list,
    so an investigator's first unfiltered search suspended them. Canaries are weeks old."""
    from apps.access.canaries import canaries_plant

    investigator = staff_member("rt-honest", "investigator", facility)
    inmate = InmateFactory(facility=facility)
    for days in (1, 2, 3):  # real traffic of the last days; canaries are planted today
        store_recording(CallFactory(inmate=inmate, started_at=timezone.now() - timedelta(days=days)))
    canaries_plant(facility=facility, count=2, actor=UserFactory(username="rt-planter"))
    response = investigator.client.get("/api/v1/calls/?page_size=3")
    assert response.status_code == 200
    analyse_new_events()
    assert not Suspension.objects.filter(user=investigator.user).exists()
    deep = investigator.client.get("/api/v1/calls/?page_size=50")  # a bulk read reaches them
    assert deep.status_code == 200
    analyse_new_events()
    assert Suspension.objects.filter(user=investigator.user, rule="canary").exists()
