"""Benchmarks of feed-archiver on moto, in-process: no AWS account is needed or touched.

    python -m benchmarks            # the full table (docs/benchmarks.md)
    python -m benchmarks --quick    # small sizes, for CI: checks the benchmark runs, asserts no timing

Every AWS request is counted by a botocore `before-call` hook, never estimated.
"""
