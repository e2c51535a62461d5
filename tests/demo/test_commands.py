from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.recordings.models import Recording, RecordingState
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_demo_prints_the_documented_json_and_is_idempotent() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert set(data) == {"facilities", "inmates", "users", "second_users", "attorneys", "grants"}
    assert set(data["users"]) == {
        "facility_admin",
        "investigator",
        "privilege_officer",
        "registry_clerk",
        "auditor",
    }
    assert {"code", "name", "region", "switch_token"} <= set(data["facilities"][0])
    assert all(n.startswith("+1") for a in data["attorneys"] for n in a["numbers"])
    again = io.StringIO()
    call_command("seed_demo", "--json", stdout=again)
    assert json.loads(again.getvalue()) == data


def test_seed_demo_never_prints_secrets_without_json() -> None:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    data = io.StringIO()
    call_command("seed_demo", "--json", stdout=data)
    token = json.loads(data.getvalue())["users"]["auditor"]["token"]
    assert token not in out.getvalue()


def test_seeded_tokens_work_against_the_api() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--json", stdout=out)
    data = json.loads(out.getvalue())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {data['attorneys'][0]['token']}")
    listed = client.get("/api/v1/attorney/numbers/").json()
    assert {n["number"] for n in listed["results"]} == set(data["attorneys"][0]["numbers"])
    assert all(n["status"] == "verified" for n in listed["results"])


def test_simulate_calls_reports_that_no_privileged_recording_is_stored() -> None:
    out = io.StringIO()
    call_command("simulate_calls", "--calls", "120", "--seed", "7", "--attorney-share", "0.1", stdout=out)
    text = out.getvalue()
    assert "INVARIANT I1 HOLDS" in text
    assert "privileged recordings accessible: 0" in text
    assert "privileged audio stored through the gate: 0" in text
    # Cross-check the report against the database, not only the printed text.
    assert Recording.objects.filter(state=RecordingState.STORED, call__privileged=True).count() == 0
    assert Recording.objects.filter(state=RecordingState.STORED).count() > 50


def test_the_openapi_schema_renders() -> None:
    client = APIClient()
    client.force_authenticate(UserFactory())
    r = client.get("/api/schema/")
    assert r.status_code == 200
    assert b"/api/v1/calls/" in r.content


def test_the_openapi_schema_is_valid_and_every_view_keeps_its_own_input(tmp_path: Any) -> None:
    """A warning here once meant every view's ``Input`` was one component: clients generated
    from the schema would have sent the wrong fields."""
    path = tmp_path / "schema.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(path)
    )
    components = json.loads(path.read_text())["components"]["schemas"]
    assert set(components["CallSetupRequest"]["properties"]) == {
        "switch_call_id",
        "inmate",
        "dialed_number",
        "started_at",
        "station",
    }
    assert "number" in components["InmateClaimRequest"]["properties"]


def test_simulated_inmate_claims_quarantine_on_arrival_and_are_decided() -> None:
    from apps.demo.seed import seed_demo
    from apps.demo.simulator import Simulator
    from apps.recordings.models import Recording
    from apps.registry.models import ClaimStatus, InmateClaim

    simulator = Simulator(seed_demo(), rng_seed=11)
    for _ in range(6):
        simulator._inmate_claim()
    report = simulator.report
    assert report.claims_reported == report.quarantined_on_arrival == 6
    decided = InmateClaim.objects.exclude(status=ClaimStatus.PENDING)
    verified = decided.filter(status=ClaimStatus.VERIFIED).count()
    assert decided.count() == 6 and 0 < verified < 6  # both outcomes happen with this seed
    assert (report.claim_audio_queued_for_review, report.claim_audio_released) == (verified, 6 - verified)
    assert not Recording.objects.filter(state="purged").exists()  # one clerk never purges
    simulator._check_invariant()
    assert report.ok and report.privileged_recordings_accessible == 0
    assert any("inmate claims reported ...... 6" in line for line in report.lines())
