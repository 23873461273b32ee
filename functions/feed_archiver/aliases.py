"""Which key an entry is archived under: each item once per body, and aliases.

`keep_first`: a body that lists one id twice keeps the first entry in document
order; a repeat that differs is counted and noted on the kept entry.

Aliases: items archived under an id resolved against a feed URL, found again by
the id as written.

Before ids were kept as written, an RSS guid that is not a URL (`<guid>12345</guid>`)
and an Atom id (`<id>t3_42tizy</id>`) were archived as feedparser resolves them
against the URL the feed came from (https://site.example/12345). The parser now
gives both: `Entry.guid`, the id as written, and `Entry.resolved_guid`, the old
resolved one. When the index has no item under the id as written but has one
under the resolved id, the archive writes an alias once: ALIAS#<key of the id as
written> names the key the item is archived under. The planner then plans the
entry against that item: it keeps its key, document, revision and counts
(nothing moves, no counter changes), and every later run finds it through the
alias whatever URL the feed is fetched from. docs/archive-format.md, "Ids as written, and
id aliases".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from feed_archiver import archive_format as fmt
from feed_archiver.counts import ItemCounts

if TYPE_CHECKING:
    from feed_archiver.parse import Entry
    from feed_archiver.storage import Store


def alias_targets(
    store: Store,
    entries: Mapping[str, Entry],
    *,
    feed_url: str,
    seen_at: str,
    write: bool = True,
) -> tuple[dict[str, str], int]:
    """For entries keyed by the id as written: {key: key the item is archived under}
    for those archived under their resolved id, and how many aliases were new.

    A new alias is written (unless `write` is false: a dry run) before anything
    of the item is, so a crash after it leaves nothing to redo.
    """
    candidates = {key: entry for key, entry in entries.items() if entry.resolved_guid}
    if not candidates:
        return {}, 0
    legacy = {key: fmt.item_key(str(entry.resolved_guid)) for key, entry in candidates.items()}
    records = store.get_index_records([*candidates, *legacy.values()])
    unindexed = [key for key in candidates if key not in records]
    aliases = store.get_aliases(unindexed)
    targets: dict[str, str] = {}
    created = 0
    for key in unindexed:
        alias = aliases.get(key)
        if alias is None:
            old = records.get(legacy[key])
            if old is None:
                continue  # not archived under either id: a new item
            alias = {
                "id": candidates[key].guid,
                "target": legacy[key],
                "target_id": old["id"],
                "feed_url": feed_url,
                "created": seen_at,
            }
            if not write or store.put_alias(key, alias):
                created += 1
            else:  # another run wrote it meanwhile: follow theirs
                alias = store.get_aliases([key])[key]
        targets[key] = str(alias["target"])
    return targets, created


def keep_first(unique: dict[str, Entry], key: str, entry: Entry, outcome: ItemCounts) -> None:
    """Add `entry` under `key` unless an entry of the item is there: the first in document
    order is kept. A repeat is counted; one that differs is also noted on the kept entry."""
    kept = unique.get(key)
    if kept is None:
        unique[key] = entry
        return
    outcome.duplicates += 1
    if replace(kept, problems=()) != replace(entry, problems=()):
        outcome.duplicates_conflicting += 1
        title = entry.title if len(entry.title) <= 80 else entry.title[:80] + "…"
        note = (
            "another entry with the same id was in the same body and was dropped: "
            f"{title or '(untitled)'}"
        )
        unique[key] = replace(kept, problems=(*kept.problems, note))


def aliased_entries(
    store: Store,
    unique: dict[str, Entry],
    outcome: ItemCounts,
    *,
    feed_url: str,
    seen_at: str,
    write: bool = True,
) -> dict[str, Entry]:
    """The entries keyed by the key their item is archived under: an entry whose item was
    archived under its resolved id (before ids were kept as written) by that item's key."""
    targets, created = alias_targets(store, unique, feed_url=feed_url, seen_at=seen_at, write=write)
    outcome.aliased += created
    if not targets:
        return unique
    rekeyed: dict[str, Entry] = {}
    for key, entry in unique.items():
        keep_first(rekeyed, targets.get(key, key), entry, outcome)
    return rekeyed
