"""Every way an article page can go wrong is recorded on the item, and none stops the capture.

Each case captures one item from the local site and checks the status and the
reason recorded on its `capture` object; the archive stays exact (verify, the
JSON Schema, the counts), and every WARC written reads back (the `site` fixture).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from feed_archiver.capture.missing import capture_missing
from feed_archiver.settings import WaybackOptions
from tests.faults import fake_internet
from tests.hardening import assert_archive_exact
from tests.httpserver import Reply, endless, redirect
from tests.integration.capture_site import TURKEY, Site, read_warc, warc_keys

pytestmark = pytest.mark.timeout(60)
GROUP = "Article capture"
PUBLIC_IP = "93.184.216.34"  # stands for any public address; FakeInternet routes it locally
ARTICLE = "funded by the United Kingdom"  # a sentence of TURKEY's article, not of its teaser


def case(name: str, must_hold: str) -> pytest.MarkDecorator:
    return pytest.mark.reliability(group=GROUP, case=name, must_hold=must_hold)


def recorded(site: Site, key: str, status: str) -> dict[str, Any]:
    """The item's capture object, after checking its status and the archive."""
    capture = site.record(key)["capture"]
    assert capture["status"] == status, capture
    assert_archive_exact(site.store, count=len(list(site.store.scan_index())))
    return capture


def with_wayback(site: Site, cdx_url: str, capture_url: str) -> None:
    site.use(replace(site.settings, wayback=WaybackOptions(cdx_url, capture_url, 0.0)))


# --- dead links: the web archive --------------------------------------------------------


@case(
    "404: the web archive's copy",
    "captured from the snapshot closest to the item's date, raw id_ mode, source web_archive",
)
def test_a_dead_link_is_captured_from_the_web_archive_snapshot_closest_to_the_item(
    site: Site,
) -> None:
    # Given an item of 12 July 2019 whose page now answers 404, and three copies of it
    key = site.add_item("/news/gone/")
    site.archived(
        "20180101000000", "/news/gone/", b"<html><body><p>An older page.</p></body></html>"
    )
    site.archived("20190715090000", "/news/gone/", TURKEY.page().encode())
    site.archived(
        "20230101000000", "/news/gone/", b"<html><body><p>A newer page.</p></body></html>"
    )

    # When it is captured
    result = site.capture(key)

    # Then the July 2019 copy was fetched in id_ mode, and only it
    assert result.status == "captured" and result.source == "web_archive", result
    assert site.archive.downloads("20190715090000") == 1 and site.archive.downloads() == 1
    query = site.archive.cdx_requests()[0]
    assert query["closest"] == ["20190712113932"] and query["sort"] == ["closest"]
    capture = recorded(site, key, "captured")
    assert capture["source"] == "web_archive" and capture["snapshot_at"] == "2019-07-15T09:00:00Z"
    link = site.server.url("/news/gone/")
    assert capture["url"].endswith(f"/web/20190715090000id_/{link}")
    assert ARTICLE in site.store.get_capture_text(capture["text_key"])["text"]


@case("410 without a web-archive copy", "status gone, with the reason; no WARC")
@pytest.mark.parametrize("status", [404, 410])
def test_a_dead_link_without_a_copy_is_gone(site: Site, status: int) -> None:
    site.server.route("/news/gone/", Reply(status=status, body=b"gone", content_type="text/html"))
    key = site.add_item("/news/gone/")

    result = site.capture(key)

    assert result.status == "gone"
    capture = recorded(site, key, "gone")
    assert f"HTTP {status}" in capture["error"] and "no copy" in capture["error"]
    assert warc_keys(site.store) == []
    assert len(site.archive.cdx_requests()) == 1


def test_a_failing_web_archive_leaves_the_dead_link_failed_for_a_later_try(site: Site) -> None:
    key = site.add_item("/news/gone/")
    with_wayback(site, site.server.url("/cdx"), site.server.url("/web/"))
    site.server.route("/cdx", Reply(status=503, body=b"busy", content_type="text/plain"))

    assert site.capture(key).status == "failed"
    assert "web archive lookup failed" in recorded(site, key, "failed")["error"]


# --- network and size -------------------------------------------------------------------


@case("a page that never answers", "status failed with 'timed out', within the fetch deadline")
def test_a_page_that_times_out_is_recorded_failed(site: Site) -> None:
    site.server.route("/news/slow/", Reply(delay=10, body=b"late", content_type="text/html"))
    key = site.add_item("/news/slow/")

    result = site.capture(key)

    assert result.status == "failed" and "timed out" in (result.error or "")
    recorded(site, key, "failed")


@case("an oversize page", "status failed: body larger than the 5 MiB cap; nothing stored")
def test_an_oversize_page_is_refused_at_the_cap(site: Site) -> None:
    site.server.route("/news/huge/", Reply(stream=endless(), content_type="text/html"))
    key = site.add_item("/news/huge/")

    result = site.capture(key)

    assert result.status == "failed" and "larger than 5 MiB cap" in (result.error or ""), result
    recorded(site, key, "failed")
    assert warc_keys(site.store) == []


@case("a non-HTML body", "status not_html; the body is not downloaded")
def test_a_non_html_body_is_recorded_not_html(site: Site) -> None:
    site.server.route(
        "/news/report.pdf", Reply(stream=endless(b"%PDF-1.7 "), content_type="application/pdf")
    )
    key = site.add_item("/news/report.pdf")

    result = site.capture(key)

    assert result.status == "not_html" and "application/pdf" in (result.error or "")
    recorded(site, key, "not_html")
    assert warc_keys(site.store) == []


