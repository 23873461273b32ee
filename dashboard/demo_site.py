"""The demo's stand-in for www.icmpd.org: an article page for every item of the sample feed.

The sample's links point at https://www.icmpd.org//news-centre/news-detail/<slug>/, pages
that are gone from today's site (and the demo never leaves the machine anyway). So the
demo serves a copy of the feed whose item links point at its own local server, path kept
(`https://www.icmpd.org//news-centre/x/` → `http://127.0.0.1:<port>/news-centre/x/`), and
serves there a page for each item built from the feed itself: the title, the teaser as the
standfirst, the item's content as the body. Around it, what real news pages carry and an
extractor must leave out: navigation, a cookie banner, a related-news sidebar naming other
countries, a footer. No external assets: one inline stylesheet, no script.

Every text is HTML-escaped; the pages are also the fixture pages of the extraction benchmark.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from string import Template
from urllib.parse import urlsplit

HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
# The site the sample's links name, with any run of slashes after it (the feed has two).
SITE = re.compile(rb"<link>https?://(?:www\.)?icmpd\.org/+")
ROBOTS_TXT = b"User-agent: *\nDisallow: /search/\n"
RELATED_COUNT = 4

NAVIGATION = (
    ("/", "Home"),
    ("/about-us/", "About us"),
    ("/our-work/", "Our work"),
    ("/news-centre/", "News Centre"),
    ("/publications/", "Publications"),
    ("/careers/", "Careers"),
    ("/contact/", "Contact"),
)
# The sidebar's offices: country names that an article about something else must not gain.
OFFICES = (
    "Austria", "Belgium", "Bosnia and Herzegovina", "Jordan", "Kyrgyzstan", "Lebanon",
    "Malta", "Nigeria", "Pakistan", "Serbia", "Sweden", "Uzbekistan",
)  # fmt: skip

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$headline - ICMPD</title>
<meta name="description" content="$teaser">
<meta name="author" content="ICMPD News Centre">
<meta property="og:title" content="$headline">
<meta property="og:type" content="article">
<meta property="article:published_time" content="$iso_date">
<link rel="canonical" href="$path">
<style>
body{font-family:Georgia,serif;margin:0;color:#222}
.cookie-banner{background:#17324d;color:#fff;padding:1em}
header,footer{background:#f2f2f2;padding:1em}
nav ul{list-style:none;display:flex;gap:1em;padding:0}
.page{display:flex;gap:2em;padding:1em 2em}
main{flex:3}aside{flex:1;border-left:1px solid #ddd;padding-left:1em}
.standfirst{font-weight:bold}
</style>
</head>
<body>
<div class="cookie-banner" id="cookie-consent" role="dialog" aria-label="Cookie consent">
<p>We use cookies to make this website work and, with your consent, to measure how it is used.
You can change your choice at any time under Privacy settings.</p>
<button type="button">Accept all cookies</button>
<button type="button">Only necessary cookies</button>
<a href="/privacy-policy/">Privacy policy</a>
</div>
<header class="site-header">
<a class="logo" href="/">ICMPD - International Centre for Migration Policy Development</a>
<nav aria-label="Main"><ul>
$navigation
</ul></nav>
<form class="search" action="/search/" role="search"><label>Search <input name="q"></label></form>
</header>
<nav class="breadcrumb" aria-label="Breadcrumb"><a href="/">Home</a> &rsaquo;
<a href="/news-centre/">News Centre</a> &rsaquo; <span>$category</span></nav>
<div class="page">
<main>
<article class="news-detail">
<h1>$headline</h1>
<p class="meta"><time datetime="$iso_date">$display_date</time> &middot; $category</p>
<p class="standfirst">$teaser</p>
$body
</article>
<p class="share">Share this article: <a href="/share/email/">E-mail</a> <a href="/share/print/">Print</a></p>
</main>
<aside class="sidebar" aria-label="Related">
<section class="related-news">
<h2>Related news</h2>
<ul>
$related
</ul>
</section>
<section class="offices">
<h2>Where we work</h2>
<p>ICMPD has offices and projects in $offices.</p>
</section>
<section class="newsletter">
<h2>Newsletter</h2>
<p>Subscribe to receive the latest news on migration policy from Vienna and beyond.</p>
</section>
</aside>
</div>
<footer class="site-footer">
<p>International Centre for Migration Policy Development, Gonzagagasse 1, 1010 Vienna, Austria</p>
<p><a href="/imprint/">Imprint</a> &middot; <a href="/privacy-policy/">Privacy policy</a> &middot;
<a href="/contact/">Contact</a> &middot; <a href="/sitemap/">Sitemap</a></p>
<p>&copy; ICMPD. Demo copy served by feed-archiver's `make demo`, rebuilt from the sample feed.</p>
</footer>
</body>
</html>
""")

