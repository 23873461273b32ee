"""The capture subcommands of `feed-archiver`: capture and show.

cli.py calls `register_capture_commands(add)`. `capture` runs the same code as
the capture Lambda (`capture_item`); its JSON summary goes to stdout, the
progress bar to stderr. Exit codes as in cli.py: 0 done (robots_disallowed,
not_html and gone are outcomes, not failures), 1 some capture failed, 2
nothing could start. trafilatura, warcio and protego load only when a capture runs.
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.cli_common import AddCommand, settings_from
from feed_archiver.errors import ConfigError, ExitCode
from feed_archiver.storage import Store

_KEY = re.compile(r"[0-9a-f]{32}")
# Control characters (but newline and tab): stored text never drives the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def register_capture_commands(add: AddCommand) -> None:
    """Add `capture` and `show` to the feed-archiver parser."""
    capture = add(
        "capture",
        cmd_capture,
        "capture items' article pages as WARC and main text, politely (robots.txt, a pause per host)",
    )
    capture.add_argument(
        "--missing",
        action="store_true",
        help="every item not captured yet (no capture, pending or failed)",
    )
    capture.add_argument(
        "--item",
        action="append",
        default=[],
        metavar="ID",
        help="an item's id (its guid or link) or key; captured again even if captured (repeatable)",
    )
    capture.add_argument("--dry-run", action="store_true", help="list the items, fetch nothing")
    capture.add_argument("--quiet", action="store_true", help="no progress bar")
    capture.add_argument(
        "--allow-private-networks",
        action="store_true",
        help="allow article pages on private/loopback addresses (local demo and tests only)",
    )
    show = add("show", cmd_show, "print an item and its captured article text, as plain text")
    show.add_argument("id", metavar="ID", help="the item's id (its guid or link) or key")


def item_keys(values: list[str], store: Store) -> list[str]:
    """Keys for ids or keys: a key as given, else the key of the id (or of the normalised link)."""
    from feed_archiver.identity import normalise_link

    keys = []
    for value in values:
        value = value.strip()
        if _KEY.fullmatch(value):
            keys.append(value)
            continue
        candidates = list(dict.fromkeys([fmt.item_key(value), fmt.item_key(normalise_link(value))]))
        found = store.get_index_records(candidates)
        keys.append(next((k for k in candidates if k in found), candidates[0]))
    return keys


def cmd_capture(args: argparse.Namespace) -> int:
    from feed_archiver.capture.missing import capture_keys, capture_missing
    from feed_archiver.progress import terminal_progress
    from feed_archiver.publish import publish_after_run

    if not args.missing and not args.item:
        raise ConfigError("which items? give --missing, or --item ID (repeatable)")
    settings = settings_from(args)
    store = Store.from_settings(settings)
    progress = terminal_progress(quiet=args.quiet)
    if args.item:
        keys = item_keys(args.item, store)
        report = capture_keys(store, settings, keys, dry_run=args.dry_run, progress=progress)
    else:
        report = capture_missing(store, settings, dry_run=args.dry_run, progress=progress)
    output = report.as_dict()
    # The captured text belongs in the exports and the archive feed at once, as for a run.
    published = (
        None if args.dry_run else publish_after_run(store, pool_size=settings.s3_concurrency)
    )
    if published:
        output["published"] = published
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return ExitCode.FAILED if report.failed or (published and "error" in published) else ExitCode.OK


def cmd_show(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    store = Store.from_settings(settings)
    key = item_keys([args.id], store)[0]
    record = store.get_index_records([key]).get(key)
    if record is None:
        raise ConfigError(f"no item {args.id!r} in the archive")
    document = store.get_document(key, record.get("s3_version_id"))
    capture = document.get("capture") if isinstance(document.get("capture"), dict) else None
    text = None
    if capture and capture.get("text_key"):
        text = store.get_capture_text(capture["text_key"])
    print(render(document, capture, text))
    return ExitCode.OK


def render(
    document: dict[str, Any], capture: dict[str, Any] | None, text: dict[str, Any] | None
) -> str:
    """An item as plain text: its fields, its teaser, its captured article."""
    rows = [
        ("Title", document.get("title")),
        ("Key", document.get("key")),
        ("Id", document.get("id")),
        ("Link", document.get("link")),
        ("Feed", document.get("feed_url")),
        (
            "Published",
            document.get("published") or f"unknown (first seen {document.get('first_seen')})",
        ),
        ("Category", document.get("category")),
        ("Countries", ", ".join(document.get("countries") or []) or "none"),
        ("Regions", ", ".join(document.get("regions") or [])),
        ("Programmes", ", ".join(document.get("programmes") or []) or "none"),
        ("Revision", document.get("revision")),
        ("Capture", capture_line(capture)),
    ]
    if capture and capture.get("status") == "captured":
        rows.append(("Article tags", _tag_line(capture)))
        rows.append(("WARC", capture.get("warc_key")))
    lines = [f"{name + ':':<14}{plain(str(value))}" for name, value in rows]
    lines += ["", "Teaser (from the feed):", _wrapped(document.get("summary") or "(none)")]
    if text is not None:
        heading = f"Article text ({text.get('extractor', {}).get('name', 'extractor')}"
        heading += f" {text.get('extractor', {}).get('version', '')}):".replace(" ):", "):")
        lines += ["", heading, plain(str(text.get("text") or "(no main text found)"))]
    elif document.get("content_text"):
        lines += ["", "Content (from the feed):", _wrapped(document["content_text"])]
    return "\n".join(lines)


def capture_line(capture: dict[str, Any] | None) -> str:
    if not capture:
        return "pending (not captured yet)"
    status = capture.get("status", "pending")
    if status == "captured":
        line = f"captured {capture.get('captured_at')} from {capture.get('source')}"
        if capture.get("snapshot_at"):
            line += f" (copy of {capture.get('snapshot_at')})"
        return f"{line}, {capture.get('text_chars', 0):,} characters of text"
    line = f"{status}, checked {capture.get('checked_at')}"
    return f"{line}: {capture['error']}" if capture.get("error") else line


def _tag_line(capture: dict[str, Any]) -> str:
    countries = ", ".join(capture.get("countries") or []) or "no countries"
    regions = ", ".join(capture.get("regions") or [])
    return f"{countries}; {regions}"


def plain(text: str) -> str:
    return _CONTROL.sub("", text)


def _wrapped(text: str) -> str:
    paragraphs = plain(text).split("\n")
    return "\n".join(textwrap.fill(p, width=100) if p.strip() else "" for p in paragraphs)
