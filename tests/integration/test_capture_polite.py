"""Article capture is polite: robots.txt, the pause per host, Crawl-delay, User-Agent, conditional requests.

Every page comes from a local FeedServer that logs each request with the time
it arrived: what is measured is what the site saw.
"""

from __future__ import annotations

import itertools

import pytest

from feed_archiver.settings import CaptureOptions
from tests.hardening import assert_archive_exact
from tests.httpserver import Reply, redirect
from tests.integration.capture_site import GEORGIA, TURKEY, Site, warc_keys, with_interval

pytestmark = pytest.mark.timeout(60)
GROUP = "Article capture"


def polite(case: str, must_hold: str) -> pytest.MarkDecorator:
    return pytest.mark.reliability(group=GROUP, case=case, must_hold=must_hold)


def gaps(site: Site) -> list[float]:
    """Seconds between consecutive requests the site received."""
    return [b.at - a.at for a, b in itertools.pairwise(site.server.requests())]


# The server stamps a request when its handler thread has parsed the head: on a busy
# machine that thread may run tens of milliseconds late, which shortens the next gap by as
# much. The client's own starts are exact (tests/unit/test_capture_units.py); here the
# site's view must show the pause, to within this.
JITTER = 0.1


# --- robots.txt ------------------------------------------------------------------------


@polite(
    "robots.txt Disallow",
    "status robots_disallowed recorded on the item; no request is ever made to the disallowed path",
)
@pytest.mark.parametrize(
    "robots",
    [
        "User-agent: *\nDisallow: /private/\n",
        "User-agent: *\nAllow: /\n\nUser-agent: feed-archiver-capture\nDisallow: /private/\n",
    ],
    ids=["every agent", "our agent's own group"],
)
def test_a_path_robots_txt_disallows_is_never_requested(site: Site, robots: str) -> None:
    # Given a site whose robots.txt disallows /private/, and an item there
    site.robots(robots)
    site.serve("/private/story/", TURKEY.page().encode())
    key = site.add_item("/private/story/")

    # When the item is captured
    result = site.capture(key)

    # Then it is recorded as disallowed, and only robots.txt was asked
    assert result.status == "robots_disallowed"
    assert site.paths() == ["/robots.txt"]
    capture = site.record(key)["capture"]
    assert capture["status"] == "robots_disallowed" and "robots.txt" in capture["error"]
    assert warc_keys(site.store) == []
    assert_archive_exact(site.store, count=1)


@polite(
    "a redirect into a disallowed path",
    "robots.txt is asked for every hop: the redirect's target is never requested",
)
def test_a_redirect_into_a_disallowed_path_is_not_followed(site: Site) -> None:
    site.robots("User-agent: *\nDisallow: /private/\n")
    site.server.route("/news/moved/", redirect("/private/story/", 301))
    site.serve("/private/story/", TURKEY.page().encode())
    key = site.add_item("/news/moved/")

    result = site.capture(key)

    assert result.status == "robots_disallowed"
    assert site.paths() == ["/robots.txt", "/news/moved/"]


def test_robots_txt_is_fetched_once_per_site_and_a_404_allows_everything(site: Site) -> None:
    # Given a site without robots.txt (the server answers 404) and two items
    site.serve("/news/one/", TURKEY.page().encode())
    site.serve("/news/two/", GEORGIA.page().encode())
    keys = [site.add_item("/news/one/"), site.add_item("/news/two/", example=GEORGIA)]

    # When both are captured
    results = [site.capture(k) for k in keys]

    # Then both are captured, and robots.txt was asked once
    assert [r.status for r in results] == ["captured", "captured"]
    assert site.paths() == ["/robots.txt", "/news/one/", "/news/two/"]
    assert_archive_exact(site.store, count=2)


@polite(
    "robots.txt answers 5xx or times out",
    "nothing on the host is fetched for now: the item stays pending, with the reason",
)
@pytest.mark.parametrize(
    "reply",
    [Reply(status=503, body=b"down", content_type="text/plain"), Reply(delay=5, body=b"")],
    ids=["503", "timeout"],
)
def test_an_unreadable_robots_txt_disallows_the_site_for_now(site: Site, reply: Reply) -> None:
    site.server.route("/robots.txt", reply)
    site.serve("/news/one/", TURKEY.page().encode())
    key = site.add_item("/news/one/")

    result = site.capture(key)

    assert result.status == "pending"
    assert "robots.txt could not be read" in (result.error or "")
    assert site.paths() == ["/robots.txt"]
    assert site.record(key)["capture"]["status"] == "pending"
    assert_archive_exact(site.store, count=1)


# --- pauses ----------------------------------------------------------------------------


