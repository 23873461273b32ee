"""fetch_page: the feed fetch's guard and caps, statuses returned, what a WARC record needs kept."""

from __future__ import annotations

import gzip

import pytest

from feed_archiver.errors import FetchError
from feed_archiver.fetch.page import PageOptions, fetch_page
from feed_archiver.fetch.polite import Politeness
from tests.httpserver import FeedServer, Reply, endless, redirect

pytestmark = pytest.mark.timeout(60)
LOCAL = PageOptions(allow_private_networks=True, connect_timeout=1.0, total_timeout=3.0)
HTML = b"<html><body><p>Kizilay</p></body></html>"


def test_the_request_is_recorded_as_sent_and_the_body_decoded(feed_server: FeedServer) -> None:
    url = feed_server.route(
        "/a",
        Reply(
            body=gzip.compress(HTML), headers={"Content-Encoding": "gzip"}, content_type="text/html"
        ),
    )

    response = fetch_page(url, LOCAL)

    seen = feed_server.requests("/a")[0].headers
    assert response.status == 200 and response.body == HTML and response.body_read
    assert response.request_headers[0] == ("Host", f"127.0.0.1:{feed_server.port}")
    for name, value in response.request_headers:
        assert seen[name.lower()] == value
    assert response.header("content-encoding") == "gzip" and response.http_version == "HTTP/1.1"


def test_errors_are_returned_and_redirects_followed_up_to_the_cap(feed_server: FeedServer) -> None:
    feed_server.route("/missing", Reply(status=404, body=b"no", content_type="text/html"))
    feed_server.route("/r1", redirect("/r2", 301))
    feed_server.route("/r2", redirect("/a", 302))
    feed_server.route("/a", Reply(body=HTML, content_type="text/html"))

    missing = fetch_page(feed_server.url("/missing"), LOCAL)
    moved = fetch_page(feed_server.url("/r1"), LOCAL)

    assert missing.status == 404 and missing.body == b"" and not missing.body_read
    assert moved.url == feed_server.url("/a") and moved.redirects == 2 and moved.body == HTML
    with pytest.raises(FetchError, match="more than 1 redirects"):
        fetch_page(feed_server.url("/r1"), PageOptions(**{**LOCAL.__dict__, "max_redirects": 1}))


def test_a_body_of_an_unwanted_type_is_not_downloaded(feed_server: FeedServer) -> None:
    url = feed_server.route("/big.pdf", Reply(stream=endless(), content_type="application/pdf"))

    response = fetch_page(url, LOCAL)

    assert response.status == 200 and response.media_type == "application/pdf"
    assert response.body == b"" and not response.body_read


@pytest.mark.serial  # a 1 s deadline and gaps measured on the server
def test_the_polite_pause_is_not_counted_against_the_fetch_deadline(
    feed_server: FeedServer,
) -> None:
    # Given a 1.5 s pause per host and a 1 s deadline per fetch
    feed_server.route("/a", Reply(body=HTML, content_type="text/html"))
    options = PageOptions(**{**LOCAL.__dict__, "total_timeout": 1.0})
    politeness = Politeness(options, 1.5)

    # When two pages of the host are fetched
    first = politeness.fetch(feed_server.url("/a"), obey_robots=False)
    second = politeness.fetch(feed_server.url("/a"), obey_robots=False)

    # Then the second waited its turn and still had its whole deadline for the network
    assert first.status == second.status == 200
    requests = feed_server.requests("/a")
    assert requests[1].at - requests[0].at >= 1.4
