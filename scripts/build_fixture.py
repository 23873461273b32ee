"""Rebuild tests/fixtures/icmpd-news-centre-2019-07.xml from the seed text.

The seed (tests/fixtures/seed/icmpd-news-centre-2019-07.txt, a copy of the
only real sample of the feed) is the RSS 2.0 feed with its tags stripped; see
tests/fixtures/seed/README.md for how the text maps back to elements. This
script puts the tags back, field for field, keeping every character as it is
(typographic quotes, en dashes, non-breaking spaces, the double slash in links).

How the text is split:

- The first line starts with the channel header (the values in CHANNEL, in
  order, separated by single spaces), then lastBuildDate, then the first item.
- An item ends at its pubDate, a line of its own.
- An item starts with "<title> <link> <description>"; the description is a
  teaser ending in "..."; the first paragraph of the content may follow on
  the same line after one space.
- The remaining paragraphs are blank-line-separated blocks. Two places have an
  extra blank line; it is layout, not content, so no empty paragraph is made.

Usage: uv run python scripts/build_fixture.py [--check]
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed" / "icmpd-news-centre-2019-07.txt"
FIXTURE = ROOT / "tests" / "fixtures" / "icmpd-news-centre-2019-07.xml"

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"

# Channel header values, in the order of the seed README's table.
CHANNEL: tuple[tuple[str, str], ...] = (
    ("title", "www.icmpd.org"),
    ("link", "https://www.icmpd.org/"),
    ("description", "NEWS CENTRE"),
    ("language", "en"),
    ("image/title", "www.icmpd.org"),
    ("image/url", "https://www.icmpd.org/typo3conf/ext/tt_news/ext_icon.gif"),
    ("image/link", "https://www.icmpd.org/"),
    ("image/width", "18"),
    ("image/height", "16"),
    ("image/description", "NEWS CENTRE"),
    ("generator", "TYPO3 - get.content.right"),
    ("docs", "http://blogs.law.harvard.edu/tech/rss"),
)

RFC822_DATE = (
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"
)
PUBDATE_LINE = re.compile(rf"^({RFC822_DATE})$", re.MULTILINE)
ITEM_HEAD = re.compile(r"(?P<title>.+?) (?P<link>https?://\S+) (?P<rest>.*)", re.DOTALL)
TEASER_END = "..."


@dataclass(frozen=True)
class SeedItem:
    title: str
    link: str
    description: str
    paragraphs: tuple[str, ...]
    pub_date: str


@dataclass(frozen=True)
class SeedFeed:
    last_build_date: str
    items: tuple[SeedItem, ...]


def parse_seed(text: str) -> SeedFeed:
    """Split the seed text into the channel's lastBuildDate and its items."""
    header = " ".join(value for _, value in CHANNEL) + " "
    if not text.startswith(header):
        raise ValueError("seed does not start with the expected channel header")
    rest = text[len(header) :]
    build = re.match(rf"({RFC822_DATE}) ", rest)
    if build is None:
        raise ValueError("no lastBuildDate after the channel header")
    rest = rest[build.end() :]

    items = []
    start = 0  # each item runs from the end of the previous pubDate line
    for match in PUBDATE_LINE.finditer(rest):
        items.append(_parse_item(rest[start : match.start()], match.group(1)))
        start = match.end()
    if rest[start:].strip():
        raise ValueError("text left over after the last pubDate")
    return SeedFeed(last_build_date=build.group(1), items=tuple(items))


def _parse_item(chunk: str, pub_date: str) -> SeedItem:
    first_line, _, body = chunk.strip("\n").partition("\n")
    head = ITEM_HEAD.fullmatch(first_line)
    if head is None:
        raise ValueError(f"item does not start with title and link: {first_line[:80]!r}")
    teaser_end = head.group("rest").index(TEASER_END) + len(TEASER_END)
    description = head.group("rest")[:teaser_end]
    # The first paragraph may share the line with the teaser, after one space.
    same_line = head.group("rest")[teaser_end:].removeprefix(" ")
    blocks = [same_line] if same_line else []
    blocks += [block for block in re.split(r"\n{2,}", body.strip("\n")) if block]
    if any("\n" in block for block in blocks):
        raise ValueError(f"a paragraph spans lines in {head.group('title')!r}")
    return SeedItem(
        title=head.group("title"),
        link=head.group("link"),
        description=description,
        paragraphs=tuple(blocks),
        pub_date=pub_date,
    )


def render_rss(feed: SeedFeed) -> str:
    """The feed as RSS 2.0 XML, with the content as <p> paragraphs in CDATA."""
    values = dict(CHANNEL)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0" xmlns:content="{CONTENT_NS}">',
        "  <channel>",
    ]
    for name in ("title", "link", "description", "language"):
        lines.append(f"    <{name}>{escape(values[name])}</{name}>")
    lines.append("    <image>")
    for name in ("title", "url", "link", "width", "height", "description"):
        lines.append(f"      <{name}>{escape(values['image/' + name])}</{name}>")
    lines.append("    </image>")
    for name in ("generator", "docs"):
        lines.append(f"    <{name}>{escape(values[name])}</{name}>")
    lines.append(f"    <lastBuildDate>{feed.last_build_date}</lastBuildDate>")
    for item in feed.items:
        lines += _render_item(item)
    lines += ["  </channel>", "</rss>", ""]
    return "\n".join(lines)


def _render_item(item: SeedItem) -> list[str]:
    content = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in item.paragraphs)
    if "]]>" in content:
        raise ValueError("content cannot be put in a CDATA section")
    return [
        "    <item>",
        f"      <title>{escape(item.title)}</title>",
        f"      <link>{escape(item.link)}</link>",
        f"      <description>{escape(item.description)}</description>",
        f"      <content:encoded><![CDATA[{content}]]></content:encoded>",
        f"      <pubDate>{item.pub_date}</pubDate>",
        "    </item>",
    ]


def build() -> str:
    """The fixture XML rebuilt from the seed."""
    return render_rss(parse_seed(SEED.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the fixture is stale")
    args = parser.parse_args(argv)
    xml = build()
    if args.check:
        if FIXTURE.read_text(encoding="utf-8") != xml:
            print(f"{FIXTURE} is out of date: run scripts/build_fixture.py", file=sys.stderr)
            return 1
        return 0
    FIXTURE.write_text(xml, encoding="utf-8")
    print(f"wrote {FIXTURE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
