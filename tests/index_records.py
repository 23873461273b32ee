"""An index record as the archive writes it, for the store's tests (unit and integration)."""

from __future__ import annotations

from typing import Any

from feed_archiver import archive_format as fmt

FEED = "https://example.org/feed"


def record(
    key: str,
    *,
    revision: int = 1,
    month: str = "2019-07",
    category: str = "Project News",
    regions: tuple[str, ...] = ("Africa",),
    countries: tuple[str, ...] = (),
    version: int | None = fmt.COUNTER_VERSION,
) -> dict[str, Any]:
    """An index record as items.index_record makes it (version None: written before country cells)."""
    made = {
        **fmt.item_pk(key),
        **fmt.month_gsi_keys(month, f"{month}-01T00:00:00Z", key),
        "key": key,
        "feed_url": FEED,
        "month": month,
        "category": category,
        "regions": list(regions),
        "countries": list(countries),
        "revision": revision,
        "content_hash": f"{revision:064x}",
    }
    if version is not None:
        made[fmt.COUNTER_VERSION_FIELD] = version
    return made
