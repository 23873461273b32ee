"""The labelled examples of tests/fixtures/tag_examples.yaml, and the page each article is served in.

The YAML says how the examples were made and labelled. `Example.page()` wraps
an article as a site serves it: a cookie banner, the navigation, the article,
a "Related news" sidebar naming other countries, a footer naming ICMPD's
offices. The extractor must keep only the article.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "tag_examples.yaml"


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    teaser: str
    paragraphs: tuple[str, ...]
    sidebar: tuple[str, ...]
    countries: frozenset[str]
    regions: frozenset[str]
    # The page's main block and <title> as served, when they are not the article's
    # (a consent wall in front of a page its script renders).
    main_html: str | None = None
    page_title: str | None = None

    @property
    def headline(self) -> str:
        return self.title.split(":", 1)[-1].strip()

    def page(self) -> str:
        """The article as the site serves it: banner, navigation, article, sidebar, footer."""
        related = "\n".join(
            f'<li><a href="/news/{i}">{escape(t)}</a></li>' for i, t in enumerate(self.sidebar)
        )
        title = self.page_title or f"{self.headline} | ICMPD"
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body>
<div id="cookie-banner" class="cookie-consent">This website uses cookies to improve your experience.
<button>Accept all</button> <button>Settings</button></div>
<header><nav class="main-nav"><ul>
<li><a href="/">Home</a></li><li><a href="/about-us">About us</a></li>
<li><a href="/our-work">Our work</a></li><li><a href="/regions">Regions</a></li>
<li><a href="/news">News</a></li><li><a href="/publications">Publications</a></li>
</ul></nav></header>
<main>
{self.main_html or self.article_html()}
<aside class="sidebar related-news"><h2>Related news</h2><ul>
{related}
</ul></aside>
</main>
<footer><p>International Centre for Migration Policy Development (ICMPD),
Gonzagagasse 1, 1010 Vienna, Austria.</p>
<p>Brussels Mission, Belgium · Regional offices in Malta, Tunisia, Jordan and Türkiye</p>
<p>© ICMPD. All rights reserved. <a href="/privacy">Privacy</a></p></footer>
</body></html>"""

    def article_html(self) -> str:
        body = "\n".join(f"<p>{escape(p)}</p>" for p in self.paragraphs)
        return f"""<article class="news-detail">
<h1>{escape(self.headline)}</h1>
<p class="news-date">ICMPD News Centre</p>
{body}
</article>"""


def _example(raw: dict[str, Any], sidebars: dict[str, list[str]]) -> Example:
    return Example(
        name=raw["name"],
        title=raw["title"],
        teaser=raw["teaser"],
        paragraphs=tuple(raw.get("paragraphs") or ()),
        sidebar=tuple(sidebars[raw["sidebar"]]),
        countries=frozenset(raw["countries"].split()),
        regions=frozenset(raw["regions"]),
        main_html=raw.get("main_html"),
        page_title=raw.get("page_title"),
    )


def load_examples() -> tuple[Example, ...]:
    data = yaml.safe_load(DATA.read_text("utf-8"))
    return tuple(_example(raw, data["sidebars"]) for raw in data["examples"])


EXAMPLES = load_examples()
