"""What every `feed-archiver` subcommand shares: its settings, its store, its shape.

cli.py (the core commands) and history/cli.py (the history commands) both import
this module; neither imports the other's commands back.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from feed_archiver.settings import Settings, load_settings
from feed_archiver.storage import Store

# A subcommand: parsed arguments in, an ExitCode out.
Command = Callable[[argparse.Namespace], int]
# Registers a subcommand: (name, command, help) -> its argument parser.
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


def settings_from(args: argparse.Namespace, *, require_feeds: bool = False) -> Settings:
    """Settings from the environment, with the command's --allow-private-networks applied."""
    allow = bool(getattr(args, "allow_private_networks", False))
    return load_settings(require_feeds=require_feeds, allow_private_networks=allow)


def store_for(args: argparse.Namespace) -> Store:
    """The archive the settings name (clients built from the standard AWS variables)."""
    return Store.from_settings(settings_from(args))
