"""The capture's pure parts: decoding, the per-host pacer, robots.txt rules, WARC records, tags."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import jsonschema
import pytest

from feed_archiver import archive_format as fmt
from feed_archiver.capture.extract import decode_html, extract_article
from feed_archiver.capture.sources import is_html
from feed_archiver.capture.tags import (
    ARTICLE,
    TEASER,
    UNION,
    carried_capture,
    combine,
    counted_tags,
    counted_version,
)
from feed_archiver.capture.warc import build_warc, payload_digest, stored_response_headers
from feed_archiver.errors import FetchError, RobotsDisallowedError
from feed_archiver.fetch.page import PageResponse
from feed_archiver.fetch.polite import (
    ROBOTS_RETRY_SECONDS,
    ROBOTS_TTL_SECONDS,
    HostPacer,
    RobotsRules,
)
from feed_archiver.tag import Tags

UA = "feed-archiver-capture/0.1 (+https://example.org/contact)"


def page(
    status: int = 200,
    body: bytes = b"",
    content_type: str = "text/html",
    extra: tuple[tuple[str, str], ...] = (),
) -> PageResponse:
    headers = [("Content-Type", content_type)] if content_type else []
    return PageResponse(
        url="https://news.example/a",
        status=status,
        reason="OK",
        http_version="HTTP/1.1",
        request_headers=[("Host", "news.example"), ("User-Agent", UA)],
        response_headers=[*headers, *extra],
        body=body,
        content_type=content_type,
        body_read=bool(body),
    )


# --- decoding, as browsers do -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "encoding"),
    [
        ("<p>Genève ’</p>".encode("utf-8-sig"), "text/html; charset=windows-1252", "utf-8"),
        ("<p>Genève ’</p>".encode("cp1252"), "text/html; charset=windows-1252", "windows-1252"),
        ("<p>Genève ’</p>".encode("cp1252"), 'text/html; charset="ISO-8859-1"', "windows-1252"),
        (
            '<meta charset="windows-1252"><p>Genève ’</p>'.encode("cp1252"),
            "text/html",
            "windows-1252",
        ),
        ("<p>Genève ’</p>".encode(), "text/html", "utf-8"),
        (
            "<p>Genève ’</p>".encode("cp1252"),
            "text/html",
            "windows-1252",
        ),  # not UTF-8: the fallback
        ("<p>Genève ’</p>".encode("cp1252"), "text/html; charset=x-unknown", "windows-1252"),
    ],
    ids=[
        "BOM wins",
        "header",
        "Latin-1 means windows-1252",
        "meta",
        "valid UTF-8",
        "fallback",
        "unknown label",
    ],
)
def test_html_is_decoded_as_a_browser_would(body: bytes, content_type: str, encoding: str) -> None:
    text, used = decode_html(body, content_type)
    assert used == encoding
    assert "Genève ’" in text


def test_extraction_never_raises_and_drops_control_characters() -> None:
    article = extract_article(
        b"\x00\x01<html><body><p>\x1b[31mRed\x07 text</p>", "text/html", "https://x/"
    )
    assert "\x1b" not in article.text and "\x07" not in article.text
    empty = extract_article(b"", "text/html", "https://x/")
    assert empty.text == "" and empty.extractor == "trafilatura" and empty.extractor_version


def test_html_is_recognised_by_type_or_by_its_first_bytes() -> None:
    assert is_html(page(body=b"<p>x</p>"))
    assert is_html(page(body=b"\xef\xbb\xbf  <!DOCTYPE html><p>x</p>", content_type=""))
    assert not is_html(page(body=b"%PDF-1.7", content_type=""))
    assert not is_html(page(body=b"{}", content_type="application/json"))


# --- the per-host pacer -----------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_requests_to_one_host_start_at_least_the_interval_apart() -> None:
    time = FakeTime()
    pacer = HostPacer(5.0, clock=time.clock, sleep=time.sleep)
    starts = []
    for host in ("a.example", "A.example", "b.example", "a.example"):
        pacer.wait(host)
        starts.append((host.lower(), time.now))
        time.now += 1.0  # the request itself takes a second
    assert starts == [
        ("a.example", 100.0),
        ("a.example", 105.0),
        ("b.example", 106.0),
        ("a.example", 110.0),
    ]


def test_a_longer_crawl_delay_wins_and_a_shorter_one_does_not_shorten_the_pause() -> None:
    time = FakeTime()
    pacer = HostPacer(5.0, clock=time.clock, sleep=time.sleep)
    pacer.wait("a.example")
    pacer.wait("a.example", 12.0)
    pacer.wait("a.example", 1.0)
    assert time.slept == [12.0, 5.0]


# --- robots.txt -------------------------------------------------------------------------


class Robots:
    """A fake robots.txt fetch: scripted answers, counted."""

    def __init__(self, *answers: PageResponse | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, url: str) -> PageResponse:
        self.asked.append(url)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_robots_txt_rules_for_our_agent_are_obeyed_and_read_once_per_origin() -> None:
    fetch = Robots(page(body=b"User-agent: feed-archiver-capture\nDisallow: /private/\nCrawl-delay: 7\n",
                        content_type="text/plain"))  # fmt: skip
    rules = RobotsRules(UA, fetch)
    assert rules.check("https://news.example/a") == 7.0
    with pytest.raises(RobotsDisallowedError) as refused:
        rules.check("https://news.example/private/b")
    assert not refused.value.unavailable
    assert fetch.asked == ["https://news.example/robots.txt"]
    rules.check("http://news.example/a")  # another origin (scheme): its own robots.txt
    assert fetch.asked[-1] == "http://news.example/robots.txt"


def test_a_request_rate_counts_as_a_crawl_delay() -> None:
    rules = RobotsRules(
        UA, Robots(page(body=b"User-agent: *\nRequest-rate: 1/20\n", content_type="text/plain"))
    )
    assert rules.check("https://news.example/a") == 20.0


@pytest.mark.parametrize("status", [404, 410, 401, 403])
def test_a_4xx_robots_txt_allows_everything(status: int) -> None:
    assert RobotsRules(UA, Robots(page(status=status))).check("https://news.example/x") is None


@pytest.mark.parametrize(
    "answer",
    [page(status=503), page(status=429), FetchError("timed out after 20 s")],
    ids=["503", "429", "timeout"],
)
def test_an_unreadable_robots_txt_disallows_for_now_and_is_asked_again_later(
    answer: PageResponse | Exception,
) -> None:
    time = FakeTime()
    fetch = Robots(answer, page(status=404))
    rules = RobotsRules(UA, fetch, clock=time.clock)
    for _ in range(2):
        with pytest.raises(RobotsDisallowedError) as refused:
            rules.check("https://news.example/a")
        assert refused.value.unavailable
    assert len(fetch.asked) == 1  # not asked again at once
    time.now += ROBOTS_RETRY_SECONDS
    assert rules.check("https://news.example/a") is None
    assert len(fetch.asked) == 2


def test_robots_txt_is_read_again_after_a_day() -> None:
    time = FakeTime()
    fetch = Robots(
        page(status=404), page(body=b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    )
    rules = RobotsRules(UA, fetch, clock=time.clock)
    rules.check("https://news.example/a")
    time.now += ROBOTS_TTL_SECONDS
    with pytest.raises(RobotsDisallowedError):
        rules.check("https://news.example/a")


# --- WARC records -------------------------------------------------------------------------


def test_a_warc_holds_the_request_and_the_decoded_response_with_verified_digests() -> None:
    from warcio.archiveiterator import ArchiveIterator

    body = "<html><body><p>Kızılay</p></body></html>".encode()
    response = page(body=body, extra=(("Content-Encoding", "gzip"), ("Content-Length", "17")))
    data = build_warc(
        response, captured_at=datetime(2019, 7, 16, 13, 32, 30, tzinfo=UTC), filename="a.warc.gz"
    )

    records = []
    for record in ArchiveIterator(io.BytesIO(data), check_digests=True):
        content = record.content_stream().read()
        records.append((record.rec_type, record, content))
        assert record.digest_checker.passed is not False and not record.digest_checker.problems
    kinds = [kind for kind, _, _ in records]
    assert kinds == ["warcinfo", "response", "request"]
    _, warc_response, content = records[1]
    assert content == body
    assert warc_response.rec_headers.get_header("WARC-Payload-Digest") == payload_digest(body)
    assert warc_response.rec_headers.get_header("WARC-Date") == "2019-07-16T13:32:30.000000Z"
    assert warc_response.rec_headers.get_header("WARC-Target-URI") == "https://news.example/a"
    assert warc_response.http_headers.get_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert warc_response.http_headers.get_header("Content-Length") == str(len(body))
    request = records[2][1]
    assert request.http_headers.get_header("User-Agent") == UA
    assert request.rec_headers.get_header(
        "WARC-Concurrent-To"
    ) == warc_response.rec_headers.get_header("WARC-Record-ID")
    assert ("Content-Encoding", "gzip") not in stored_response_headers(response)


def test_capture_files_are_named_by_their_utc_time_to_the_millisecond() -> None:
    warc, text = fmt.capture_s3_keys(
        "ab" * 16, datetime(2019, 7, 16, 13, 32, 30, 123456, tzinfo=UTC)
    )
    assert warc == f"captures/{'ab' * 16}/20190716T133230.123Z.warc.gz"
    assert text == f"captures/{'ab' * 16}/20190716T133230.123Z.json"


# --- tags --------------------------------------------------------------------------------

FEED = Tags("Project News", "h", ("TR",), ("Western Balkans and Türkiye",), ())
ARTICLE_TAGS = Tags(
    "", "", ("FR", "GB", "TR"), ("Europe", "Western Balkans and Türkiye"), ("SUPREME",)
)
UNSPECIFIED = Tags("News", "h", (), ("Unspecified",), ())


def capture(status: str = "captured", **extra: object) -> dict[str, object]:
    return {
        "status": status, "requested_url": "https://x/a", "countries": list(ARTICLE_TAGS.countries),
        "regions": list(ARTICLE_TAGS.regions), "programmes": ["SUPREME"], "tagger_version": "1+old",
        **extra,
    }  # fmt: skip


def test_the_sources_combine_as_documented() -> None:
    assert combine(FEED, ARTICLE_TAGS, TEASER) == FEED
    assert combine(FEED, ARTICLE_TAGS, ARTICLE).countries == ("FR", "GB", "TR")
    union = combine(FEED, ARTICLE_TAGS, UNION)
    assert union.category == "Project News" and union.programmes == ("SUPREME",)
    assert combine(UNSPECIFIED, Tags("", "", (), ("Unspecified",), ()), UNION).regions == (
        "Unspecified",
    )
    assert combine(UNSPECIFIED, ARTICLE_TAGS, UNION).regions == (
        "Europe",
        "Western Balkans and Türkiye",
    )


@pytest.mark.parametrize("status", ["pending", "failed", "robots_disallowed", "not_html", "gone"])
def test_only_a_captured_article_adds_tags(status: str) -> None:
    assert counted_tags(FEED, capture(status)) == FEED
    assert counted_tags(FEED, None) == FEED
    assert counted_tags(FEED, capture()).countries == ("FR", "GB", "TR")


def test_an_edit_keeps_the_capture_but_a_new_link_makes_it_pending() -> None:
    record = {"capture": capture()}
    assert carried_capture(record, "https://x/a") == capture()
    moved = carried_capture(record, "https://x/b")
    assert (
        moved is not None
        and moved["status"] == "pending"
        and moved["countries"] == ["FR", "GB", "TR"]
    )
    assert (
        carried_capture(None, "https://x/a") is None and carried_capture({}, "https://x/a") is None
    )


def test_an_article_tagged_by_an_older_tagger_makes_the_item_look_older_to_retag() -> None:
    assert counted_version(capture(), "1+new") == "1+old"
    assert counted_version(capture("failed"), "1+new") == "1+new"
    assert counted_version(None, "1+new") == "1+new"


def test_the_schema_accepts_a_capture_object_and_refuses_a_bad_one() -> None:
    schema = fmt.load_item_schema()["properties"]["capture"]
    root = fmt.load_item_schema()
    good = {
        **capture(), "captured_at": "2019-07-16T13:32:30Z", "checked_at": "2019-07-16T13:32:30Z",
        "source": "live", "url": "https://x/a", "http_status": 200, "snapshot_at": None,
        "warc_key": f"captures/{'ab' * 16}/20190716T133230.123Z.warc.gz",
        "text_key": f"captures/{'ab' * 16}/20190716T133230.123Z.json", "text_chars": 10,
        "payload_digest": payload_digest(b"x"), "etag": None, "last_modified": None, "error": None,
    }  # fmt: skip
    validator = jsonschema.Draft202012Validator({**schema, "$defs": root["$defs"]})
    assert list(validator.iter_errors(good)) == []
    assert list(validator.iter_errors({**good, "status": "archived"}))
    assert list(validator.iter_errors({**good, "payload_digest": "md5:abc"}))


# --- settings ------------------------------------------------------------------------------


def test_capture_settings_come_from_the_environment_with_one_default_each() -> None:
    from feed_archiver.errors import ConfigError
    from feed_archiver.settings import CaptureOptions, load_capture_options

    assert load_capture_options({}) == CaptureOptions()
    assert (
        CaptureOptions().min_interval_seconds == 5.0
        and CaptureOptions().max_bytes == 5 * 1024 * 1024
    )
    env = {
        "CAPTURE_MIN_INTERVAL_SECONDS": "12.5",
        "CAPTURE_USER_AGENT": "my-archive/2 (mailto:archive@example.org)",
        "CAPTURE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/captures",
    }
    options = load_capture_options(env)
    assert options.min_interval_seconds == 12.5 and options.queue_url == env["CAPTURE_QUEUE_URL"]
    with pytest.raises(ConfigError, match="contact URL"):
        load_capture_options({"CAPTURE_USER_AGENT": "anonymous-bot"})
    with pytest.raises(ConfigError, match="CAPTURE_MIN_INTERVAL_SECONDS"):
        load_capture_options({"CAPTURE_MIN_INTERVAL_SECONDS": "-1"})
