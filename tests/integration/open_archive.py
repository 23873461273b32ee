"""Helpers for the issue 14 tests: a published seed archive, its feed chain and DuckDB counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import feedparser

from feed_archiver import archive_format as fmt
from feed_archiver.aggregates import Stats, parse_cells, stats_from_cells
from feed_archiver.analytics import open_archive, run_query
from feed_archiver.storage import Store

# Where the tests pretend the bucket's feed/ prefix is served (CloudFront's origin path).
BASE = "https://feed.example.org/"
CATEGORY_SQL = "SELECT category, count(*) FROM items GROUP BY 1"


def stats(store: Store) -> Stats:
    return stats_from_cells(parse_cells(store.read_cells()))


def duckdb_counts(store: Store) -> dict[str, Any]:
    """The counts `stats` gives, computed by DuckDB over the exports."""
    connection = open_archive(store)
    try:

        def counts(sql: str) -> dict[str, int]:
            return {str(k): int(n) for k, n in run_query(connection, sql)[1]}

        return {
            "total": run_query(connection, "SELECT count(*) FROM items")[1][0][0],
            "by_category": counts(CATEGORY_SQL),
            "by_region": counts(
                "SELECT region, count(*) FROM items CROSS JOIN UNNEST(regions) AS t(region) "
                "GROUP BY 1"
            ),
            "by_month": counts("SELECT month, count(*) FROM items GROUP BY 1"),
        }
    finally:
        connection.close()


@dataclass
class Chain:
    """What a feed reader sees following prev-archive from current.atom."""

    current: Any
    pages: list[tuple[str, Any]] = field(default_factory=list)  # (url, parsed), newest first
    documents: dict[str, bytes] = field(default_factory=dict)  # url -> bytes

    @property
    def archived_ids(self) -> Counter[str]:
        return Counter(e.id for _, parsed in self.pages for e in parsed.entries)


def key_of(url: str) -> str:
    assert url.startswith(BASE), url
    return fmt.FEED_PREFIX + url.removeprefix(BASE)


def follow_chain(store: Store, *, limit: int = 500) -> Chain:
    """feedparser reads current.atom, then each prev-archive link (resolved against the
    document's own URL, as a reader does), straight from the bucket."""

    def read(url: str) -> tuple[bytes, Any]:
        data = store.get_feed_document(key_of(url))
        assert data is not None, f"{url} links to a document that is not there"
        return data, feedparser.parse(data, response_headers={"content-location": url})

    url = urljoin(BASE, "current.atom")
    data, parsed = read(url)
    chain = Chain(parsed, documents={url: data})
    while (prev := link(parsed, "prev-archive")) and len(chain.pages) < limit:
        url = urljoin(url, prev)
        assert url not in chain.documents, f"the chain loops at {url}"
        data, parsed = read(url)
        chain.documents[url] = data
        chain.pages.append((url, parsed))
    return chain


def link(parsed: Any, rel: str) -> str | None:
    """The href of the feed-level link `rel`, if any."""
    for found in parsed.feed.get("links", []):
        if found.get("rel") == rel:
            return str(found["href"])
    return None
