"""HTML → plain text, the defensive sanitiser and URL scheme checks.

The sanitiser is tested on raw hostile HTML, without feedparser in front of
it, so each test fails if its protection is removed from sanitise_html.
"""

from __future__ import annotations

import pytest

from feed_archiver.text import (
    collapse_whitespace,
    html_to_text,
    is_safe_content_url,
    plain_text,
    sanitise_html,
    url_scheme,
)

# --- html_to_text -------------------------------------------------------------


def test_paragraphs_are_separated_by_a_blank_line() -> None:
    assert html_to_text("<p>One.</p><p>Two.</p>") == "One.\n\nTwo."


def test_whitespace_inside_html_text_collapses_and_never_breaks_a_paragraph() -> None:
    # Given source newlines and non-breaking spaces inside one paragraph
    markup = "<p>The roundtable\u00a0 was\n\n   organised.\u00a0</p>"
    # Then they are one paragraph with single spaces, trimmed
    assert html_to_text(markup) == "The roundtable was organised."


def test_entities_are_unescaped() -> None:
    assert html_to_text("Caf&eacute; &amp; K&#305;z&#x131;lay &lt;b&gt;") == "Café & Kızılay <b>"


def test_script_and_style_contents_are_dropped() -> None:
    markup = "<p>Before<script>alert('x')</script><style>p{}</style> after</p>"
    assert html_to_text(markup) == "Before after"


def test_inline_tags_do_not_split_words_or_paragraphs() -> None:
    assert html_to_text("<p>An <b>important</b> <a href='/x'>link</a>.</p>") == (
        "An important link."
    )


def test_double_br_ends_a_paragraph_and_single_br_is_a_space() -> None:
    assert html_to_text("one<br>two<br/><br />three") == "one two\n\nthree"


def test_block_elements_other_than_p_separate_paragraphs() -> None:
    markup = "<h3>Title</h3><div>Body</div><ul><li>a</li><li>b</li></ul>"
    assert html_to_text(markup) == "Title\n\nBody\n\na\n\nb"


def test_broken_markup_does_not_raise() -> None:
    # Given unbalanced and truncated markup / Then text still comes out
    assert html_to_text("<p>open <b>bold <i>italic</p></div>tail <a href=") == (
        "open bold italic\n\ntail"
    )


def test_deeply_nested_markup_is_handled_without_recursion() -> None:
    # Given 50,000 nested divs (a recursive walker would hit the recursion limit)
    markup = "<div>" * 50_000 + "deep" + "</div>" * 50_000
    # Then the text is extracted
    assert html_to_text(markup) == "deep"


def test_plain_text_keeps_paragraphs_and_collapses_the_rest() -> None:
    assert plain_text("  one\n two \n\n\n\u00a0three  ") == "one two\n\nthree"


def test_collapse_whitespace_treats_nbsp_as_space() -> None:
    assert collapse_whitespace("\u00a0a \t\n b\u00a0") == "a b"


# --- sanitise_html ------------------------------------------------------------


@pytest.mark.parametrize("tag", ["script", "style", "iframe", "object", "svg", "math", "template"])
def test_active_elements_are_dropped_with_their_content(tag: str) -> None:
    # Given an active element with content between safe text
    markup = f"<p>safe</p><{tag}>evil()</{tag}><p>also safe</p>"
    # Then the element and its content are gone, the rest is kept
    assert sanitise_html(markup) == "<p>safe</p><p>also safe</p>"


def test_nested_dropped_elements_are_dropped_until_the_outer_one_closes() -> None:
    markup = "<object><object>x</object>still inside</object><p>after</p>"
    assert sanitise_html(markup) == "<p>after</p>"


@pytest.mark.parametrize("tag", ["embed", "base", "meta", "link", "frame", "form", "input"])
def test_void_or_container_elements_are_dropped_but_not_what_follows(tag: str) -> None:
    markup = f'<{tag} src="http://x/" href="http://x/"><p>kept</p>'
    assert sanitise_html(markup) == "<p>kept</p>"


def test_event_handler_attributes_are_dropped() -> None:
    markup = '<img src="https://x/i.png" onerror="evil()" OnLoad="evil()" alt="a">'
    assert sanitise_html(markup) == '<img src="https://x/i.png" alt="a">'


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " \tjava\nscript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "data:image/png;base64,AAAA",
        "&#106;avascript:alert(1)",
        "javascript&colon;alert(1)",
    ],
)
def test_dangerous_url_schemes_are_dropped_from_href_and_src(url: str) -> None:
    # Given links and images pointing at script or data URLs (some entity-obfuscated)
    markup = f'<a href="{url}">link</a><img src="{url}" alt="i">'
    # Then the URL attributes are gone; the elements and their text stay
    assert sanitise_html(markup) == '<a>link</a><img alt="i">'


def test_safe_and_relative_urls_are_kept() -> None:
    markup = (
        '<a href="https://www.icmpd.org//news-centre/">a</a>'
        '<a href="/relative?x=1&amp;y=2">b</a>'
        '<a href="mailto:IBM_Silk_Routes@icmpd.org">c</a>'
    )
    assert sanitise_html(markup) == markup


def test_srcset_with_one_bad_candidate_is_dropped() -> None:
    markup = '<img srcset="https://x/a.png 1x, javascript:alert(1) 2x" alt="a">'
    assert sanitise_html(markup) == '<img alt="a">'


def test_style_attributes_are_dropped() -> None:
    markup = '<p style="background:url(javascript:alert(1))">x</p>'
    assert sanitise_html(markup) == "<p>x</p>"


def test_comments_and_declarations_are_dropped() -> None:
    markup = "<!--[if IE]><script>evil()</script><![endif]--><!DOCTYPE x><p>x</p>"
    assert sanitise_html(markup) == "<p>x</p>"


def test_text_and_attribute_values_are_re_escaped() -> None:
    # Given entities that decode to markup characters
    markup = '<p title="&quot;&gt;&lt;script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>'
    # Then they stay inert text after re-serialisation
    assert sanitise_html(markup) == (
        '<p title="&quot;&gt;&lt;script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;</p>'
    )


def test_odd_attribute_and_tag_names_are_dropped() -> None:
    # Given names html.parser accepts but that could break out when re-serialised
    markup = '<p "onclick=evil()" x"y=1>a</p><bad"tag>b</bad"tag>'
    assert sanitise_html(markup) == "<p>a</p>b"


def test_unclosed_script_drops_the_rest() -> None:
    assert sanitise_html("<p>a</p><script>evil(); <p>b</p>") == "<p>a</p>"


# --- URL schemes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("https://x/", "https"),
        ("HTTP://x/", "http"),
        ("\x01java\tscript:x", "javascript"),
        ("/relative", None),
        ("page.html", None),
        ("", None),
    ],
)
def test_url_scheme_reads_like_a_browser(url: str, scheme: str | None) -> None:
    assert url_scheme(url) == scheme


def test_safe_content_urls() -> None:
    assert is_safe_content_url("/x")
    assert is_safe_content_url("tel:+431234")
    assert not is_safe_content_url("data:,x")
    assert not is_safe_content_url("file:///etc/passwd")
