"""Issue 11, item 8: the dashboard serves this machine only unless exposed on purpose.

The page reads the archive with the operator's AWS credentials and has no
login, so `make dashboard`, the demo and a plain `streamlit run` from the
repository bind 127.0.0.1; `make dashboard DASHBOARD_ADDRESS=0.0.0.0` is the
documented opt-in.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from typing import Any

import pytest

from dashboard import demo
from tests.conftest import ROOT

SECURITY = "Security audit"
LOOPBACK = "127.0.0.1"
_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(\?=|:=|=)\s*(.*)$")
_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def makefile_recipe(target: str, overrides: dict[str, str] | None = None) -> list[list[str]]:
    """The target's recipe lines, as words, with the Makefile's simple variables expanded.

    Like make: a command-line override beats every assignment; `?=` only sets an unset variable.
    """
    variables: dict[str, str] = {}
    recipe: list[str] = []
    in_target = False
    for line in (ROOT / "Makefile").read_text("utf-8").splitlines():
        if line.startswith("\t"):
            if in_target:
                recipe.append(line.strip())
            continue
        in_target = line.startswith(f"{target}:")
        match = _VARIABLE.match(line)
        if match and not in_target:
            name, operator, value = match.groups()
            if operator != "?=" or name not in variables:
                variables[name] = value
    variables.update(overrides or {})

    def expand(text: str) -> str:
        for _ in range(10):  # nested references
            text = _REFERENCE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
        return text

    return [shlex.split(expand(line)) for line in recipe]


def server_address(words: list[str]) -> str | None:
    """The value of Streamlit's --server.address in a command line, or None when absent."""
    for i, word in enumerate(words):
        if word == "--server.address":
            return words[i + 1]
        if word.startswith("--server.address="):
            return word.split("=", 1)[1]
    return None


def streamlit_commands(target: str, overrides: dict[str, str] | None = None) -> list[list[str]]:
    commands = [w for w in makefile_recipe(target, overrides) if "streamlit" in w]
    assert commands, f"no streamlit command in `make {target}`"
    return commands


@pytest.mark.reliability(
    group=SECURITY,
    case="`make dashboard` (the operator's AWS credentials, no login)",
    must_hold="binds 127.0.0.1 by default; `DASHBOARD_ADDRESS=0.0.0.0` exposes it on purpose",
)
def test_make_dashboard_binds_loopback_unless_told_otherwise() -> None:
    # By default
    assert [server_address(c) for c in streamlit_commands("dashboard")] == [LOOPBACK]
    # And with the documented opt-in
    exposed = streamlit_commands("dashboard", {"DASHBOARD_ADDRESS": "0.0.0.0"})
    assert [server_address(c) for c in exposed] == ["0.0.0.0"]


@pytest.mark.reliability(
    group=SECURITY,
    case="the demo's dashboard, and a plain `streamlit run` in the repository",
    must_hold="both bind 127.0.0.1 by default",
)
def test_the_demo_and_a_plain_streamlit_run_bind_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the demo's command line, captured instead of started
    started: list[list[str]] = []

    def popen(command: list[str], **_: Any) -> None:
        started.append(command)

    monkeypatch.setattr(subprocess, "Popen", popen)
    # When the demo starts its dashboard with its default arguments
    args = demo.parse_args([])
    demo.start_dashboard(args.port, args.address)
    # Then Streamlit is told to bind loopback
    assert [server_address(c) for c in started] == [LOOPBACK]
    # And Streamlit's own configuration in the repository says the same
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text("utf-8"))
    assert config["server"]["address"] == LOOPBACK
