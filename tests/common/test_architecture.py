"""The README's layer diagram is generated from the import-linter contract, and the check that
keeps them equal (infra/layers.py, run by `make lint`) notices drift and oversized modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _layers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("infra_layers", ROOT / "infra" / "layers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_shows_the_contract_as_it_is() -> None:
    layers = _layers()
    assert layers._readme_block((ROOT / "README.md").read_text()) == layers.render()
    assert layers.main(["layers.py", "--check"]) == 0


def test_every_sanctioned_exception_carries_a_reason() -> None:
    for reason, entries in _layers()._exceptions_with_reasons():
        assert len(reason) > 20 and entries, (reason, entries)


def test_a_changed_contract_fails_the_check_until_the_readme_is_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    layers = _layers()
    pyproject = tmp_path / "pyproject.toml"
    readme = tmp_path / "README.md"
    pyproject.write_text((ROOT / "pyproject.toml").read_text().replace('"apps.access",\n', ""))
    readme.write_text((ROOT / "README.md").read_text())
    monkeypatch.setattr(layers, "PYPROJECT", pyproject)
    monkeypatch.setattr(layers, "README", readme)
    monkeypatch.setattr(layers, "oversized_modules", lambda: [])

    assert layers.main(["layers.py", "--check"]) == 1
    assert layers.main(["layers.py", "--write"]) == 0
    assert layers.main(["layers.py", "--check"]) == 0
    assert "access\n" not in readme.read_text().split("```text")[1].split("```")[0]


def test_a_long_module_needs_a_written_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layers = _layers()
    (tmp_path / "apps").mkdir()
    (tmp_path / "callplatform").mkdir()
    long_body = "x = 1\n" * (layers.MAX_LINES + 1)
    (tmp_path / "apps" / "big.py").write_text('"""Does many things."""\n' + long_body)
    (tmp_path / "apps" / "explained.py").write_text('"""Many things.\n\nSize: one table."""\n' + long_body)
    (tmp_path / "apps" / "small.py").write_text("x = 1\n")
    monkeypatch.setattr(layers, "ROOT", tmp_path)

    assert [line.split(":")[0] for line in layers.oversized_modules()] == ["apps/big.py"]
