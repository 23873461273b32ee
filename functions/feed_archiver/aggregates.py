"""Counts from the stored counter cells: no item is read to count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from feed_archiver import archive_format as fmt


@dataclass(frozen=True)
class Cell:
    """One counter: items of a feed, month and category (and region or country, for those cells).

    Kinds: T (every item), R (per region), K (items counted in the country cells),
    C (per country).
    """

    kind: str
    feed: str
    month: str
    category: str
    region: str | None
    n: int
    country: str | None = None


def parse_cells(raw: Mapping[str, int]) -> list[Cell]:
    """Cells from their stored keys; a country-set cell reads as one C cell per country."""
    cells = []
    for sk, n in raw.items():
        kind, feed, month, category, detail = fmt.parse_cell_sk(sk)
        if kind == fmt.COUNTRY_CELL:
            cells.append(Cell(kind, feed, month, category, None, n, detail))
        elif kind == fmt.COUNTRY_SET_CELL:
            cells += [
                Cell(fmt.COUNTRY_CELL, feed, month, category, None, n, country)
                for country in fmt.country_set(detail or "")
            ]
        else:
            cells.append(Cell(kind, feed, month, category, detail, n))
    return cells


@dataclass(frozen=True)
class Stats:
    total: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_month: dict[str, int]
    by_country: dict[str, int] = field(default_factory=dict)
    # Items whose countries by_country covers: `total`, except on an archive from before
    # country counters until `feed-archiver backfill-counters` has run.
    countries_counted: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_category": self.by_category,
            "by_region": self.by_region,
            "by_month": self.by_month,
            "by_country": self.by_country,
            "countries_counted": self.countries_counted,
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
    """Totals by category, region, month and country.

    An item counts once in each of its regions, and once in each of its countries.
    """

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
    by_country: Counter[str] = Counter()
    counted = 0
    for c in filter(keep, cells):
        if c.kind == fmt.TOTAL_CELL:
            by_category[c.category] += c.n
            by_month[c.month] += c.n
        elif c.kind == fmt.COUNTED_CELL:
            counted += c.n
        elif c.country is not None:
            by_country[c.country] += c.n
        elif c.region is not None:
            by_region[c.region] += c.n
    return Stats(
        total=sum(by_category.values()),
        by_category=_sorted_by_count(by_category),
        by_region=_sorted_by_count(by_region),
        by_month={k: v for k, v in sorted(by_month.items(), reverse=True) if v},
        by_country=_sorted_by_count(by_country),
        countries_counted=counted,
    )


def expected_cells(
    records: Iterable[Mapping[str, Any]], *, versions: Mapping[str, int] | None = None
) -> dict[str, int]:
    """What the counter cells must hold for these items (documents or index records).

    `versions` gives an item's counter version by key (verify passes its index
    record's); without it every item counts in every cell kind.
    """
    counts: Counter[str] = Counter()
    for r in records:
        version = versions.get(r["key"], fmt.COUNTER_VERSION) if versions else fmt.COUNTER_VERSION
        counts.update(fmt.record_cells(r, version=version))
    return dict(counts)
