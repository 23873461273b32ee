"""Figure 7: article capture (issue 12): extraction CPU per page, and the CaptureFunction's
artifact size and cold import.

- Extraction: `feed_archiver.capture.extract.extract_article` over the demo's article pages
  (dashboard/demo_site.py: the sample's ten items with navigation, a cookie banner, a related-
  news sidebar and a footer), CPU time (process time) per page, the median over pages of each
  page's median of `import_repeats` runs, after one warm-up run (trafilatura's first call
  loads its models). It is the Lambda's CPU per capture, less the fetch and the WARC.
- Artifact: the `sam build` output when there is one (.aws-sam/build or SAM_BUILD_DIR), else
  what functions/capture/Makefile would package: the feed_archiver package plus the installed
  files of functions/capture/requirements.txt (as in .venv, this machine's wheels: lxml and
  regex differ a little in size from the arm64 ones). Lambda's limit is 250 MB unzipped.
- Cold import, in fresh interpreters as figure 4: the handler alone (what every cold start
  pays), and the handler with what the first capture loads (trafilatura, warcio, protego).
The archiver's requests per new item with enqueueing are a row of the ingest figure.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

from benchmarks.aws import ROOT
from benchmarks.figures.artifact import _installed_files, _source_files, built_artifact, sizes_of
from benchmarks.figures.cold_start import _cases, _time_import
from benchmarks.report import Row
from benchmarks.sizes import Sizes

FUNCTION = "CaptureFunction"
REQUIREMENTS = ROOT / "functions" / "capture" / "requirements.txt"
PACKAGE = ROOT / "functions" / "feed_archiver"
LAMBDA_LIMIT_BYTES = 250 * 1000 * 1000  # Lambda's unzipped limit (function and layers)
MAX_EXTRACTION_MS = 100.0  # per page, on this machine: cheap next to the 5 s per-host pause
HANDLER = "feed_archiver.capture.handler"
FIRST_CAPTURE = f"{HANDLER}, feed_archiver.capture.article, trafilatura, warcio, protego"


def demo_pages() -> list[bytes]:
    """The demo site's article pages (the fixture pages of this figure)."""
    from dashboard.demo_site import HTML_TYPE, site_pages

    seed = (ROOT / "tests" / "fixtures" / "icmpd-news-centre-2019-07.xml").read_bytes()
    pages = site_pages(seed)
    return [
        body for path, (body, kind) in pages.items() if kind == HTML_TYPE and "news-detail" in path
    ]


def extraction_ms(pages: list[bytes], repeats: int) -> tuple[float, float, int]:
    """(median ms per page, slowest page's median ms, median characters extracted)."""
    from feed_archiver.capture.extract import extract_article

    extract_article(pages[0], "text/html; charset=utf-8", "http://127.0.0.1/")  # warm-up
    per_page: list[float] = []
    chars: list[int] = []
    for page in pages:
        samples = []
        for _ in range(max(1, repeats)):
            started = time.process_time()
            article = extract_article(page, "text/html; charset=utf-8", "http://127.0.0.1/")
            samples.append((time.process_time() - started) * 1000)
        per_page.append(statistics.median(samples))
        chars.append(len(article.text))
    return statistics.median(per_page), max(per_page), int(statistics.median(chars))


def would_be_packaged() -> list[tuple[Path, str]]:
    """feed_archiver/ (as the Makefile copies it) and the requirements' installed files."""
    files = [(path, f"feed_archiver/{name}") for path, name in _source_files(PACKAGE)]
    names = []
    for line in REQUIREMENTS.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line.split("==", 1)[0].strip())
    for name in names:  # the file pins every package, dependencies included
        files += _installed_files(metadata.distribution(name))
    return files


def import_ms(repeats: int) -> dict[str, float]:
    """Median import milliseconds of boto3, the capture handler, and the first capture's modules."""
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as task_root:
        env = _cases(task_root)["handler"][1]  # tracing off, as the archiver's figure
        cases = {"boto3": "boto3", "handler": HANDLER, "first capture": FIRST_CAPTURE}
        for module in cases.values():
            _time_import(module, env)  # warm the file cache and .pyc files: not counted
        for _ in range(max(1, repeats)):
            for name, module in cases.items():
                samples.setdefault(name, []).append(_time_import(module, env)[0] * 1000)
    return {name: statistics.median(s) for name, s in samples.items()}


def capture(sizes: Sizes) -> list[Row]:
    pages = demo_pages()
    median_ms, slowest_ms, chars = extraction_ms(pages, sizes.import_repeats)
    figure = "Article capture (CaptureFunction)"
    rows = [
        Row(figure, f"extraction CPU per page (median of {len(pages)} demo pages)", median_ms,
            "ms", target=f"≤ {MAX_EXTRACTION_MS:g} ms", holds=median_ms <= MAX_EXTRACTION_MS,
            note=f"slowest page {slowest_ms:.1f} ms; median {chars:,} characters kept"),
    ]  # fmt: skip
    built = built_artifact(FUNCTION)
    if built is not None:
        files = [
            (p, p.relative_to(built).as_posix()) for p in sorted(built.rglob("*")) if p.is_file()
        ]
        source = "sam build output"
    else:
        files = would_be_packaged()
        source = (
            "computed: feed_archiver + requirements as installed; `make sam-checks` for the build"
        )
    unzipped, zipped = sizes_of(files)
    rows += [
        Row(figure, "artifact, unzipped", unzipped / 2**20, "MiB", LAMBDA_LIMIT_BYTES / 2**20,
            "Lambda limit", "< 250 MB", unzipped < LAMBDA_LIMIT_BYTES, source),
        Row(figure, "artifact, zipped", zipped / 2**20, "MiB", note=f"{len(files)} files"),
    ]  # fmt: skip
    imports = import_ms(sizes.import_repeats)
    rows += [
        Row(figure, f"import {HANDLER} (cold start, median of {sizes.import_repeats})",
            imports["handler"], "ms", imports["boto3"], "import boto3"),
        Row(figure, "… and what the first capture loads (trafilatura, warcio, protego)",
            imports["first capture"], "ms", imports["boto3"], "import boto3"),
    ]  # fmt: skip
    return rows
