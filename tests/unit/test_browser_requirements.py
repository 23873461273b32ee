"""The browser test's axe-core: pinned, installed by `make browser-deps` and CI, required in CI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import accessibility

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tests" / "browser"
NPM_CI = "npm ci --prefix tests/browser"


def test_given_axe_core_missing_in_ci_when_required_then_the_test_fails_saying_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(accessibility.REQUIRE, "1")
    with pytest.raises(
        pytest.fail.Exception, match=r"axe-core is not installed.*make browser-deps"
    ):
        accessibility.require_axe(tmp_path / "axe.min.js")


def test_given_axe_core_missing_on_a_developer_machine_then_the_test_skips_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(accessibility.REQUIRE, raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"axe-core is not installed.*make browser-deps"
    ):
        accessibility.require_axe(tmp_path / "axe.min.js")


def test_given_axe_core_installed_then_its_script_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(accessibility.REQUIRE, "1")
    axe = tmp_path / "axe.min.js"
    axe.write_text("/* axe */", "utf-8")
    assert accessibility.require_axe(axe) == axe


def test_a_violation_is_reported_with_its_id_impact_help_and_each_target() -> None:
    found = [
        {
            "id": "heading-order",
            "impact": "moderate",
            "help": "Heading levels should only increase by one",
            "helpUrl": "https://example.org/heading-order",
            "nodes": [
                {
                    "target": ["#items"],
                    "html": '<h3 id="items">',
                    "summary": "Heading order invalid",
                },
                {"target": ["iframe", "#inner"], "html": "<h4>", "summary": ""},
            ],
        }
    ]
    report = accessibility.describe(found)
    assert "heading-order (moderate): Heading levels should only increase by one" in report
    assert "  - #items\n" in report and "  - iframe >> #inner\n" in report
    assert "Heading order invalid" in report


def test_no_axe_rule_is_switched_off_and_nothing_is_excluded_without_a_reason() -> None:
    assert all(reason.strip() for reason in accessibility.EXCLUDED.values())
    assert "rules" not in accessibility._RUN and "runOnly" not in accessibility._RUN


def test_axe_core_is_pinned_to_one_version_and_locked() -> None:
    wanted = json.loads((PACKAGE / "package.json").read_text("utf-8"))["devDependencies"]
    lock = json.loads((PACKAGE / "package-lock.json").read_text("utf-8"))
    locked = lock["packages"]["node_modules/axe-core"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", wanted["axe-core"]), "an exact version, no range"
    assert locked["version"] == wanted["axe-core"]
    assert locked["integrity"].startswith("sha512-")
    assert accessibility.AXE.is_relative_to(PACKAGE / "node_modules")


def test_make_browser_deps_and_ci_install_axe_core_into_an_ignored_folder() -> None:
    makefile = (ROOT / "Makefile").read_text("utf-8")
    recipe = makefile.split("\nbrowser-deps:", 1)[1].split("\n\n", 1)[0]
    assert NPM_CI in recipe
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert NPM_CI in ci and ci.index(NPM_CI) < ci.index("make test")
    assert "node_modules/" in (ROOT / ".gitignore").read_text("utf-8").splitlines()
