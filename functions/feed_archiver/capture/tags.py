"""Which tags an item is counted under once its article is captured (see docs/tagging.md).

An item carries two sets of tags: the feed's (title, teaser and any content the
feed gives, tagged when it is archived) and the article's (the captured page's
main text, in its `capture` object). The counters, the index and the
document's top-level `countries`, `regions` and `programmes` use COUNTED_SOURCE,
chosen by precision and recall on hand-labelled examples
(tests/unit/test_tag_sources.py asserts it is still the best by F1):

- TEASER: the feed's tags only;
- ARTICLE: the article's tags once it is captured, the feed's before;
- UNION: both.

Only a capture with status `captured` contributes; until then an item is
counted under its feed tags. Light on purpose: items.py and retag import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from feed_archiver.archive_format import UNSPECIFIED_REGION
from feed_archiver.tag import Tags

TEASER, ARTICLE, UNION = "teaser", "article", "union"
SOURCES = (TEASER, ARTICLE, UNION)
COUNTED_SOURCE = UNION

CAPTURED = "captured"
TAG_FIELDS = ("countries", "regions", "programmes")


def combine(feed: Tags, article: Tags | None, source: str = COUNTED_SOURCE) -> Tags:
    """The tags counted for an item with these feed and article tags (None: not captured)."""
    if article is None or source == TEASER:
        return feed
    if source == ARTICLE:
        return Tags(
            feed.category, feed.headline, article.countries, article.regions, article.programmes
        )
    regions = (set(feed.regions) | set(article.regions)) - {UNSPECIFIED_REGION}
    return Tags(
        category=feed.category,
        headline=feed.headline,
        countries=tuple(sorted(set(feed.countries) | set(article.countries))),
        regions=tuple(sorted(regions)) or (UNSPECIFIED_REGION,),
        programmes=tuple(sorted(set(feed.programmes) | set(article.programmes))),
    )


def capture_tags(capture: Mapping[str, Any] | None) -> Tags | None:
    """The article's tags from a `capture` object, or None when it adds none (not captured)."""
    if not capture or capture.get("status") != CAPTURED:
        return None
    return Tags(
        category="",
        headline="",
        countries=tuple(capture.get("countries") or ()),
        regions=tuple(capture.get("regions") or (UNSPECIFIED_REGION,)),
        programmes=tuple(capture.get("programmes") or ()),
    )


def counted_tags(feed: Tags, capture: Mapping[str, Any] | None) -> Tags:
    """The tags an item with `capture` is counted under."""
    return combine(feed, capture_tags(capture))


def carried_capture(previous: Mapping[str, Any] | None, link: str | None) -> dict[str, Any] | None:
    """The capture a new revision of an item keeps from its index record (`previous`).

    Same link: the capture as it is. A changed link: the old capture is of another
    page, so it stays on record but is `pending` again and adds no tags.
    """
    capture = previous.get("capture") if previous else None
    if not isinstance(capture, Mapping):
        return None
    kept = dict(capture)
    if kept.get("requested_url") not in (None, link):
        kept["status"] = "pending"
    return kept


def counted_version(capture: Mapping[str, Any] | None, current: str) -> str:
    """The tagger_version of an item counted with `capture`: an article tagged by an older
    tagger makes the item look older, so `retag` visits it again."""
    older = capture.get("tagger_version") if capture and capture_tags(capture) else None
    return older if isinstance(older, str) and older and older != current else current
