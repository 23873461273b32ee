"""The real thing: `python -m dashboard.demo` in a subprocess, driven by Chromium through Playwright.

Checks what a person sees: the seed's counts, a filter changing the table, a
hostile title shown as literal text with no dialog, and the render times; and that
axe-core (tests/accessibility.py) finds no violation on the page, filtered or not, and
on an item's detail with its captured article text.
Saves the screenshots and render-times.json under artifacts/screenshots/ (never into the
tracked docs/: `make screenshots` copies them to docs/screenshots/ when wanted).

Skips when /usr/bin/chromium is missing, unless FEED_ARCHIVER_REQUIRE_BROWSER=1
(CI), where that is a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import assert_accessible, require_axe
from tests.dashboard_seed import HOSTILE_TITLE

# serial: one demo and browser at a time. The published render times come from `make
# screenshots`, which runs this file alone.
pytestmark = [pytest.mark.browser, pytest.mark.serial, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "artifacts" / "screenshots"  # gitignored; `make screenshots` publishes them
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
# Months by category, categories, regions, region × month, the world map, the top countries.
CHARTS = 6
# Shapes of the bundled 110m world map (dashboard/data/world-110m.json, less Antarctica).
MAP_SHAPES = 174
STARTUP_SECONDS = 60
# The real seed: ten items; the hostile feed adds one (Uncategorised, August 2019).
SEED_CATEGORIES = {"Project News": 8, "Expert Voice": 1, "ICMPD Around the Globe": 1}
HOSTILE_SUMMARY = "<b>not bold</b> **not bold** <img src=x onerror=alert(2)>"

HOSTILE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Hostile test feed</title>
  <id>urn:uuid:0b6f2a34-hostile-feed</id>
  <updated>2019-08-05T10:00:00Z</updated>
  <link href="https://example.org/"/>
  <entry>
    <title type="text">&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</title>
    <id>urn:uuid:0b6f2a34-hostile-1</id>
    <link href="https://example.org/news/hostile"/>
    <published>2019-08-05T10:00:00Z</published>
    <updated>2019-08-05T10:00:00Z</updated>
    <summary type="text">&lt;b&gt;not bold&lt;/b&gt; **not bold** &lt;img src=x onerror=alert(2)&gt;</summary>
  </entry>
</feed>
"""


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} not found: install it with `make browser-deps` (apt-get install chromium)"
    if os.environ.get("FEED_ARCHIVER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FEED_ARCHIVER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def _stop(demo: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the demo stops what it started), then SIGKILL whatever is left of its group."""
    if demo.poll() is None:
        demo.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            demo.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(demo.pid, signal.SIGKILL)
    demo.wait()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The running demo (sample feed + hostile feed); yields the dashboard URL."""
    _require_chromium()
    folder = tmp_path_factory.mktemp("demo")
    hostile = folder / "test-feed.xml"
    hostile.write_text(HOSTILE_FEED, "utf-8")
    log = (folder / "demo.log").open("wb")
    port = _free_port()
    command = [sys.executable, "-m", "dashboard.demo", "--port", str(port), "--no-browser",
               "--extra-feed", str(hostile)]  # fmt: skip
    # A session of its own, so the finaliser can kill the demo and Streamlit together.
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    f"the demo did not start:\n{(folder / 'demo.log').read_text('utf-8', 'replace')}"
                )
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(process)
        log.close()
    # SIGTERM made the demo stop Streamlit and its servers and exit cleanly (not killed)
    assert process.returncode == 0, (folder / "demo.log").read_text("utf-8", "replace")


@pytest.fixture(scope="module")
def browser(demo: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def dialogs() -> list[str]:
    """Every JavaScript dialog any page opened: must stay empty."""
    return []


def _new_page(browser: Any, dialogs: list[str]) -> Any:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()

    def record_and_dismiss(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record_and_dismiss)
    return page


def _wait_rendered(page: Any) -> None:
    """Until the metrics and every chart are drawn."""
    page.wait_for_selector('[data-testid="stMetric"]', timeout=30_000)
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg').length >= {CHARTS}",
        timeout=30_000,
    )


def _timed_render(page: Any, url: str | None = None) -> float:
    started = time.monotonic()
    if url:
        page.goto(url)
    else:
        page.reload()
    _wait_rendered(page)
    return round(time.monotonic() - started, 2)


def _metric(page: Any, label: str) -> str:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return str(metric.locator('[data-testid="stMetricValue"]').inner_text()).strip()


def _grid(page: Any, header: str) -> Any:
    """The accessible grid of the st.dataframe whose first column is `header`."""
    first = page.locator("th[aria-colindex='1']").filter(has_text=header)
    return page.locator("table[role=grid]").filter(has=first)


def _table_rows(page: Any, header: str) -> list[list[str]]:
    """Cell texts of the rows the grid has drawn (all of them for a short table)."""
    rows = _grid(page, header).locator("tbody tr")
    return [[str(t) for t in row.locator("td").all_inner_texts()] for row in rows.all()]


def _row_count(page: Any, header: str) -> int:
    """Rows of the table, drawn or not (the grid draws only what is in view)."""
    return int(_grid(page, header).get_attribute("aria-rowcount")) - 1


def _wait_until(check: Any, what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _screenshot(page: Any, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit it."""
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + 40})
    page.wait_for_timeout(800)  # let the charts re-lay themselves out
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
    return path


