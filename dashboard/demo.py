"""`make demo`: the archiver's whole job on one machine, without an AWS account.

1. starts moto's S3 + DynamoDB server in this process, on 127.0.0.1;
2. creates the bucket and table from template.yaml (`feed-archiver init`);
3. serves the bundled sample feed (and any --extra-feed) over local HTTP; the sample as a
   copy whose item links point at this server, which serves an article page for each item
   (dashboard/demo_site.py: the sample's own links are gone from today's www.icmpd.org);
4. archives them through the real fetch path (`feed-archiver run`);
5. captures the article pages (`feed-archiver capture --missing`: robots.txt, WARC, main
   text), with loopback allowed and a short per-host interval (DEMO_CAPTURE_INTERVAL);
   then publishes the exports and the Atom archive feed with the articles' text
   (`feed-archiver publish`), so `feed-archiver sql` works from another shell;
6. serves the dashboard with `streamlit run` on http://localhost:8501.

Ctrl-C (or SIGTERM) stops everything it started. Run as `python -m dashboard.demo`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import webbrowser
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dashboard.feedserver import RSS_TYPE, FeedServer

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "dashboard" / "app.py"
TEMPLATE = ROOT / "template.yaml"
SAMPLE_FEED = ROOT / "tests" / "fixtures" / "icmpd-news-centre-2019-07.xml"
DEMO_BUCKET = "feed-archiver-demo"
DEMO_TABLE = "feed-archiver-demo"
STARTUP_TIMEOUT_SECONDS = 60.0
# CAPTURE_MIN_INTERVAL_SECONDS for the demo: its one "site" is this machine, so the production
# pause of 5 s per request would only make the demo wait (10 pages and a robots.txt).
DEMO_CAPTURE_INTERVAL = "0.2"
SAMPLE_QUERY = '"SELECT category, count(*) FROM items GROUP BY 1"'


class Stop(Exception):
    """Raised by the signal handler so the `finally` blocks stop what was started."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard.demo",
        description="Archive the bundled sample feed into a local moto server and open the dashboard.",
    )
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    parser.add_argument(
        "--address", default="127.0.0.1", help="dashboard address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--moto-port", type=int, default=0, help="moto server port (default: a free one)"
    )
    parser.add_argument(
        "--extra-feed",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="another RSS/Atom file to serve and archive (repeatable)",
    )
    parser.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    return parser.parse_args(argv)


def demo_environment(endpoint: str) -> dict[str, str]:
    """Variables that point the archiver, and the dashboard, at the local moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "ARCHIVE_BUCKET": DEMO_BUCKET,
        "ARCHIVE_TABLE": DEMO_TABLE,
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "FeedArchiverDemo",
        "POWERTOOLS_SERVICE_NAME": "feed-archiver-demo",
        # The article pages are served from 127.0.0.1, which captures refuse unless allowed.
        "ALLOW_PRIVATE_NETWORKS": "1",
        "CAPTURE_MIN_INTERVAL_SECONDS": DEMO_CAPTURE_INTERVAL,
    }


def _say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def _cli(args: list[str]) -> tuple[int, str]:
    """Run `feed-archiver ARGS` in this process; returns its exit code and what it printed."""
    from feed_archiver.cli import main as feed_archiver

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = feed_archiver(args)
    return code, out.getvalue()


def archive_feeds(urls: Sequence[str]) -> bool:
    """`feed-archiver init`, then `feed-archiver run` per feed; False (after saying why) on failure."""
    code, output = _cli(["init", "--template", str(TEMPLATE)])
    if code:
        _say(f"feed-archiver init failed:\n{output}")
        return False
    for url in urls:
        code, output = _cli(["run", "--feed", url, "--allow-private-networks"])
        try:
            feeds = json.loads(output)["feeds"]
        except (ValueError, KeyError):
            feeds = []
        for feed in feeds:
            _say(f"archived {feed['feed_url']}: {feed['status']}, {feed['items_new']} new items")
        if code:
            _say(f"feed-archiver run failed for {url}:\n{output}")
            return False
    return True


def publish_archive() -> bool:
    """`feed-archiver publish`: every export and archive page, with the captured texts.

    Each run already published the months it changed; the captures came after, and a
    complete rebuild costs nothing at the demo's size. False (after saying why) on failure.
    """
    code, output = _cli(["publish", "--quiet"])
    if code:
        _say(f"feed-archiver publish failed:\n{output}")
        return False
    _say(f"published the exports and the archive feed: {output.strip()}")
    return True


def analytics_hint(endpoint: str) -> str:
    """How to query the demo's archive from another shell (README: Open the archive)."""
    env = demo_environment(endpoint)
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
             "ARCHIVE_BUCKET", "ARCHIVE_TABLE")  # fmt: skip
    exports = " ".join(f"{name}={env[name]}" for name in names)
    return f"in another shell: export {exports}\n      then: .venv/bin/feed-archiver sql {SAMPLE_QUERY}"


