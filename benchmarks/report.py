"""The benchmark's rows, the printed table and the JSON file."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One measured figure, with what it is compared to and the target it should meet."""

    figure: str  # e.g. "Unchanged run, server honours ETag"
    measure: str  # e.g. "AWS writes"
    ours: float
    unit: str = ""
    reference: float | None = None  # the naive baseline, the physical limit, or boto3
    reference_name: str = ""  # what `reference` is
    target: str = ""  # the target in words, "" when the row is informative only
    holds: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    mode: str = "full"
    seconds: float = 0.0

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "machine": self.machine,
            "seconds": round(self.seconds, 1),
            "rows": [r.as_dict() for r in self.rows],
        }


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1) if memory else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": _git_commit(),
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if float(value).is_integer() and abs(value) >= 1:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def _ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "—"
    return f"{ratio:.3g}×"


def _holds(row: Row) -> str:
    if row.holds is None:
        return ""
    return "yes" if row.holds else "**no**"


def markdown_table(report: Report) -> str:
    """The table as Markdown, grouped by figure (as pasted into docs/benchmarks.md)."""
    lines = [
        "| Figure | Measure | Ours | Reference | Ours ÷ ref. | Target | Holds |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    previous = None
    for row in report.rows:
        figure = row.figure if row.figure != previous else ""
        previous = row.figure
        reference = (
            f"{_number(row.reference, row.unit)} ({row.reference_name})"
            if row.reference is not None
            else "—"
        )
        measure = f"{row.measure} ({row.note})" if row.note else row.measure
        lines.append(
            f"| {figure} | {measure} | {_number(row.ours, row.unit)} | {reference} "
            f"| {_ratio(row)} | {row.target} | {_holds(row)} |"
        )
    return "\n".join(lines)


def write_json(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")