def test_first_render_shows_the_seed_counts_and_is_timed(
    browser: Any, demo: str, dialogs: list[str]
) -> None:
    # Given the demo just started (nothing cached), When a first visitor opens the page
    page = _new_page(browser, dialogs)
    cold = _timed_render(page, demo)
    # Then the metrics and charts show the seed plus the hostile item
    assert _metric(page, "Items in the archive") == "11"
    assert _metric(page, "Matching the filters") == "11"
    assert _metric(page, "Feeds archived") == "2"
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    assert charts.count() == CHARTS
    category_chart = str(charts.nth(1).inner_text())
    for name in SEED_CATEGORIES:
        assert name in category_chart
    assert "An item counts once in each of its regions" in str(charts.nth(2).inner_text())
    # And the numbers behind the category chart are the seed's
    page.get_by_text("The numbers behind the charts").click()
    _grid(page, "category").wait_for(state="attached")
    by_category = {name: int(n) for name, n in _table_rows(page, "category")}
    assert by_category == {**SEED_CATEGORIES, "Uncategorised": 1}
    assert not dialogs

    # When the page is loaded again (data cached, browser cache warm) and by a new visitor
    cached = _timed_render(page)
    second_visitor = _new_page(browser, dialogs)
    cached_new_visitor = _timed_render(second_visitor, demo)

    # The README's picture: the sample feed alone (the test feed's item has its own picture)
    second_visitor.get_by_role("combobox", name="Feed").click()
    second_visitor.get_by_role("option", name="icmpd-news-centre-2019-07.xml").click()
    _wait_until(lambda: _metric(second_visitor, "Matching the filters") == "10", "the feed filter")
    _wait_rendered(second_visitor)
    _screenshot(second_visitor, "dashboard.png")

    # Then the times are recorded for the README (no assertion on them: machines differ)
    (SHOTS / "render-times.json").write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "what": "seconds from navigation until the metrics and all six charts are drawn",
                "cold_seconds": cold,
                "cached_reload_seconds": cached,
                "cached_new_visitor_seconds": cached_new_visitor,
                "items": 11,
                "browser": f"Chromium {browser.version} headless",
                "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
            },
            indent=2,
        )
        + "\n",
        "utf-8",
    )
    assert not dialogs


def test_a_filter_changes_the_table(browser: Any, demo: str, dialogs: list[str]) -> None:
    # Given the page with all eleven items in the table
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_rendered(page)
    assert _row_count(page, "Date") == 11
    # When the category filter is set to Expert Voice
    page.get_by_role("combobox", name="Categories").click()
    page.get_by_role("option", name="Expert Voice").click()
    page.keyboard.press("Escape")
    # Then the table holds that one item, and the metric says so
    _wait_until(lambda: _row_count(page, "Date") == 1, "the table to shrink to one row")
    rows = _table_rows(page, "Date")
    assert len(rows) == 1
    assert rows[0][3] == "Expert Voice"
    assert _metric(page, "Matching the filters") == "1"
    # And the summary picker shows that item too (not the one chosen before the filter)
    picker = page.get_by_role("combobox", name="Read the summary of")
    _wait_until(
        lambda: rows[0][1] in picker.input_value(), "the summary picker to follow the filter"
    )
    assert rows[0][1] in page.locator('[data-testid="stText"]').first.inner_text()
    _wait_rendered(page)
    _screenshot(page, "dashboard-filtered.png")
    assert not dialogs


def test_hostile_title_is_literal_text_and_runs_nothing(
    browser: Any, demo: str, dialogs: list[str]
) -> None:
    # Given the archived item whose title and summary are markup
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_rendered(page)
    # When it is searched for
    search = page.get_by_role("textbox", name="Search titles")
    search.fill("alert")
    search.press("Enter")
    _wait_until(lambda: _metric(page, "Matching the filters") == "1", "the search to apply")
    # Then title and summary show as the characters they are
    detail = page.locator('[data-testid="stText"]')
    assert HOSTILE_TITLE in detail.all_inner_texts()
    assert HOSTILE_SUMMARY in detail.all_inner_texts()
    assert _table_rows(page, "Date")[0][1] == HOSTILE_TITLE
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".st-key-item_detail").screenshot(path=str(SHOTS / "hostile-title.png"))
    # And none of it became markup: no image from the feed, no script, no dialog
    page.wait_for_timeout(500)
    assert page.locator("img[src='x']").count() == 0
    assert not page.evaluate("[...document.scripts].some(s => s.textContent.includes('alert('))")
    assert page.locator('[data-testid="stMarkdownContainer"] b').count() == 0
    assert not dialogs


