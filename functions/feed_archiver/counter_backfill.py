"""`feed-archiver backfill-counters`: count an existing archive's items in the newer cell kinds.

Index records written before country counters existed carry no `counter_version`
(version 1: counted in the total and region cells only). This command scans the
index (maintenance, like `verify` and `retag`; no document is read), and brings
every such record to the current version: one DynamoDB transaction per batch sets
`counter_version` on each record, conditional on its revision, S3 version and
counter version as read, and adds it to its counted and country cells
(storage.Index.upgrade_counters).

Safe while the archiver runs. The archiver's own writes are conditional on the
counter version they read and move exactly the cells of that version, so:
- a record the archiver rewrites before the backfill reaches it comes back at the
  current version and is skipped (its own commit counted it);
- a record the archiver rewrites between the scan and the backfill's transaction
  makes that transaction fail on its condition: the batch is read again and the
  records still behind are counted in a later transaction;
- a record the backfill counted first makes the archiver's transaction fail the same
  way, and the archiver re-plans from the record as it now is.
No count moves twice and none is missed; running it again finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import parse_cells, stats_from_cells
from feed_archiver.storage import IndexChange, Store, counter_deltas

BATCH_SIZE = 500  # records read from the scan per round of transactions
MAX_ROUNDS = 5  # rounds of re-reading records that conflicted with a concurrent writer


@dataclass
class CounterBackfillReport:
    scanned: int = 0  # index records read
    behind: int = 0  # of those, counted at an older counter version
    counted: int = 0  # brought to the current version (dry run: would be)
    moved_on: int = 0  # rewritten by another writer meanwhile: already counted by it
    cells: int = 0  # distinct counter cells the backfill adds to (dry run: would add to)
    errors: list[str] = field(default_factory=list)
    dry_run: bool = False
    total: int | None = None  # items in the archive after the run (from the cells)
    covered: int | None = None  # of those, counted by country

    @property
    def ok(self) -> bool:
        return not self.errors

    def lines(self) -> list[str]:
        verb = "would be counted" if self.dry_run else "counted"
        lines = [
            f"{self.scanned} index records scanned, {self.behind} not counted by country yet: "
            f"{self.counted} {verb} in {self.cells} counter cells"
            + (
                f", {self.moved_on} counted meanwhile by a concurrent write"
                if self.moved_on
                else ""
            )
        ]
        if self.total is not None and self.covered is not None:
            state = "complete" if self.covered == self.total else "not complete yet"
            lines.append(f"country counts cover {self.covered} of {self.total} items: {state}")
        lines += [f"  error: {e}" for e in self.errors]
        return lines


def _behind(
    records: Iterable[dict[str, Any]], report: CounterBackfillReport
) -> Iterator[dict[str, Any]]:
    for record in records:
        report.scanned += 1
        if fmt.counter_version(record) < fmt.COUNTER_VERSION:
            report.behind += 1
            yield record


def _moves(records: Iterable[dict[str, Any]]) -> set[str]:
    """The cells that counting these records at the current version adds to."""
    current = {fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION}
    return set(counter_deltas(IndexChange({**r, **current}, r) for r in records))


def backfill_counters(
    store: Store, *, dry_run: bool = False, batch_size: int = BATCH_SIZE
) -> CounterBackfillReport:
    """Count every index record of an older counter version in the current version's cells."""
    report = CounterBackfillReport(dry_run=dry_run)
    cells: set[str] = set()
    behind = _behind(store.scan_index(), report)
    while batch := list(islice(behind, batch_size)):
        if dry_run:
            cells.update(_moves(batch))
            report.counted += len(batch)
            continue
        _count_batch(store, batch, report, cells)
    report.cells = len(cells)
    stats = stats_from_cells(parse_cells(store.read_cells()))
    report.total, report.covered = stats.total, stats.countries_counted
    return report


def _count_batch(
    store: Store, batch: list[dict[str, Any]], report: CounterBackfillReport, cells: set[str]
) -> None:
    """Upgrade one batch; re-read what conflicted and upgrade what is still behind."""
    remaining = batch
    for _ in range(MAX_ROUNDS):
        result = store.upgrade_counters(remaining)
        report.errors.extend(result.errors)
        done = set(result.committed)
        report.counted += len(done)
        cells.update(_moves(r for r in remaining if r["key"] in done))
        if not result.conflicted:
            return
        current = store.get_index_records(result.conflicted)
        remaining = []
        for key in result.conflicted:
            record = current.get(key)
            if record is None or fmt.counter_version(record) >= fmt.COUNTER_VERSION:
                report.moved_on += 1  # rewritten (and counted) or removed by another writer
            else:
                remaining.append(record)
        if not remaining:
            return
    report.errors.append(
        f"{len(remaining)} index records kept changing under concurrent writes: run it again"
    )
