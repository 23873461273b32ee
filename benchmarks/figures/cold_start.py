"""Figure 4: import time of the handler in a fresh interpreter, against `import boto3` alone.

Each measurement is a new `python -c` that times only the import statement
(interpreter start-up excluded). The cases are interleaved so that a busy
moment on the machine hits all of them alike, and the median is reported.
boto3 is the floor: every run needs it.

Two handler cases: tracing off (POWERTOOLS_TRACE_DISABLED, as in tests and
local runs) and a Lambda-like environment with X-Ray tracing on (what the
template deploys: `Tracing: Active`), where Powertools' Tracer loads the X-Ray
SDK and patches botocore at import.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from benchmarks.aws import ROOT, child_env
from benchmarks.report import Row
from benchmarks.sizes import Sizes

MAX_RATIO = 1.3
# Modules an unchanged run never uses: importing them at cold start is wasted time.
NOT_NEEDED_WHEN_UNCHANGED = ("feedparser", "feed_archiver.parse", "feed_archiver.tag")

_TIMER = (
    "import sys, time\n"
    "started = time.perf_counter()\n"
    "import {module}\n"
    "elapsed = time.perf_counter() - started\n"
    "print(elapsed, ','.join(m for m in {watch!r} if m in sys.modules))\n"
)


def _base_env() -> dict[str, str]:
    env = child_env(
        {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_", "_X_AMZN"))
            and k != "PYTHONDONTWRITEBYTECODE"  # the warm-up run writes the .pyc files
        }
    )
    env.update(
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_SERVICE_NAME="feed-archiver",
        POWERTOOLS_METRICS_NAMESPACE="FeedArchiver",
    )
    return env


def _cases(task_root: str) -> dict[str, tuple[str, dict[str, str]]]:
    base = _base_env()
    lambda_env = {
        **base,
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_LAMBDA_FUNCTION_NAME": "feed-archiver",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    }
    return {
        "boto3": ("boto3", {**base, "POWERTOOLS_TRACE_DISABLED": "1"}),
        "handler": ("feed_archiver.handler", {**base, "POWERTOOLS_TRACE_DISABLED": "1"}),
        "handler_xray": ("feed_archiver.handler", lambda_env),
    }


def _time_import(module: str, env: dict[str, str]) -> tuple[float, str]:
    code = _TIMER.format(module=module, watch=NOT_NEEDED_WHEN_UNCHANGED)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    seconds, _, loaded = out.stdout.strip().splitlines()[-1].partition(" ")
    return float(seconds), loaded.strip()


def measure(repeats: int) -> dict[str, tuple[float, str]]:
    """Median import seconds per case, and the unneeded modules the last try loaded."""
    samples: dict[str, list[float]] = {}
    loaded: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as task_root:
        cases = _cases(task_root)
        for module, env in cases.values():
            _time_import(module, env)  # warm the file cache and .pyc files: not counted
        for _ in range(repeats):
            for name, (module, env) in cases.items():
                seconds, loaded[name] = _time_import(module, env)
                samples.setdefault(name, []).append(seconds)
    return {name: (statistics.median(s), loaded[name]) for name, s in samples.items()}


def cold_start(sizes: Sizes) -> list[Row]:
    results = measure(sizes.import_repeats)
    boto3_ms = results["boto3"][0] * 1000
    rows = [
        Row("Cold start (import, median of "
            f"{sizes.import_repeats})", "import boto3", boto3_ms, "ms"),
    ]  # fmt: skip
    for name, label in (
        ("handler", "import feed_archiver.handler, tracing off"),
        ("handler_xray", "import feed_archiver.handler, Lambda env, X-Ray tracing on"),
    ):
        ms = results[name][0] * 1000
        unneeded = results[name][1]
        rows.append(
            Row(rows[0].figure, label, ms, "ms", boto3_ms, "import boto3",
                f"≤ {MAX_RATIO}× boto3", ms <= MAX_RATIO * boto3_ms,
                f"loads {unneeded}" if unneeded else "no parser or tagger loaded")
        )  # fmt: skip
    return rows
