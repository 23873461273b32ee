"""Synthetic feed history built from the seed fixture, for the history tests.

The seed holds the ten items of 16 July 2019. `HISTORY` adds ten older items
made from them (same text, another link, title and date), oldest first, so a
"window" of ten consecutive items is the feed as it stood at some point:
window(0) is the oldest feed, window(10) the seed's items.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

from tests.conftest import SEED_XML

FEED_URL = "https://www.icmpd.org/home/?type=100"
WINDOW = 10

_ITEM = re.compile(r"    <item>.*?</item>\n", re.DOTALL)
_FIELD = {
    name: re.compile(rf"<{name}>(.*?)</{name}>", re.DOTALL)
    for name in ("title", "link", "pubDate", "description")
}


@dataclass(frozen=True)
class Item:
    xml: str  # the <item> element as in the seed, fields replaced below
    title: str
    link: str
    published: datetime
    description: str

    def render(self) -> str:
        xml = self.xml
        for name, value in (
            ("title", self.title),
            ("link", self.link),
            ("pubDate", format_datetime(self.published)),
            ("description", self.description),
        ):
            # Spliced, not substituted: the values may hold backslashes.
            match = _FIELD[name].search(xml)
            assert match is not None
            xml = f"{xml[: match.start()]}<{name}>{value}</{name}>{xml[match.end() :]}"
        return xml


def _field(block: str, name: str) -> str:
    match = _FIELD[name].search(block)
    assert match is not None, f"the seed item has no <{name}>"
    return match.group(1)


@functools.cache
def _seed() -> tuple[str, tuple[Item, ...], str]:
    text = SEED_XML.read_text("utf-8")
    blocks = _ITEM.findall(text)
    head = text[: text.index(blocks[0])]
    tail = text[text.index(blocks[-1]) + len(blocks[-1]) :]
    items = tuple(
        Item(
            xml=block,
            title=_field(block, "title"),
            link=_field(block, "link"),
            published=parsedate_to_datetime(_field(block, "pubDate")),
            description=_field(block, "description"),
        )
        for block in blocks
    )
    return head, items, tail


@functools.cache
def history() -> tuple[Item, ...]:
    """Twenty items, oldest first: ten made-up older ones, then the seed's ten."""
    _, seed, _ = _seed()
    newest_first = list(seed)
    older = [
        replace(
            item,
            title=item.title.replace(":", ": Earlier", 1) if ":" in item.title else item.title,
            link=item.link.rstrip("/") + f"-earlier-{n}/",
            published=item.published - timedelta(days=60),
        )
        for n, item in enumerate(seed)
    ]
    return tuple(reversed(newest_first + older))


def window(start: int, *, edits: dict[int, str] | None = None) -> list[Item]:
    """The ten items history()[start:start+10], with descriptions replaced per `edits`."""
    items = list(history()[start : start + WINDOW])
    for index, description in (edits or {}).items():
        items[index - start] = replace(items[index - start], description=description)
    return items


def feed_xml(items: list[Item], *, build_date: datetime | None = None) -> bytes:
    """An RSS 2.0 feed of `items` (newest first), lastBuildDate = newest item unless given."""
    head, _, tail = _seed()
    newest = max(item.published for item in items)
    head = re.sub(
        r"<lastBuildDate>.*?</lastBuildDate>",
        f"<lastBuildDate>{format_datetime(build_date or newest)}</lastBuildDate>",
        head,
    )
    ordered = sorted(items, key=lambda i: i.published, reverse=True)
    return (head + "".join(i.render() for i in ordered) + tail).encode("utf-8")
