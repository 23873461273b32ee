"""Big feeds made from the seed's ten items: unique links, dates spread over ten years."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache

from benchmarks.aws import ROOT

SEED_XML = ROOT / "tests" / "fixtures" / "icmpd-news-centre-2019-07.xml"
SPAN = timedelta(days=3652)  # ten years

_ITEM = re.compile(r"    <item>.*?</item>\n", re.DOTALL)
_LINK = re.compile(r"<link>(.*?)</link>")
_DATE = re.compile(r"<pubDate>(.*?)</pubDate>")


@dataclass(frozen=True)
class SeedFeed:
    head: str  # the channel up to the first item
    items: tuple[str, ...]  # each <item> element as in the seed, newest first
    tail: str
    newest: datetime  # the newest item's date


@cache
def seed_feed() -> SeedFeed:
    text = SEED_XML.read_text("utf-8")
    blocks = _ITEM.findall(text)
    if not blocks:
        raise RuntimeError(f"no <item> found in {SEED_XML}")
    head = text[: text.index(blocks[0])]
    tail = text[text.index(blocks[-1]) + len(blocks[-1]) :]
    dates = [_DATE.search(block) for block in blocks]
    newest = max(parsedate_to_datetime(d.group(1)) for d in dates if d)
    return SeedFeed(head, tuple(blocks), tail, newest)


def seed_bytes() -> bytes:
    return SEED_XML.read_bytes()


def synthetic_feed(items: int) -> bytes:
    """An RSS 2.0 feed of `items` entries, newest first, ending at the seed's newest date.

    Entry i repeats seed item i mod 10 (so tagging sees real text) with its own
    link (the seed's plus "-i", double slash kept) and a date i/items of ten
    years before the seed's newest one.
    """
    seed = seed_feed()
    step = SPAN / max(items, 1)
    parts = [seed.head]
    for i in range(items):
        block = seed.items[i % len(seed.items)]
        when = seed.newest - step * i
        link = _LINK.search(block)
        if link:
            unique = f"<link>{link.group(1).rstrip('/')}-{i}/</link>"
            block = block[: link.start()] + unique + block[link.end() :]
        block = _DATE.sub(f"<pubDate>{format_datetime(when)}</pubDate>", block, 1)
        parts.append(block)
    parts.append(seed.tail)
    return "".join(parts).encode("utf-8")


def months_spanned(items: int) -> int:
    """How many calendar months a synthetic feed of `items` entries touches (at most 121)."""
    seed = seed_feed()
    step = SPAN / max(items, 1)
    months = {(seed.newest - step * i).strftime("%Y-%m") for i in range(items)}
    return len(months)


def seed_with_one_new_item() -> bytes:
    """The seed feed as it would look an hour later: one new item on top, the ten below.

    The new item repeats the seed's newest one with its own link and a later date.
    """
    seed = seed_feed()
    block = seed.items[0]
    link = _LINK.search(block)
    if link:
        fresh = f"<link>{link.group(1).rstrip('/')}-next/</link>"
        block = block[: link.start()] + fresh + block[link.end() :]
    when = seed.newest + timedelta(hours=1)
    block = _DATE.sub(f"<pubDate>{format_datetime(when)}</pubDate>", block, 1)
    return (seed.head + block + "".join(seed.items) + seed.tail).encode("utf-8")
