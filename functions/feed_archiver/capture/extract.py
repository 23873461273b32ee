"""The article's main text and metadata, extracted from the captured HTML with trafilatura.

The bytes are decoded here, not by the extractor, the way browsers do
(WHATWG): a byte-order mark, else the charset of the Content-Type header, else
a <meta charset> / http-equiv in the first 4 KiB, else UTF-8 if the bytes are
valid UTF-8, else windows-1252. Labels of Latin-1 and ASCII mean windows-1252,
as in every browser, so a page that says iso-8859-1 and uses ’ keeps its quote.
trafilatura drops navigation, cookie banners, related-news boxes and footers;
what it keeps is plain text (never HTML).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import asdict, dataclass
from importlib import metadata
from typing import Any

EXTRACTOR = "trafilatura"
_PRESCAN_BYTES = 4096
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_HTML_LANG = re.compile(
    r"""<html\b[^>]*?\blang\s*=\s*["']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)""", re.I
)
# WHATWG: these labels all mean windows-1252.
_AS_WINDOWS_1252 = frozenset(
    {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii", "cp1252",
     "windows-1252", "x-cp1252", "cp819", "ibm819", "iso-ir-100", "csisolatin1"}
)  # fmt: skip
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Article:
    """What the extractor found: plain texts, None when the page did not say."""

    title: str | None
    author: str | None
    date: str | None
    language: str | None
    text: str
    encoding: str  # how the bytes were decoded
    extractor: str = EXTRACTOR
    extractor_version: str = ""
    problem: str | None = None  # why no text could be extracted, when the extractor failed

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def extractor_version() -> str:
    return metadata.version(EXTRACTOR)


def decode_html(body: bytes, content_type: str = "") -> tuple[str, str]:
    """(text, encoding used) for an HTML body; never raises (bad bytes become U+FFFD)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, "replace"), name
    declared = _charset_param(content_type) or _meta_charset(body[:_PRESCAN_BYTES])
    encoding = _usable(declared) if declared else None
    if encoding is None:
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            encoding = "windows-1252"
    return body.decode(encoding, "replace"), encoding


def _charset_param(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'") or None
    return None


def _meta_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    return match.group(1).decode("ascii", "replace") if match else None


def _usable(label: str) -> str | None:
    label = label.strip().lower()
    if label in _AS_WINDOWS_1252:
        return "windows-1252"
    if label.startswith("utf-16"):
        return "utf-8"  # WHATWG: a meta that says UTF-16 in an ASCII-compatible page means UTF-8
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def extract_article(body: bytes, content_type: str, url: str) -> Article:
    """The main text and metadata of an HTML page (an empty text when none is found)."""
    import trafilatura

    html, encoding = decode_html(body, content_type)
    html = html.replace("\x00", "")  # lxml refuses NUL characters
    problem = None
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
        )
    except Exception as exc:  # hostile markup must not stop a batch: the WARC keeps the page
        document, problem = None, f"the extractor failed: {type(exc).__name__}: {exc}"
    found: dict[str, Any] = {}
    if isinstance(document, dict):
        found = document
    elif document is not None:
        found = document.as_dict()
    language = found.get("language") or _html_lang(html)
    return Article(
        title=_clean(found.get("title")),
        author=_clean(found.get("author")),
        date=_clean(found.get("date")),
        language=language.lower() if language else None,
        text=_clean(found.get("text")) or "",
        encoding=encoding,
        extractor_version=extractor_version(),
        problem=problem,
    )


def _html_lang(html: str) -> str | None:
    match = _HTML_LANG.search(html[: _PRESCAN_BYTES * 4])
    return match.group(1) if match else None


def _clean(value: Any) -> str | None:
    """Plain text without control characters (they could drive a terminal); None if empty."""
    if not isinstance(value, str):
        return None
    text = _CONTROL.sub("", value).strip()
    return text or None
