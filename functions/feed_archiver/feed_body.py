"""Byte-level preparation of a fetched feed body before feedparser sees it.

Protections feedparser does not give on its own:

- Entity expansion. feedparser keeps a DOCTYPE's "safe" entity declarations
  (any literal value) and expands them, and expat expands the internal
  entities of a one-line DOCTYPE: a 13 KB body became a 4 MB summary. A feed
  has no business declaring entities, so every `<!ENTITY` declaration is
  disabled before parsing. The check runs on the bytes feedparser will
  actually parse (after its own conversion to UTF-8), so a declaration cannot
  hide behind UTF-16, UTF-7 or the like.
- Mislabelled encodings. A body declared (XML declaration or HTTP charset)
  as a single-byte encoding that is in fact valid non-ASCII UTF-8 would come
  out as mojibake ("KÄ±zÄ±lay"); such a body is decoded as UTF-8. A body
  declared ISO-8859-1 or US-ASCII that uses bytes 0x80-0x9F (curly quotes,
  dashes) is Windows-1252, as browsers read it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass

from feedparser.encodings import convert_to_utf8

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DISABLED_ENTITY = b"<!DISABLED-ENTITY"
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*?\?>")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]*)["']?""", re.IGNORECASE)
_C1_BYTES = re.compile(rb"[\x80-\x9f]")
# Labels whose real-world meaning is Windows-1252 when bytes 0x80-0x9F occur.
_READ_AS_CP1252 = frozenset({"iso8859-1", "ascii"})


@dataclass(frozen=True)
class PreparedBody:
    body: bytes
    headers: dict[str, str]  # lower-case names, as feedparser expects
    notes: tuple[str, ...]  # what was changed, for ParsedFeed.error


def prepare_body(body: bytes, headers: Mapping[str, str]) -> PreparedBody:
    """Fix a mislabelled encoding and disable entity declarations; say what changed."""
    lowered = {name.lower(): value for name, value in headers.items()}
    notes: list[str] = []
    body, lowered = _fix_mislabelled_encoding(body, lowered, notes)
    body, lowered = _disable_entities(body, lowered, notes)
    return PreparedBody(body=body, headers=lowered, notes=tuple(notes))


def _fix_mislabelled_encoding(
    body: bytes, headers: dict[str, str], notes: list[str]
) -> tuple[bytes, dict[str, str]]:
    # ASCII needs no label; NUL bytes mean UTF-16/32, which feedparser sniffs itself.
    if body.isascii() or b"\x00" in body:
        return body, headers
    labels = _declared_labels(body, headers)
    if _is_utf8(body):
        actual, wrong = "utf-8", [label for label in labels if _codec(label) != "utf-8"]
    elif _C1_BYTES.search(body) and labels and all(_codec(x) in _READ_AS_CP1252 for x in labels):
        actual, wrong = "windows-1252", labels
    else:
        return body, headers
    if not wrong:
        return body, headers
    notes.append(f"declared {wrong[0]!r} but the body is {actual}: decoded as {actual}")
    return _declared_as(body, actual), _with_charset(headers, actual)


def _disable_entities(
    body: bytes, headers: dict[str, str], notes: list[str]
) -> tuple[bytes, dict[str, str]]:
    utf8 = _as_feedparser_sees_it(body, headers)
    if not _ENTITY_DECLARATION.search(utf8):
        return body, headers
    notes.append("the DOCTYPE declares entities: declarations disabled, nothing expanded")
    # utf8 already starts with an XML declaration saying utf-8 (feedparser wrote it).
    return _ENTITY_DECLARATION.sub(_DISABLED_ENTITY, utf8), _with_charset(headers, "utf-8")


def _as_feedparser_sees_it(body: bytes, headers: dict[str, str]) -> bytes:
    try:
        converted: bytes = convert_to_utf8(dict(headers), body, {})
    except Exception:  # hostile bytes may upset it: fall back to scanning them raw
        return body
    return converted


def _declared_labels(body: bytes, headers: Mapping[str, str]) -> list[str]:
    """Encoding labels of the XML declaration and the HTTP charset, in that order."""
    labels = []
    declaration = _XML_DECLARATION.match(body.removeprefix(codecs.BOM_UTF8))
    declared = _DECLARED_ENCODING.search(declaration.group()) if declaration else None
    if declared:
        labels.append(declared.group(1).decode("ascii", "replace"))
    charset = _CHARSET.search(headers.get("content-type", ""))
    if charset and charset.group(1):
        labels.append(charset.group(1))
    return labels


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _declared_as(body: bytes, encoding: str) -> bytes:
    body = body.removeprefix(codecs.BOM_UTF8)
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'.encode("ascii")
    existing = _XML_DECLARATION.match(body)
    if existing is None:
        return declaration + b"\n" + body
    return declaration + body[existing.end() :]


def _with_charset(headers: dict[str, str], encoding: str) -> dict[str, str]:
    content_type = headers.get("content-type")
    if content_type is None:
        return headers
    media_type = content_type.split(";", 1)[0].strip()
    return {**headers, "content-type": f"{media_type}; charset={encoding}"}
