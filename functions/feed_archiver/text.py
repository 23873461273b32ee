"""HTML → plain text, a defensive HTML sanitiser, and URL scheme checks.

Everything here is built on the stdlib html.parser, which never raises on bad
markup and works without recursion, so hostile or deeply nested input is safe.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Schemes an http(s) archive may link to from inside content. Anything else
# (javascript:, vbscript:, data:, file:...) is dropped.
SAFE_CONTENT_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp"})
WEB_SCHEMES = frozenset({"http", "https"})

# Elements whose text is never article text: raw-text and RCDATA elements
# (script, style, xmp, noembed, noframes, noscript, textarea, and plaintext,
# which never ends: a browser reads everything up to their end tag as text, so
# an unclosed one swallows the rest of any page the fragment is embedded in),
# and form controls whose content is the control's own UI. All have an end tag
# (none is void), so counting them open and closed stays balanced. (Not
# <head>/<title>: an unclosed one in a fragment would swallow everything after
# it; the sanitiser drops <title>.)
_INVISIBLE = frozenset(
    {
        "button", "datalist", "meter", "noembed", "noframes", "noscript", "plaintext",
        "progress", "script", "select", "style", "template", "textarea", "xmp",
    }
)  # fmt: skip

# Elements that start a new paragraph of plain text.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt",
        "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
        "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
        "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip

# Dropped together with everything inside them: active or embedded content, and
# everything that is not article text (above; <title> is RCDATA too). An
# unclosed one drops the rest of the fragment, as a browser would hide it.
_DROP_WITH_CONTENT = _INVISIBLE | frozenset(
    {"applet", "audio", "frameset", "iframe", "math", "object", "svg", "title", "video"}
)
# Dropped, but they have no content (void) or their content is plain markup
# (the text of a form, fieldset, legend, label, option or output is kept).
_DROP_TAG_ONLY = frozenset(
    {
        "base", "embed", "fieldset", "form", "frame", "input", "keygen", "label", "legend",
        "link", "meta", "optgroup", "option", "output", "param",
    }
)  # fmt: skip
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
     "param", "source", "track", "wbr"}
)  # fmt: skip
# Attributes whose value is a URL (or a list of URLs) a browser would load or follow.
_URL_ATTRIBUTES = frozenset(
    {
        "action", "background", "cite", "classid", "codebase", "data", "dynsrc",
        "formaction", "href", "icon", "longdesc", "lowsrc", "manifest", "poster",
        "profile", "src", "srcset", "usemap", "xlink:href", "xml:base",
    }
)  # fmt: skip
# Inline styles are dropped altogether: CSS can carry script (expression(),
# url(javascript:...), -moz-binding) and an archive does not need them.
_DROPPED_ATTRIBUTES = frozenset({"style", "srcdoc"})
_SAFE_NAME = re.compile(r"[a-z][a-z0-9_.:-]*\Z")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
# Browsers ignore ASCII control characters and whitespace inside a scheme
# ("java\tscript:"), so they are removed before the scheme is read.
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]+")
# A tag cut off by truncation ("... <a href=") that html.parser would emit as text.
_TRUNCATED_TAG = re.compile(r"<[a-zA-Z/!?][^<>]*\Z")


def collapse_whitespace(text: str) -> str:
    """Runs of whitespace (non-breaking spaces included) become one space; ends trimmed."""
    return " ".join(text.split())


def web_link(url: object) -> str | None:
    """The URL if it is http(s) with a host, else None: no javascript:, data: or relative
    links. The one rule for a link from a feed that is shown or emitted (dashboard, Atom)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        return None
    return url.strip()


def plain_text(text: str) -> str:
    """Tidy text that is already plain: paragraphs kept, whitespace collapsed."""
    paragraphs = (collapse_whitespace(block) for block in re.split(r"\n\s*\n", text))
    return "\n\n".join(p for p in paragraphs if p)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment.

    Paragraphs (and other blocks, and double <br>) are separated by a blank
    line; other whitespace collapses to one space; entities are unescaped;
    the text of script, style and the like is dropped.
    """
    extractor = _TextExtractor()
    extractor.feed(_TRUNCATED_TAG.sub("", markup))
    extractor.close()
    return plain_text("".join(extractor.chunks))


def url_scheme(url: str) -> str | None:
    """The lower-case scheme of a URL as a browser would read it, or None if relative."""
    match = _SCHEME.match(_IGNORED_IN_SCHEME.sub("", url).lower())
    return match.group(1) if match else None


def is_safe_content_url(url: str) -> bool:
    """True for relative URLs and http(s)/mailto/tel/ftp ones; False for script or data URLs."""
    scheme = url_scheme(url)
    return scheme is None or scheme in SAFE_CONTENT_SCHEMES


def sanitise_html(markup: str) -> str:
    """Defensive re-serialisation of an HTML fragment.

    Drops script/style/iframe/object/embed/svg (and similar), raw-text elements
    (textarea, noscript, xmp, plaintext...) and form controls, event-handler
    (on*) attributes, inline styles, and URL attributes whose scheme is not
    http(s)/mailto/tel/ftp (javascript:, vbscript:, data:...). Text is
    re-escaped, comments and declarations are dropped. Applied after
    feedparser's own sanitiser, as a second line of defence.
    """
    sanitiser = _Sanitiser()
    sanitiser.feed(_TRUNCATED_TAG.sub("", markup))
    sanitiser.close()
    return "".join(sanitiser.out)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.chunks.append("\n\n")
        elif tag == "br":
            # One <br> is a line break inside a paragraph; two in a row end it.
            self.chunks.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.chunks.append("\n\n")
        elif tag == "br":
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCKS:
            self.chunks.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            # Whitespace inside HTML text is not significant: never a paragraph break.
            self.chunks.append(re.sub(r"\s+", " ", data))


class _Sanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._dropping: list[str] = []  # open elements whose content is being dropped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, self_closing=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], *, self_closing: bool) -> None:
        if self._dropping:
            if tag in _DROP_WITH_CONTENT and not self_closing:
                self._dropping.append(tag)
            return
        if tag in _DROP_WITH_CONTENT:
            if not self_closing:
                self._dropping.append(tag)
            return
        if tag in _DROP_TAG_ONLY or not _SAFE_NAME.match(tag):
            return
        kept = "".join(_attribute(name, value) for name, value in attrs)
        self.out.append(f"<{tag}{kept}{' /' if self_closing else ''}>")

    def handle_endtag(self, tag: str) -> None:
        if self._dropping:
            if tag == self._dropping[-1]:
                self._dropping.pop()
            return
        if tag in _DROP_WITH_CONTENT or tag in _DROP_TAG_ONLY or tag in _VOID:
            return
        if _SAFE_NAME.match(tag):
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.out.append(html.escape(data, quote=False))


def _attribute(name: str, value: str | None) -> str:
    """The attribute re-serialised, or "" when it is dropped."""
    if not _SAFE_NAME.match(name) or name.startswith("on") or name in _DROPPED_ATTRIBUTES:
        return ""
    if value is None:
        return f" {name}"
    if _is_url_attribute(name) and not all(is_safe_content_url(u) for u in _urls_in(name, value)):
        return ""
    return f' {name}="{html.escape(value, quote=True)}"'


def _is_url_attribute(name: str) -> bool:
    return name in _URL_ATTRIBUTES or name.endswith(("href", "src"))


def _urls_in(name: str, value: str) -> list[str]:
    if name == "srcset":
        # "url 1x, url 2x": the URL is the first token of each candidate.
        return [c.split()[0] for c in value.split(",") if c.strip()] or [""]
    return [value]