@polite(
    "minimum interval per host",
    "at least CAPTURE_MIN_INTERVAL_SECONDS between two requests to one host, robots.txt included",
)
@pytest.mark.serial  # gaps measured on the site: a busy machine stamps late
def test_two_requests_to_one_host_are_at_least_the_minimum_interval_apart(site: Site) -> None:
    # Given a 0.3 s minimum interval and three items on one site
    site.use(with_interval(site.settings, 0.3))
    site.robots("User-agent: *\nAllow: /\n")
    keys = []
    for n, example in enumerate((TURKEY, GEORGIA, TURKEY)):
        site.serve(f"/news/{n}/", example.page().encode())
        keys.append(site.add_item(f"/news/{n}/", example=example))

    # When they are captured one after another
    for key in keys:
        assert site.capture(key).status == "captured"

    # Then the site saw robots.txt and three pages, each at least 0.3 s after the one before
    assert site.paths() == ["/robots.txt", "/news/0/", "/news/1/", "/news/2/"]
    assert all(gap >= 0.3 - JITTER for gap in gaps(site)), gaps(site)


@polite(
    "Crawl-delay",
    "a Crawl-delay longer than the setting is kept between requests; a shorter one changes nothing",
)
@pytest.mark.serial
@pytest.mark.parametrize(
    ("crawl_delay", "interval", "expected"),
    [(0.6, 0.2, 0.6), (0.1, 0.4, 0.4)],
    ids=["longer than the setting wins", "shorter than the setting"],
)
def test_the_crawl_delay_is_kept_when_it_is_longer(
    site: Site, crawl_delay: float, interval: float, expected: float
) -> None:
    site.use(with_interval(site.settings, interval))
    site.robots(f"User-agent: *\nCrawl-delay: {crawl_delay}\n")
    site.serve("/news/a/", TURKEY.page().encode())
    site.serve("/news/b/", GEORGIA.page().encode())
    keys = [site.add_item("/news/a/"), site.add_item("/news/b/", example=GEORGIA)]

    for key in keys:
        assert site.capture(key).status == "captured"

    measured = gaps(site)
    assert len(measured) == 2  # robots.txt -> a -> b
    assert all(gap >= expected - JITTER for gap in measured), measured


# --- who we are, and asking again -------------------------------------------------------


def test_every_request_names_the_archiver_and_a_contact_url(site: Site) -> None:
    site.serve("/news/one/", TURKEY.page().encode())
    site.capture(site.add_item("/news/one/"))

    agents = {r.headers.get("user-agent") for r in site.server.requests()}
    assert agents == {CaptureOptions.user_agent}
    assert "feed-archiver" in CaptureOptions.user_agent and "+https://" in CaptureOptions.user_agent


@polite(
    "re-capture of an unchanged page",
    "the request is conditional (If-None-Match/If-Modified-Since); a 304 or the same payload "
    "digest writes no WARC and no new revision",
)
@pytest.mark.parametrize("honour_validators", [True, False], ids=["304", "same payload"])
def test_a_recapture_of_an_unchanged_page_writes_nothing(
    site: Site, honour_validators: bool
) -> None:
    # Given a captured item whose page has validators
    site.server.route(
        "/news/one/",
        Reply(
            body=TURKEY.page().encode(),
            content_type="text/html; charset=utf-8",
            etag='"v1"',
            last_modified="Fri, 12 Jul 2019 12:00:00 GMT",
            honour_validators=honour_validators,
        ),
    )
    key = site.add_item("/news/one/")
    first = site.capture(key)
    revision = site.record(key)["revision"]

    # When it is captured again
    again = site.capture(key)

    # Then the request was conditional, and nothing new was stored
    last = site.server.requests("/news/one/")[-1]
    assert last.headers.get("if-none-match") == '"v1"'
    assert last.headers.get("if-modified-since") == "Fri, 12 Jul 2019 12:00:00 GMT"
    assert last.status == (304 if honour_validators else 200)
    assert again.status == "captured" and again.unchanged and not again.new_warc
    assert again.warc_key == first.warc_key
    assert warc_keys(site.store) == [first.warc_key]
    assert site.record(key)["revision"] == revision


def test_a_changed_page_is_captured_again(site: Site) -> None:
    site.server.route(
        "/news/one/",
        Reply(body=TURKEY.page().encode(), content_type="text/html"),
        Reply(body=GEORGIA.page().encode(), content_type="text/html"),
    )
    key = site.add_item("/news/one/")
    site.capture(key)

    again = site.capture(key)

    assert again.new_warc and again.written
    assert len(warc_keys(site.store)) == 2
    assert "UZ" in site.record(key)["capture"]["countries"]
    assert_archive_exact(site.store, count=1)