def publish_site(server: FeedServer) -> list[str]:
    """Serve the sample as a copy linking to `server`, and an article page per item there.

    Returns the article pages' URLs (the demo feed's item links).
    """
    from dashboard.demo_site import articles, localise_feed, site_pages

    sample = SAMPLE_FEED.read_bytes()
    server.serve(f"/{SAMPLE_FEED.name}", localise_feed(sample, server.base_url), RSS_TYPE)
    for route, (body, content_type) in site_pages(sample).items():
        server.serve(route, body, content_type)
    return [f"{server.base_url}{article.path}" for article in articles(sample)]


def capture_articles(items: Sequence[str] = ()) -> bool:
    """`feed-archiver capture --missing`, or `--item` for each of `items`; False on failure."""
    selection = [arg for item in items for arg in ("--item", item)] or ["--missing"]
    code, output = _cli(["capture", "--quiet", *selection])
    try:
        summary = json.loads(output)
    except ValueError:
        summary = None
    if isinstance(summary, dict) and isinstance(summary.get("statuses"), dict):
        counts = ", ".join(f"{n} {status}" for status, n in summary["statuses"].items() if n)
        _say(f"captured the article pages: {counts or 'nothing to capture'}")
    if code:
        _say(f"feed-archiver capture --missing failed:\n{output}")
        return False
    return True


def start_dashboard(port: int, address: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "dashboard.serve", "run", str(APP),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT)


def wait_until_healthy(process: subprocess.Popen[bytes], port: int) -> bool:
    """Poll Streamlit's health endpoint until it answers, the process dies or time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def port_is_free(address: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def _can_open_browser() -> bool:
    # Without a display, webbrowser would start a text browser in this terminal.
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    feeds = [SAMPLE_FEED, *args.extra_feed]
    missing = [str(f) for f in feeds if not f.is_file()]
    if missing:
        _say(f"feed file not found: {', '.join(missing)}")
        return 2
    if not port_is_free(args.address, args.port):
        _say(f"port {args.port} is in use (another dashboard?): stop it or pass --port N")
        return 2
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    from moto.server import ThreadedMotoServer

    dashboard: subprocess.Popen[bytes] | None = None
    with contextlib.ExitStack() as started:
        try:
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=args.moto_port, verbose=False)
            moto.start()
            started.callback(moto.stop)
            host, moto_port = moto.get_host_and_port()
            endpoint = f"http://{host}:{moto_port}"
            os.environ.pop("AWS_PROFILE", None)
            os.environ.pop("AWS_SESSION_TOKEN", None)
            os.environ.update(demo_environment(endpoint))  # inherited by the dashboard too
            _say(f"moto S3 + DynamoDB on {endpoint}")

            server = FeedServer(feeds).start()
            started.callback(server.stop)
            pages = publish_site(server)
            _say(f"serving {len(server.urls)} feed(s): {', '.join(server.urls)}")
            _say(f"serving {len(pages)} article pages and robots.txt on {server.base_url}")
            # An extra feed's links lead off this machine: then only the demo's own pages are
            # captured, and the extra items stay pending for `feed-archiver capture --missing`.
            if not (
                archive_feeds(server.urls)
                and capture_articles(pages if args.extra_feed else ())
                and publish_archive()
            ):
                return 1

            dashboard = start_dashboard(args.port, args.address)
            if not wait_until_healthy(dashboard, args.port):
                _say("the dashboard did not start (see the messages above)")
                return 1
            url = f"http://localhost:{args.port}"
            _say(f"dashboard on {url}  (Ctrl-C stops everything)")
            _say(analytics_hint(endpoint))
            if not args.no_browser and _can_open_browser():
                webbrowser.open(url)
            code = dashboard.wait()
            _say(f"the dashboard exited with code {code}")
            return code or 1
        except (Stop, KeyboardInterrupt):
            _say("stopping")
            return 0
        finally:
            # A second Ctrl-C must not cut the clean-up short.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if dashboard is not None:
                _stop_process(dashboard)


if __name__ == "__main__":
    sys.exit(main())
