"""Index records for the dashboard tests, written through Store.commit like the archiver writes them.

The default set mirrors the real seed (tests/fixtures/icmpd-news-centre-2019-07.xml):
ten items, 8 Project News, 1 Expert Voice, 1 ICMPD Around the Globe;
six in 2019-07 and four in 2019-06.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from feed_archiver import archive_format as fmt
from feed_archiver.storage import FeedState, IndexChange, Store

FEED = "https://www.icmpd.org/home/?type=100"
OTHER_FEED = "https://example.org/other-feed.xml"
HOSTILE_TITLE = "<script>alert(1)</script><img src=x onerror=alert(1)>"

# (category, headline, published, regions, countries)
SEED: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Project News", "MMD Support Project – Rabat Process Thematic Meeting on Border Management",
     "2019-07-16T13:32:30Z", ("Africa", "Europe", "Mediterranean and Middle East"), ("ES", "LB", "MA", "TN")),
    ("Project News", "ICMPD supports Turkey with a new voluntary return programme",
     "2019-07-12T09:00:00Z", ("Europe", "Western Balkans and Türkiye"), ("FR", "TR")),
    ("Expert Voice", "Migration and development: what the Budapest Process learned",
     "2019-07-10T08:00:00Z", ("Silk Routes",), ("AF", "PK")),
    ("Project News", "Prague Process ministerial conference prepared",
     "2019-07-05T10:00:00Z", ("Eastern Europe and Central Asia",), ("CZ", "UA")),
    ("ICMPD Around the Globe", "ICMPD at the Global Forum on Migration and Development",
     "2019-07-03T12:00:00Z", ("Unspecified",), ()),
    ("Project News", "MIEUX supports Ghana on labour migration",
     "2019-07-01T07:30:00Z", ("Africa",), ("GH",)),
    ("Project News", "EUROMED Migration IV regional workshop in Tunis",
     "2019-06-27T11:00:00Z", ("Africa", "Mediterranean and Middle East"), ("JO", "TN")),
    ("Project News", "Border management training for Jordanian officers",
     "2019-06-20T09:15:00Z", ("Mediterranean and Middle East",), ("JO",)),
    ("Project News", "Khartoum Process senior officials meeting",
     "2019-06-12T14:00:00Z", ("Africa",), ("ER", "ET", "SD")),
    ("Project News", "Silk Routes Partnership for Migration steering committee",
     "2019-06-04T08:00:00Z", ("Silk Routes",), ("AF", "BD", "IQ", "PK")),
)  # fmt: skip


def record(
    headline: str,
    *,
    category: str = "Project News",
    published: str | None = "2019-07-01T00:00:00Z",
    first_seen: str = "2019-07-16T14:00:00Z",
    regions: Sequence[str] = ("Unspecified",),
    countries: Sequence[str] = (),
    feed_url: str = FEED,
    link: str | None = None,
    title: str | None = None,
    summary: str | None = None,
) -> dict[str, Any]:
    """One index record shaped like feed_archiver.items.index_record makes it."""
    slug = "-".join(headline.lower().split())[:60]
    link = link if link is not None else f"https://www.icmpd.org/news-centre/news-detail/{slug}/"
    item_id = link or f"sha256:{fmt.sha256_hex(headline)}"
    key = fmt.item_key(f"{item_id}#{headline}")
    month = (published or first_seen)[:7]
    return {
        "schema_version": fmt.SCHEMA_VERSION,
        "id": item_id,
        "key": key,
        "feed_url": feed_url,
        "link": link or None,
        "title": title if title is not None else f"{category}: {headline}",
        "headline": headline,
        "category": category,
        "published": published,
        "date_estimated": published is None,
        "month": month,
        "countries": sorted(countries),
        "regions": sorted(regions),
        "programmes": [],
        "content_hash": fmt.sha256_hex(headline),
        "revision": 1,
        "first_seen": first_seen,
        "first_seen_via": "feed",
        "last_seen": first_seen,
        "tagger_version": "test",
        "s3_key": fmt.item_s3_key(key),
        "s3_version_id": None,
        "summary": summary if summary is not None else f"Summary of {headline}.",
        fmt.COUNTER_VERSION_FIELD: fmt.COUNTER_VERSION,
        **fmt.item_pk(key),
        **fmt.month_gsi_keys(month, published or first_seen, key),
    }


def seed_records() -> list[dict[str, Any]]:
    return [
        record(
            headline, category=category, published=published, regions=regions, countries=countries
        )
        for category, headline, published, regions, countries in SEED
    ]


def write(store: Store, records: Iterable[dict[str, Any]]) -> None:
    """Commit index records and their counter cells, as the archiver does."""
    result = store.commit([IndexChange(new=r, old=None) for r in records])
    assert not result.conflicted


def write_feed_state(store: Store, feed_url: str = FEED, **fields: Any) -> FeedState:
    state = FeedState.new(feed_url)
    state.status = "ok"
    state.last_success = "2019-07-16T14:00:00Z"
    state.last_attempt = "2019-07-16T14:00:00Z"
    for name, value in fields.items():
        setattr(state, name, value)
    store.put_feed_state(state)
    return state


def seed(store: Store) -> list[dict[str, Any]]:
    """The ten seed items and an ok feed state."""
    records = seed_records()
    write(store, records)
    write_feed_state(store)
    return records
