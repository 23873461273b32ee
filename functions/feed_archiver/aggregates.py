"""Counts from the stored counter cells: no item is read to count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from feed_archiver import archive_format as fmt


@dataclass(frozen=True)
class Cell:
    """One counter: items of a feed, month and category (and region, for region cells)."""

    kind: str
    feed: str
    month: str
    category: str
    region: str | None
    n: int


def parse_cells(raw: Mapping[str, int]) -> list[Cell]:
    cells = []
    for sk, n in raw.items():
        kind, feed, month, category, region = fmt.parse_cell_sk(sk)
        cells.append(Cell(kind, feed, month, category, region, n))
    return cells


@dataclass(frozen=True)
class Stats:
    total: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_month: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_category": self.by_category,
            "by_region": self.by_region,
            "by_month": self.by_month,
        }


def _sorted_by_count(counter: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])) if v}


def stats_from_cells(
    cells: list[Cell],
    *,
    feeds: Collection[str] | None = None,
    categories: Collection[str] | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> Stats:
    """Totals by category, region and month. An item counts once in each of its regions."""

    def keep(c: Cell) -> bool:
        return (
            (feeds is None or c.feed in feeds)
            and (categories is None or c.category in categories)
            and (month_from is None or c.month >= month_from)
            and (month_to is None or c.month <= month_to)
        )

    by_category: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    by_region: Counter[str] = Counter()
    for c in filter(keep, cells):
        if c.kind == fmt.TOTAL_CELL:
            by_category[c.category] += c.n
            by_month[c.month] += c.n
        elif c.region is not None:
            by_region[c.region] += c.n
    return Stats(
        total=sum(by_category.values()),
        by_category=_sorted_by_count(by_category),
        by_region=_sorted_by_count(by_region),
        by_month={k: v for k, v in sorted(by_month.items(), reverse=True) if v},
    )


def expected_cells(records: list[Mapping[str, Any]]) -> dict[str, int]:
    """What the counter cells must hold for these items (used by verify)."""
    counts: Counter[str] = Counter()
    for r in records:
        counts.update(
            fmt.cells_for(
                fmt.feed_key(r["feed_url"]), r["month"], r["category"], list(r["regions"])
            )
        )
    return dict(counts)
