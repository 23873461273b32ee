"""Issue 11, item 6: raw-text elements and form controls never reach archived HTML.

A browser reads everything after <textarea>, <xmp>, <noscript>, <noembed>,
<noframes> or <title> up to the matching end tag as text (after <plaintext>:
to the end of the page), and an open <select> swallows what follows into its
options. An unclosed one in `content_html` would swallow the rest of any page
that embeds it, so the sanitiser drops them with their content, as it drops
<script>. Form containers (form, fieldset, legend, label, output, option) lose
their tags but keep their text.
"""

from __future__ import annotations

import re

import pytest

from feed_archiver.text import html_to_text, sanitise_html

SECURITY = "Security audit"

# Start tags that make a browser read the rest of a page as something other
# than markup (raw text, RCDATA, plaintext, or the options of a select).
SWALLOWING = frozenset(
    {
        "iframe", "noembed", "noframes", "noscript", "plaintext", "script", "select",
        "style", "textarea", "title", "xmp",
    }
)  # fmt: skip
FORM_CONTROLS = frozenset(
    {
        "button", "datalist", "fieldset", "form", "input", "keygen", "label", "legend",
        "meter", "optgroup", "option", "output", "progress", "select", "textarea",
    }
)  # fmt: skip
DROPPED_WITH_CONTENT = [
    "noscript", "textarea", "xmp", "plaintext", "noembed", "noframes", "title",
    "button", "select", "datalist", "meter", "progress",
]  # fmt: skip
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][^\s/>]*)")


def tag_names(markup: str) -> set[str]:
    """Every element name in sanitised output (its text has every "<" escaped)."""
    return {name.lower() for name in _TAG.findall(markup)}


@pytest.mark.reliability(
    group=SECURITY,
    case="raw-text elements and form controls in content HTML (textarea, noscript, xmp, "
    "plaintext, noembed, noframes, title, button, select...)",
    must_hold="dropped with their content, like script; the text around them kept",
)
@pytest.mark.parametrize("tag", DROPPED_WITH_CONTENT)
def test_raw_text_elements_and_controls_are_dropped_with_their_content(tag: str) -> None:
    # Given one between two paragraphs, with markup inside
    markup = f"<p>safe</p><{tag} name=x><b>junk</b> more junk</{tag}><p>also safe</p>"
    # Then it and its content are gone, the rest is kept
    assert sanitise_html(markup) == "<p>safe</p><p>also safe</p>"


@pytest.mark.reliability(
    group=SECURITY,
    case="an unclosed raw-text element or form control in content HTML",
    must_hold="no such tag in the output: embedded in a page, it cannot open a raw-text "
    "context that swallows the rest of the page",
)
@pytest.mark.parametrize("tag", DROPPED_WITH_CONTENT)
def test_an_unclosed_one_cannot_swallow_the_page_that_embeds_the_output(tag: str) -> None:
    # Given content HTML that opens one and never closes it
    markup = f"<p>before</p><{tag}>junk <p>after</p>"
    # When it is sanitised and embedded in a page
    out = sanitise_html(markup)
    page = f"<html><body><article>{out}</article><p>host page</p></body></html>"
    # Then the output ends where a browser would stop showing the fragment,
    assert out == "<p>before</p>"
    # and nothing in it opens a context that would swallow the host page
    assert not tag_names(page) & SWALLOWING, page


@pytest.mark.reliability(
    group=SECURITY,
    case="form containers in content HTML (form, fieldset disabled, legend, label, input, "
    "output, optgroup, option)",
    must_hold="tags dropped (a host page's controls cannot be hijacked or disabled), "
    "their text kept, what follows an unclosed one kept",
)
def test_form_containers_lose_their_tags_but_keep_their_text() -> None:
    # Given a form around article text, and an unclosed disabled fieldset
    markup = (
        '<form action="https://evil.example/"><fieldset disabled><legend>Contact</legend>'
        '<label>Name <input name="n"></label> <output>42</output>'
        '<optgroup label="g"><option>opt</option></optgroup></fieldset></form>'
        "<fieldset disabled><form><p>after</p>"
    )
    # When it is sanitised
    out = sanitise_html(markup)
    # Then no form control is left, and the text is
    assert not tag_names(out) & FORM_CONTROLS, out
    assert out == "ContactName  42opt<p>after</p>"


@pytest.mark.reliability(
    group=SECURITY,
    case="raw-text elements and form controls in plain-text summaries",
    must_hold="their text dropped, as for script and style",
)
@pytest.mark.parametrize(
    "tag",
    ["noscript", "textarea", "xmp", "plaintext", "noembed", "noframes", "button", "select"],
)
def test_plain_text_drops_their_text_like_script_and_style(tag: str) -> None:
    markup = f"<p>Before<{tag}>Please enable JavaScript <b>junk</b></{tag}> after</p>"
    assert html_to_text(markup) == "Before after"
