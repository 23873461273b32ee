"""Find many known terms in text with one regex: a trie of the terms, matched once.

Used by the tagger for country names and programme names. One alternation of
thousands of names would make the regex engine try every name at every
position; a trie (`T(?i:ur(?:key|kish))|...`) tries each letter once. Every
term starts with a capital letter, matched case-sensitively, so the engine's
search loop skips straight to capitals (a fast scan in C) and only there checks
the word boundary and walks the trie; a scan costs about the same whatever the
number of terms.

The rest of a term matches case-insensitively in the regex and is checked
afterwards (`case_matches`): "Turkey" and "TURKEY" match the term "Turkey",
"TUrkey" does not, and lowercase words of a term ("and", "of", "the") match
in any case. Whitespace, hyphens and dashes between words are interchangeable,
and so are the apostrophes ' and ’.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
_RESOLVED_LIMIT = 10_000
_Resolved = tuple[int, str, T | None]  # (length of the term in the matched text, form, payload)
_Trie = dict[str, "_Trie"]  # one node per letter; the key "" marks the end of a term

_SEPARATOR_CHARS = r"\s\-\u2010\u2011\u2012\u2013\u2014"
_SEPARATOR_RUN = re.compile(f"[{_SEPARATOR_CHARS}]+")
_APOSTROPHE_CLASS = "['\u2018\u2019\u02bc]"
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})
_WORDS = re.compile(f"[{_SEPARATOR_CHARS}'\u2018\u2019\u02bc]+")
_WORD_GAPS = re.compile(f"[{_SEPARATOR_CHARS}]+")


def term_key(text: str) -> str:
    """The lookup key of a term or of matched text: lowercase, one space between words, ' for ’."""
    return _SEPARATOR_RUN.sub(" ", text.translate(_APOSTROPHES).lower()).strip()


def case_matches(found: str, form: str) -> bool:
    """True if `found` (text the regex matched) is cased like the term `form` allows.

    Word by word: a word of `form` without capitals ("and", "of") matches in any
    case; any other word must appear exactly as in `form` or in capitals.
    """
    found_words = _WORDS.split(found.strip())
    form_words = _WORDS.split(form.strip())
    if len(found_words) != len(form_words):
        return False
    for seen, expected in zip(found_words, form_words, strict=True):
        if seen == expected or expected == expected.lower() or seen == expected.upper():
            continue
        return False
    return True


def trie_pattern(forms: Iterable[str]) -> str:
    """A regex matching the given terms as whole words, longest first.

    The first letter is matched as written (it must be a capital), the rest
    in any case; the caller checks the case of the match with `case_matches`.
    """
    root: _Trie = {}
    for form in forms:
        if not form[:1].isupper():
            raise ValueError(f"term {form!r} must start with a capital letter")
        node = root
        for char in form[0] + term_key(form)[1:]:
            node = node.setdefault(char, {})
        node[""] = {}
    # After the first letter, (?<!\w.) checks that no letter precedes it.
    branches = [
        re.escape(first) + r"(?<!\w.)(?i:" + _node_pattern(child) + ")"
        for first, child in sorted(root.items())
    ]
    return "(?:" + "|".join(branches) + r")(?!\w)"


def _char_pattern(char: str) -> str:
    if char == " ":
        return f"[{_SEPARATOR_CHARS}]+"
    if char == "'":
        return _APOSTROPHE_CLASS
    return re.escape(char)


def _node_pattern(node: _Trie) -> str:
    ends_here = "" in node
    branches = [
        _char_pattern(char) + _node_pattern(child) for char, child in sorted(node.items()) if char
    ]
    if not branches:
        return ""
    if len(branches) == 1 and not ends_here:
        return branches[0]
    # Branches are tried in order, but each branch is greedy, so the longest
    # term wins at a given position; "?" makes the shorter term a fallback.
    return "(?:" + "|".join(branches) + ")" + ("?" if ends_here else "")


@dataclass(frozen=True)
class Hit(Generic[T]):
    """One occurrence of a term: where it is, which spelling matched, and its payload."""

    start: int
    end: int
    form: str
    payload: T


class TermMatcher(Generic[T]):
    """Finds the terms of a table in text, leftmost-longest, whole words only.

    `entries` are (form, payload) pairs; forms with the same `term_key` must
    share a payload. A payload of None marks an exclusion: a phrase that
    swallows the terms inside it ("Rabat Process", "New Mexico"); exclusions
    are not case-checked and not reported. Every form starts with a capital.
    """

    def __init__(self, entries: Iterable[tuple[str, T | None]]) -> None:
        forms: dict[str, list[tuple[str, T | None]]] = {}
        for form, payload in entries:
            key = term_key(form)
            known = forms.setdefault(key, [])
            if known and known[0][1] != payload:
                raise ValueError(f"term {form!r} has two meanings: {known[0][1]!r}, {payload!r}")
            known.append((form, payload))
        self._forms = forms
        self._regex = re.compile(
            trie_pattern(form for known in forms.values() for form, _ in known)
        )
        # Matched text -> what it resolves to (see _resolve). The same few
        # spellings recur in every item, so this skips the key and case work;
        # bounded because odd spacing could make the set of spellings grow.
        self._resolved: dict[str, _Resolved[T] | None] = {}

    def find(self, text: str) -> Iterator[Hit[T]]:
        """Every occurrence of a (non-excluded) term in `text`, left to right."""
        search = self._regex.search
        resolved = self._resolved
        pos = 0
        while match := search(text, pos):
            found = match.group()
            if found in resolved:
                hit = resolved[found]
            else:
                hit = self._resolve(found)
                if len(resolved) >= _RESOLVED_LIMIT:
                    resolved.clear()
                resolved[found] = hit
            if hit is None:
                # No term here ("TUrkey", "Papua new guinea"): look again from
                # the next capital, so a failed match hides no term after it.
                pos = match.start() + 1
                continue
            length, form, payload = hit
            pos = match.start() + length
            if payload is not None:
                yield Hit(match.start(), pos, form, payload)

    def _resolve(self, found: str) -> _Resolved[T] | None:
        """The longest term at the start of `found` that is cased right, with its length.

        The regex matched `found` ignoring case, so the whole of it may fail
        the case check while a shorter term at its start passes: "Bosnia and
        herzegovina" is still "Bosnia".
        """
        ends = [len(found)] + [m.start() for m in reversed(list(_WORD_GAPS.finditer(found)))]
        for end in ends:
            prefix = found[:end]
            for form, payload in self._forms.get(term_key(prefix), []):
                if payload is None or case_matches(prefix, form):
                    return end, form, payload
        return None
