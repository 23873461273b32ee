"""The README documents every command of the CLI and every environment variable the settings read."""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator
from pathlib import Path

from feed_archiver import settings
from feed_archiver.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
# How an environment variable's name looks: capitals and digits, in words joined by "_".
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[str]:
    """Every subcommand, nested ones as "parent child"."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + name
                yield from commands(sub, f"{prefix}{name} ")


def environment_variables() -> set[str]:
    """Every name settings.py reads: the string constants spelled like a variable."""
    tree = ast.parse(Path(settings.__file__).read_text("utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ENV_NAME.fullmatch(node.value)
    }


def test_every_cli_command_is_in_the_readme() -> None:
    found = list(commands(build_parser()))
    assert {"run", "verify", "import"} <= set(found)  # the walk reaches the subparsers
    missing = [c for c in found if not re.search(rf"feed-archiver {re.escape(c)}\b", README)]
    assert not missing, f"README.md does not show `feed-archiver ...` for: {missing}"


def test_every_environment_variable_is_in_the_readme() -> None:
    names = environment_variables()
    assert {"ARCHIVE_BUCKET", "FEED_URLS", "WAYBACK_CDX_URL"} <= names  # the scan finds them
    missing = sorted(n for n in names if not re.search(rf"`{n}`|\b{n}=", README))
    assert not missing, f"README.md does not mention: {missing}"