def test_a_sample_item_shows_its_captured_article_text(
    browser: Any, demo: str, dialogs: list[str]
) -> None:
    # Given the demo, which captured the sample's ten article pages from its local server
    from dashboard.demo import SAMPLE_FEED
    from dashboard.demo_site import articles

    article = next(a for a in articles(SAMPLE_FEED.read_bytes()) if "Kachreti" in a.title)
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_rendered(page)
    # Then the captures health line counts them (the hostile feed's item stays pending)
    page.get_by_text(
        "Article captures of all 11 items: 10 captured, 1 pending, 0 failed"
    ).wait_for()
    # When a sample item is chosen
    picker = page.get_by_role("combobox", name="Read the summary of")
    picker.click()
    page.keyboard.type("Kachreti")
    page.keyboard.press("Enter")
    # Then its capture and its article's text show, as plain text
    page.get_by_text("Article: captured").wait_for(timeout=15_000)
    # (Streamlit draws the detail element by element: wait for the article's last paragraph)
    texts = page.locator('[data-testid="stText"]')
    _wait_until(
        lambda: any(article.paragraphs[-1] in t for t in texts.all_inner_texts()),
        "the captured article's text",
    )
    assert any("source: the live page" in t for t in texts.all_inner_texts())
    download = page.get_by_role("button", name="Download the capture (WARC)")
    download.wait_for()
    assert download.count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".st-key-item_detail").screenshot(path=str(SHOTS / "captured-article.png"))
    assert not dialogs


def test_the_world_map_shows_each_country_and_the_country_filter_narrows_the_totals(
    browser: Any, demo: str, dialogs: list[str]
) -> None:
    # Given the page with every item
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_rendered(page)
    world = page.locator('[data-testid="stVegaLiteChart"]').filter(
        has_text="Items by country on the map"
    )
    # Then Vega drew the map as SVG: every country of the map a shape, grey or coloured
    assert world.locator("svg path").count() >= MAP_SHAPES
    coloured = world.locator('path[aria-roledescription="geoshape"]')
    # And a country the seed names is coloured with its count: Türkiye, named by four items
    assert coloured.count() > 40
    assert world.locator('path[aria-label="Items: 4; Country: Türkiye (TR)"]').count() == 1
    turkey_bar = page.locator('[data-testid="stVegaLiteChart"]').filter(has_text="Items by country")
    assert "Türkiye (TR)" in str(turkey_bar.last.inner_text())
    SHOTS.mkdir(parents=True, exist_ok=True)
    world.screenshot(path=str(SHOTS / "world-map.png"))
    # When the country filter is set to Tunisia (two items name it)
    page.get_by_role("combobox", name="Countries").click()
    page.keyboard.type("Tunisia")  # the list shows only its first options until typed into
    page.get_by_role("option", name="Tunisia (TN)").click()
    page.keyboard.press("Escape")
    # Then the totals and the table follow, and the map colours Tunisia alone
    _wait_until(lambda: _metric(page, "Matching the filters") == "2", "the country filter")
    assert _metric(page, "Items in the archive") == "11"
    _wait_until(lambda: _row_count(page, "Date") == 2, "the table to shrink to two rows")
    _wait_until(
        lambda: world.locator('path[aria-roledescription="geoshape"]').count() == 1,
        "the map to colour Tunisia alone",
    )
    assert world.locator('path[aria-label="Items: 2; Country: Tunisia (TN)"]').count() == 1
    assert not dialogs


@pytest.fixture(scope="module")
def axe() -> Path:
    return require_axe()


def _wait_settled(page: Any) -> None:
    """Until Streamlit has finished its run and Vega has coloured the map's countries."""
    _wait_rendered(page)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
    page.wait_for_selector('path[aria-roledescription="geoshape"]', timeout=30_000)


def test_the_page_passes_axe_core(browser: Any, demo: str, axe: Path, dialogs: list[str]) -> None:
    # Given the page with every item, its charts and the world map drawn
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_settled(page)
    # Then axe-core finds no violation
    assert_accessible(page, axe, "the main page")


def test_the_filtered_page_passes_axe_core(
    browser: Any, demo: str, axe: Path, dialogs: list[str]
) -> None:
    # Given the page filtered to one country
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_settled(page)
    page.get_by_role("combobox", name="Countries").click()
    page.keyboard.type("Tunisia")
    page.get_by_role("option", name="Tunisia (TN)").click()
    page.keyboard.press("Escape")
    _wait_until(lambda: _metric(page, "Matching the filters") == "2", "the country filter")
    _wait_settled(page)
    # Then axe-core finds no violation
    assert_accessible(page, axe, "the page filtered to Tunisia")


def test_the_item_detail_with_its_captured_text_passes_axe_core(
    browser: Any, demo: str, axe: Path, dialogs: list[str]
) -> None:
    # Given a sample item chosen, its capture and captured article text shown
    page = _new_page(browser, dialogs)
    page.goto(demo)
    _wait_settled(page)
    page.get_by_role("combobox", name="Read the summary of").click()
    page.keyboard.type("Kachreti")
    page.keyboard.press("Enter")
    page.get_by_text("Article: captured").wait_for(timeout=15_000)
    page.locator(".st-key-item_detail").get_by_text("Captured article text").wait_for()
    _wait_settled(page)
    # Then axe-core finds no violation
    assert_accessible(page, axe, "the item detail with its captured article text")
