"""Issue 15, item 16: API documentation a switch vendor can build from.

The schema is walked as a client generator would read it: every operation has a summary, every
field and parameter a description, the upload documents each refusal with its ``reason``, and
component names read well. The Swagger UI and Redoc pages load nothing from another origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from apps.accounts.roles import INVESTIGATOR
from tests.actors import actor

UPLOAD = "/api/v1/calls/{call_id}/recording/"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def _properties(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of every object schema below ``node``, with where it was found."""
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{where}.{name}", prop
        for key, value in node.items():
            yield from _properties(value, f"{where}.{key}" if key != "properties" else where)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{where}[{i}]")


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_has_a_summary(schema: dict[str, Any]) -> None:
    missing = [name for name, operation in _operations(schema) if not operation.get("summary")]
    assert missing == []
    assert len(list(_operations(schema))) > 40


def test_every_field_and_parameter_has_a_description(schema: dict[str, Any]) -> None:
    fields = list(_properties(schema["components"]["schemas"], "components"))
    fields += [item for name, operation in _operations(schema) for item in _properties(operation, name)]
    undescribed = [where for where, prop in fields if not prop.get("description")]
    parameters = [
        f"{name} {parameter['name']}"
        for name, operation in _operations(schema)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []
    assert parameters == []
    assert len(fields) > 150


def test_inmate_is_said_to_be_the_booking_number(schema: dict[str, Any]) -> None:
    setup = schema["components"]["schemas"]["CallSetupRequest"]["properties"]
    assert "booking number" in setup["inmate"]["description"]


def test_the_upload_documents_every_refusal_with_its_reasons(schema: dict[str, Any]) -> None:
    responses = schema["paths"][UPLOAD]["put"]["responses"]
    expected = {
        "400": {"checksum_required", "checksum_mismatch", "invalid_checksum_header", "empty_body"},
        "403": {"privileged"},
        "404": {"not_found"},
        "409": {"recording_exists"},
        "413": {"too_large"},
        "415": {"unsupported_media_type"},
        "503": {"storage_unavailable"},
    }
    for code, reasons in expected.items():
        response = responses[code]
        examples = response["content"]["application/json"]["examples"].values()
        assert reasons <= {example["value"]["reason"] for example in examples}, code
        assert all(f"`{reason}`" in response["description"] for reason in reasons), code
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_component_names_read_well(schema: dict[str, Any]) -> None:
    names = set(schema["components"]["schemas"])
    assert {"CallSetupRequest", "CallDecision", "CallEndRequest", "Recording", "Error"} <= names
    assert [n for n in names if re.search(r"View|Output|Input", n)] == []


# --- the pages --------------------------------------------------------------------------------

ADDRESSES = re.compile(r"""\b(?:src|href|spec-url)=["']([^"']+)["']""")


def _local_only(html: str) -> list[str]:
    addresses = ADDRESSES.findall(html)
    assert addresses
    for address in addresses:
        assert address.startswith("/") and not address.startswith("//"), address
    return addresses


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_only_our_own_files(db: None, path: str) -> None:
    client = Client()
    client.force_login(actor("ivy", INVESTIGATOR).user)
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "http://" not in html and "https://" not in html
    for address in _local_only(html):
        if address.startswith("/static/"):
            assert finders.find(address.removeprefix("/static/")), address
    # The policy stays strict for scripts: ours only, nothing inline.
    policy = page["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "default-src 'self'" in policy
    assert "<script>" not in html


def test_swagger_ui_starts_from_a_script_file_not_an_inline_script(db: None) -> None:
    client = Client()
    client.force_login(actor("ivy", INVESTIGATOR).user)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content and b"/api/schema/" in script.content
    assert b"https://" not in script.content  # no validator badge, no CDN


def test_an_anonymous_visitor_is_asked_to_sign_in(db: None) -> None:
    for path in ["/api/docs/", "/api/redoc/"]:
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
