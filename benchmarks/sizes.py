"""How big each figure is: the full run of docs/benchmarks.md, and the quick one CI runs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    ingest_items: tuple[int, ...]  # feeds archived from scratch
    latency_items: int  # the ingest run again with a modelled AWS round trip
    latency_seconds: float  # that round trip, added to every AWS request
    dashboard_items: tuple[int, ...]  # archive sizes the dashboard loads from
    parse_items: int  # feed size for the parse/tag split
    import_repeats: int  # fresh interpreters per import measured
    memory_probe: bool  # measure peak memory in a child process


FULL = Sizes(
    ingest_items=(2_000, 10_000),
    latency_items=2_000,
    latency_seconds=0.015,
    dashboard_items=(1_000, 10_000, 100_000),
    parse_items=10_000,
    import_repeats=15,
    memory_probe=True,
)

# About a minute on two cores: every code path of the full run, at sizes that prove nothing.
QUICK = Sizes(
    ingest_items=(150, 400),
    latency_items=150,
    latency_seconds=0.015,
    dashboard_items=(100, 300, 1_000),
    parse_items=400,
    import_repeats=3,
    memory_probe=True,
)

# For the smoke test: the smallest sizes that still produce every figure.
TINY = Sizes(
    ingest_items=(20,),
    latency_items=20,
    latency_seconds=0.001,
    dashboard_items=(30, 60),
    parse_items=20,
    import_repeats=1,
    memory_probe=False,
)
