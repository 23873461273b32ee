"""A capture replays in pywb, a real replay system: the WARC is what archives and libraries read.

The test writes a captured WARC into a pywb collection (`wb-manager init` and
`add`), starts `wayback` on a free local port in a subprocess whose proxies
all point at a closed port, except for this machine (pywb asks its own index
server over loopback): in replay mode pywb fetches nothing from the web, and
should it try, it gets nowhere. The test asks for the replay of the captured
page, raw and rewritten, and stops pywb.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.capture_site import TURKEY, Site, read_warc

pytestmark = pytest.mark.timeout(120)
BIN = Path(sys.executable).parent
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there


def offline_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        env[name] = DEAD_PROXY
    # pywb talks to its own warcserver over HTTP on this machine: that may pass.
    env.update(HOME=str(home), no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def local_get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextmanager
def wayback(root: Path, env: dict[str, str]) -> Iterator[str]:
    """pywb's `wayback` serving `root` on a free local port; stopped on exit."""
    port = free_port()
    log = (root / "wayback.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (root / "wayback.log").read_text(errors="replace")
            try:
                if local_get(base + "/", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("pywb did not start within 60 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@pytest.mark.reliability(
    group="Article capture",
    case="replay in pywb",
    must_hold="the captured WARC indexes and replays in pywb; the replayed page holds the article's text",
)
@pytest.mark.skipif(not (BIN / "wayback").exists(), reason="pywb (dev dependency) is not installed")
def test_a_captured_page_replays_in_pywb_with_the_article_text(site: Site, tmp_path: Path) -> None:
    # Given an article captured from the site
    site.serve("/news/one/", TURKEY.page().encode())
    result = site.capture(site.add_item("/news/one/"))
    assert result.status == "captured" and result.warc_key
    warc = site.store.get_warc(result.warc_key)
    response = read_warc(warc)[1]
    timestamp = "".join(c for c in response["date"] if c.isdigit())[:14]
    (tmp_path / "capture.warc.gz").write_bytes(warc)

    # When the WARC is added to a pywb collection and pywb serves it
    env = offline_env(tmp_path)
    for command in (["init", "articles"], ["add", "articles", "capture.warc.gz"]):
        subprocess.run(
            [str(BIN / "wb-manager"), *command],
            cwd=tmp_path,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
    with wayback(tmp_path, env) as base:
        replay = local_get(f"{base}/articles/{timestamp}mp_/{response['uri']}")
        raw = local_get(f"{base}/articles/{timestamp}id_/{response['uri']}")

    # Then the replayed page holds the article's text, and the raw replay is the page as captured
    status, body = replay
    assert status == 200
    text = body.decode("utf-8")
    assert "funded by the United Kingdom" in text and "Turkish Red Crescent (Kızılay)" in text
    assert raw == (200, response["content"])
