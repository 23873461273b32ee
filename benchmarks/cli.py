"""`python -m benchmarks [--quick] [--json PATH]`: run every figure, print the table, save JSON.

Exits non-zero only when the benchmark itself breaks; a missed target is a
row marked "no", not a failure (CI runs --quick and asserts no timing).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.aws import ROOT, fake_credentials
from benchmarks.report import Report, Row, machine_info, markdown_table, write_json
from benchmarks.sizes import FULL, QUICK, Sizes

RESULTS = ROOT / "benchmarks" / "results"

Figure = Callable[[Sizes], list[Row]]


def figures() -> list[tuple[str, Figure]]:
    """Every figure, in the order of the table (imported here: no work at import time)."""
    from benchmarks.figures.artifact import artifact
    from benchmarks.figures.capture import capture
    from benchmarks.figures.cold_start import cold_start
    from benchmarks.figures.dashboard import dashboard
    from benchmarks.figures.ingest import ingest
    from benchmarks.figures.parse import parse_and_tag
    from benchmarks.figures.unchanged import unchanged_run

    return [
        ("unchanged run", unchanged_run),
        ("ingest", ingest),
        ("cold start", cold_start),
        ("artifact", artifact),
        ("dashboard", dashboard),
        ("parse and tag", parse_and_tag),
        ("article capture", capture),
    ]


def run(sizes: Sizes, *, mode: str, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Measure every figure at `sizes`."""
    report = Report(machine=machine_info(), mode=mode)
    started = time.perf_counter()
    with fake_credentials():
        for name, figure in figures():
            progress(f"{name}…")
            figure_started = time.perf_counter()
            report.add(*figure(sizes))
            progress(f"{name}: {time.perf_counter() - figure_started:.1f} s")
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (CI): about a minute")
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    path = args.json or RESULTS / f"latest{'-quick' if args.quick else ''}.json"

    def progress(message: str) -> None:
        print(f"[bench] {message}", file=sys.stderr, flush=True)

    report = run(QUICK if args.quick else FULL, mode=mode, progress=progress)
    machine = report.machine
    print(f"\nfeed-archiver benchmark ({mode}), {machine['date']}, {machine['cpu']}, "
          f"{machine['cores']} cores, Python {machine['python']}, {report.seconds:.0f} s\n")  # fmt: skip
    print(markdown_table(report))
    missed = [r for r in report.rows if r.holds is False]
    print(f"\ntargets: {sum(r.holds is True for r in report.rows)} hold, {len(missed)} missed")
    write_json(report, path)
    print(f"results written to {path}")
    return 0