@case(
    "a redirect to a private address",
    "refused by the feed fetch's address guard before any connection: status failed",
)
@pytest.mark.parametrize(
    ("target", "private_allowed", "reason"),
    [
        ("http://10.0.0.1/admin", False, "10.0.0.1 is a private address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            True,
            "169.254.169.254 is a cloud metadata address",
        ),
    ],
    ids=["private, private networks off", "metadata, even with private networks on"],
)
def test_a_redirect_to_a_private_address_is_refused(
    site: Site, monkeypatch: pytest.MonkeyPatch, target: str, private_allowed: bool, reason: str
) -> None:
    # Given a public-looking site (routed to the local server) whose article redirects inward
    internet = fake_internet(monkeypatch)
    internet.names["news.example"] = [PUBLIC_IP]
    internet.routes[PUBLIC_IP] = site.server.port
    fetch = replace(site.settings.fetch, allow_private_networks=private_allowed)
    site.use(replace(site.settings, fetch=fetch), resolve=internet.resolve)
    site.server.route("/news/trap/", redirect(target))
    key = site.add_item("", link="http://news.example/news/trap/")

    result = site.capture(key)

    assert result.status == "failed" and f"refusing redirect to {target}: {reason}" in (
        result.error or ""
    )
    recorded(site, key, "failed")
    assert all(address[0] == PUBLIC_IP for address in internet.connections), internet.connections


# --- what the page holds ----------------------------------------------------------------


@case(
    "malformed HTML",
    "captured: the main text extracted all the same, the WARC holds the page as served",
)
def test_malformed_html_is_captured(site: Site) -> None:
    broken = (
        b"<html><head><title>Broken</title><body><div class=nav><a href=/>Home</a>"
        b"<article><h1>Roundtable in Ankara<p>ICMPD organised a roundtable among Turkish institutions "
        b"<b><i>and the ERRIN network</b></i> in Ankara, funded by the United Kingdom.\x00"
        b"<p>Participants discussed a roadmap <table><tr><td>for Turkey's national programme"
        b"</div></span></article></body>"
    )
    site.serve("/news/broken/", broken)
    key = site.add_item("/news/broken/")

    result = site.capture(key)

    assert result.status == "captured"
    capture = recorded(site, key, "captured")
    text = site.store.get_capture_text(capture["text_key"])["text"]
    assert "roundtable among Turkish institutions" in text
    response = read_warc(site.store.get_warc(capture["warc_key"]))[1]
    assert response["content"] == broken


@case(
    "a page in a legacy encoding",
    "decoded as browsers do (meta charset; Latin-1 read as windows-1252): the text is right",
)
@pytest.mark.parametrize(
    ("content_type", "meta"),
    [
        ("text/html", '<meta charset="windows-1252">'),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'),
        ("text/html; charset=ISO-8859-1", ""),
    ],
    ids=["meta windows-1252", "meta iso-8859-1", "header iso-8859-1"],
)
def test_a_page_in_a_legacy_encoding_is_decoded_right(
    site: Site, content_type: str, meta: str
) -> None:
    text = (
        "ICMPD’s Director General met Señora Sánchez in Genève – “a long-standing partner” "
        "of the Government of Costa Rica, said the délégation, for 25 € per participant."
    )
    page = f"<html><head>{meta}<title>Visite</title></head><body><article><h1>Visit to Costa Rica</h1>" \
           f"<p>{text}</p><p>{text}</p></article></body></html>"  # fmt: skip
    site.serve("/news/legacy/", page.encode("windows-1252"), content_type=content_type)
    key = site.add_item("/news/legacy/")

    assert site.capture(key).status == "captured"
    capture = recorded(site, key, "captured")
    stored = site.store.get_capture_text(capture["text_key"])
    assert text in stored["text"] and stored["encoding"] == "windows-1252"
    assert "CR" in capture["countries"]


def test_no_failure_stops_a_capture_run(site: Site) -> None:
    # Given one item of each kind on one site
    site.robots("User-agent: *\nDisallow: /private/\n")
    site.serve("/news/ok/", TURKEY.page().encode())
    site.server.route("/news/slow/", Reply(delay=10, body=b"", content_type="text/html"))
    site.server.route("/news/pdf", Reply(body=b"%PDF", content_type="application/pdf"))
    site.serve("/private/x/", TURKEY.page().encode())
    for path in ("/news/slow/", "/news/pdf", "/private/x/", "/news/ok/"):
        site.add_item(path)

    # When they are all captured in one run
    report = capture_missing(site.store, site.settings, politeness=site.politeness)

    # Then each outcome is recorded and the good one is captured
    assert report.as_dict()["statuses"] == {
        "captured": 1, "pending": 0, "failed": 1, "robots_disallowed": 1, "not_html": 1, "gone": 0,
    }  # fmt: skip
    assert_archive_exact(site.store, count=4)


@case(
    "a captured page that dies later",
    "the item keeps its own capture: a 404 on re-capture is recorded as gone, the web archive not asked",
)
def test_a_captured_page_that_dies_keeps_its_capture(site: Site) -> None:
    site.server.route(
        "/news/one/",
        Reply(body=TURKEY.page().encode(), content_type="text/html"),
        Reply(status=404, body=b"gone", content_type="text/html"),
    )
    site.archived("20190715090000", "/news/one/", b"<html><body><p>Elsewhere.</p></body></html>")
    key = site.add_item("/news/one/")
    first = site.capture(key)

    again = site.capture(key)

    assert again.status == "gone" and not again.written
    capture = recorded(site, key, "captured")
    assert capture["warc_key"] == first.warc_key and capture["source"] == "live"
    assert site.archive.cdx_requests() == []
