"""Prompt texts (issue 11, section 7): every facility has them, versions are append-only, and
only an admin of the facility publishes, audited."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from django.test import Client

from apps.audit.models import AuditEvent
from apps.common.errors import NotFoundError
from apps.facilities.models import Facility, PromptKind, PromptText
from apps.facilities.prompts import InvalidPromptTextError, current_prompts, prompt_text_publish
from tests.actors import Cast
from tests.factories import FacilityFactory

pytestmark = pytest.mark.django_db
NOTICE = PromptKind.RECORDING_NOTICE


def test_a_new_facility_has_version_1_of_each_prompt() -> None:
    facility = FacilityFactory()
    current = current_prompts(facility)
    assert set(current) == set(PromptKind.values)
    assert {p.version for p in current.values()} == {1}
    assert all(p.text and p.created_by is None for p in current.values())


def test_an_admin_publishes_a_new_version_audited(cast: Cast) -> None:
    prompt = prompt_text_publish(
        facility=cast.facility, kind=NOTICE, text="  Recorded.  ", actor=cast.admin.user
    )
    assert (prompt.version, prompt.text, prompt.created_by) == (2, "Recorded.", cast.admin.user)
    assert current_prompts(cast.facility)[NOTICE] == prompt
    assert PromptText.objects.filter(facility=cast.facility, kind=NOTICE).count() == 2  # v1 kept
    event = AuditEvent.objects.get(action="prompt.published")
    assert event.actor == cast.admin.user and event.facility_id == cast.facility.pk
    assert event.target_id == str(prompt.pk)
    assert event.details["version"] == 2 and event.details["previous_version"] == 1
    assert len(event.details["text_sha256"]) == 64


def test_versions_count_up_per_kind_and_facility(cast: Cast) -> None:
    for text in ("a", "b"):
        prompt_text_publish(facility=cast.facility, kind=NOTICE, text=text, actor=cast.admin.user)
    current = current_prompts(cast.facility)
    assert current[NOTICE].version == 3
    assert current[PromptKind.PRIVATE_CALL_NOTICE].version == 1
    assert current_prompts(cast.other_facility)[NOTICE].version == 1


@pytest.mark.parametrize("who", ["investigator", "officer", "auditor"])
def test_only_an_admin_of_that_facility_publishes(cast: Cast, who: str) -> None:
    with pytest.raises(NotFoundError):
        prompt_text_publish(facility=cast.facility, kind=NOTICE, text="x", actor=getattr(cast, who).user)
    with pytest.raises(NotFoundError):  # an admin of the home facility, not of the other
        prompt_text_publish(facility=cast.other_facility, kind=NOTICE, text="x", actor=cast.admin.user)
    assert not AuditEvent.objects.filter(action="prompt.published").exists()


@pytest.mark.parametrize(("kind", "text"), [(NOTICE, "   "), (NOTICE, "x" * 2001), ("jingle", "x")])
def test_a_bad_text_or_kind_is_refused(cast: Cast, kind: str, text: str) -> None:
    with pytest.raises(InvalidPromptTextError):
        prompt_text_publish(facility=cast.facility, kind=kind, text=text, actor=cast.admin.user)


def test_a_version_is_never_updated_nor_deleted(facility: Facility) -> None:
    prompt = current_prompts(facility)[NOTICE]
    with pytest.raises(DatabaseError), transaction.atomic():
        PromptText.objects.filter(pk=prompt.pk).update(text="We never said that.")
    with pytest.raises(DatabaseError), transaction.atomic():
        PromptText.objects.filter(pk=prompt.pk).delete()
    prompt.refresh_from_db()
    assert prompt.text != "We never said that."


def _portal(cast: Cast, who: str) -> Client:
    client = Client()
    client.force_login(getattr(cast, who).user)
    return client


def test_the_portal_page_lists_and_publishes_for_admins_audited(cast: Cast) -> None:
    client = _portal(cast, "admin")
    page = client.get("/prompts/")
    assert page.status_code == 200
    assert page.content.decode().count("v1") == 2  # the home facility's two defaults only
    read = AuditEvent.objects.get(action="prompts.viewed", actor=cast.admin.user)
    assert read.details["rows"] == 2
    body = {"facility": cast.facility.pk, "kind": NOTICE, "text": "This call is recorded."}
    assert client.post("/prompts/", body).status_code == 302
    assert current_prompts(cast.facility)[NOTICE].text == "This call is recorded."
    assert AuditEvent.objects.filter(action="prompt.published", actor=cast.admin.user).count() == 1


def test_the_portal_refuses_another_facility_and_non_admins(cast: Cast) -> None:
    body = {"facility": cast.other_facility.pk, "kind": NOTICE, "text": "x"}
    assert _portal(cast, "admin").post("/prompts/", body).status_code == 200  # form error
    assert current_prompts(cast.other_facility)[NOTICE].version == 1
    assert _portal(cast, "investigator").get("/prompts/").status_code == 404
