"""How many items a pass saw and what it did with them: one type for every tally.

An archive pass (archive.ArchiveOutcome), a feed's run summary (run.FeedSummary)
and a history command (history.snapshots.HistoryTally) all count with it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class ItemCounts:
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    older: int = 0  # a newer revision was already stored: left alone
    duplicates: int = 0  # listed again in the same body: the first kept
    # Of those, the ones that differed from the kept entry (noted in its `problems`).
    duplicates_conflicting: int = 0
    # Items archived under an id resolved against a feed URL, now found by an alias
    # of the id as written (aliases.py): written once per item, on the first run that sees it.
    aliased: int = 0

    def add(self, other: ItemCounts) -> None:
        """Add another tally's counts to this one."""
        for f in fields(ItemCounts):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def counts(self) -> ItemCounts:
        """The counts alone, without what a subclass adds."""
        return ItemCounts(**{f.name: getattr(self, f.name) for f in fields(ItemCounts)})