INDEX = Template("""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>News Centre - ICMPD</title></head>
<body>
<h1>News Centre</h1>
<ul>
$items
</ul>
</body>
</html>
""")


@dataclass(frozen=True)
class Article:
    """What a page is built from: one item of the sample feed."""

    path: str  # the page's path on the demo server
    title: str
    category: str
    headline: str
    teaser: str
    paragraphs: tuple[str, ...]
    iso_date: str  # RFC 3339, "" when the item has no date
    display_date: str


def local_path(link: str) -> str:
    """The path a feed link is served under: its own path, runs of slashes collapsed."""
    return re.sub(r"/{2,}", "/", urlsplit(link).path or "/")


def localise_feed(feed: bytes, base_url: str) -> bytes:
    """The feed with every <link> into the site pointing at `base_url` instead."""
    return SITE.sub(b"<link>" + base_url.rstrip("/").encode() + b"/", feed)


def articles(feed: bytes) -> list[Article]:
    """One Article per item of `feed` that has a link (parsed by the archiver's own parser)."""
    from feed_archiver.parse import parse_feed
    from feed_archiver.tag import tag

    found = []
    for entry in parse_feed(feed).entries:
        if not entry.link:
            continue
        tags = tag(entry.title, entry.summary_text, entry.categories)
        body = entry.content_text if entry.content_text != entry.summary_text else ""
        paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", body) if p.strip())
        found.append(
            Article(
                path=local_path(entry.link),
                title=entry.title,
                category=tags.category,
                headline=tags.headline,
                teaser=entry.summary_text,
                paragraphs=paragraphs or (entry.summary_text,),
                iso_date=entry.published.strftime("%Y-%m-%dT%H:%M:%SZ") if entry.published else "",
                display_date=entry.published.strftime("%d %B %Y") if entry.published else "",
            )
        )
    return found


def render_page(article: Article, others: Sequence[Article]) -> bytes:
    """The article's page; `others` fill the related-news sidebar."""
    related = [o for o in others if o.path != article.path][:RELATED_COUNT]
    return PAGE.substitute(
        headline=escape(article.headline),
        teaser=escape(article.teaser),
        category=escape(article.category),
        path=escape(article.path),
        iso_date=escape(article.iso_date),
        display_date=escape(article.display_date),
        navigation="\n".join(
            f'<li><a href="{escape(href)}">{escape(name)}</a></li>' for href, name in NAVIGATION
        ),
        body="\n".join(f"<p>{escape(p)}</p>" for p in article.paragraphs),
        related="\n".join(
            f'<li><a href="{escape(o.path)}">{escape(o.headline)}</a> '
            f'<span class="date">{escape(o.display_date)}</span></li>'
            for o in related
        ),
        offices=escape(", ".join(OFFICES[:-1]) + " and " + OFFICES[-1]),
    ).encode("utf-8")


def render_index(found: Sequence[Article]) -> bytes:
    items = "\n".join(
        f'<li><a href="{escape(a.path)}">{escape(a.headline)}</a></li>' for a in found
    )
    return INDEX.substitute(items=items).encode("utf-8")


def site_pages(feed: bytes) -> dict[str, tuple[bytes, str]]:
    """Every route of the demo site: the article pages, the News Centre index, robots.txt."""
    found = articles(feed)
    pages = {a.path: (render_page(a, found), HTML_TYPE) for a in found}
    pages["/"] = pages["/news-centre/"] = (render_index(found), HTML_TYPE)
    pages["/robots.txt"] = (ROBOTS_TXT, TEXT_TYPE)
    return pages
