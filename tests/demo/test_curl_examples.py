"""Issue 15, item 16: the demo's printed curl examples cover a switch's whole call (setup,
upload, end) and say whose token they use."""

from __future__ import annotations

from apps.demo.management.commands.demo_summary import switch_curl_lines

FACILITY = {"code": "NYC1", "name": "Rikers Demo", "switch_token": "tok-123"}


def test_the_examples_cover_setup_upload_and_end_with_the_facilitys_token() -> None:
    text = "\n".join(switch_curl_lines(FACILITY, "B1001", "http://127.0.0.1:8000"))
    curls = [line for line in text.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 3
    setup, upload, end = curls
    assert setup.endswith("/api/v1/calls/") and '"inmate": "B1001"' in setup
    assert "-X PUT" in upload and "Content-SHA256" in upload and upload.endswith("/recording/")
    assert end.endswith("/end/") and "prompt_played" in end
    assert "switch of NYC1 (Rikers Demo)" in text and "TOKEN=tok-123" in text
    assert all('"Authorization: Token $TOKEN"' in line for line in curls)
