"""Peak memory of one ingest, measured in a fresh process: `python -m benchmarks.memory_probe`.

moto keeps everything written in the process that writes it, so an ingest on
moto measures moto's memory too. Here every AWS request is answered by a
canned success before it is sent (a botocore `before-send` handler: the
request is still built, signed and serialised, only not transmitted), so the
process holds what the archiver holds: interpreter, clients, the fetched body,
the parsed feed and the documents in flight. That is what Lambda's "Max
Memory Used" reports. The feed is fetched over HTTP from the parent's server.

Prints one JSON object: RSS after start-up and the peak RSS, in MiB.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import sys
from collections import Counter
from typing import Any

from benchmarks.aws import BUCKET, TABLE, bench_settings, fake_credentials

_DYNAMODB_REPLIES: dict[str, dict[str, Any]] = {
    "BatchGetItem": {"Responses": {TABLE: []}, "UnprocessedKeys": {}},
}


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.read()


def _canned_reply(request: Any, event_name: str, **_: Any) -> Any:
    """A success for every request, as a first ingest into an empty archive sees it."""
    from botocore.awsrequest import AWSResponse

    operation = event_name.rsplit(".", 1)[-1]
    if ".s3." in event_name:
        headers = {"ETag": '"0"', "x-amz-version-id": "probe-version"}
        return AWSResponse(request.url, 200, headers, _Body(b""))  # type: ignore[arg-type]
    body = json.dumps(_DYNAMODB_REPLIES.get(operation, {})).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, 200, headers, _Body(body))  # type: ignore[arg-type]


def _peak_mib() -> float:
    """This process's RSS high-water mark.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent through
    fork and exec, so a child of a big benchmark process would report the parent's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def probe(mode: str, url: str) -> dict[str, Any]:
    """Ingest the feed at `url` (as the archiver or as the baseline) on canned AWS replies."""
    from feed_archiver.storage import Store
    from feed_archiver.storage.clients import make_clients

    clients = make_clients()
    calls: Counter[str] = Counter()
    for client in (clients.s3, clients.dynamodb):
        client.meta.events.register("before-send", _canned_reply)
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    store = Store(BUCKET, TABLE, s3_client=clients.s3, dynamodb_client=clients.dynamodb)
    # Import what the run will import, so "start" is the warm process a Lambda invocation meets.
    import feedparser  # noqa: F401

    from benchmarks.naive import naive_archive
    from feed_archiver.run import archive_feed

    start = _rss_mib()
    if mode == "ours":
        summary = archive_feed(store, bench_settings(url), url)
        items = summary.items_new
        if summary.status != "ok":
            raise RuntimeError(f"memory probe: the run ended {summary.status}: {summary.error}")
    else:
        items = naive_archive(url, clients.s3, clients.dynamodb).entries
    return {
        "mode": mode,
        "items": items,
        "start_rss_mib": round(start, 1),
        "peak_rss_mib": round(_peak_mib(), 1),
        "aws_requests": sum(calls.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=("ours", "naive"), required=True)
    parser.add_argument("url")
    args = parser.parse_args(argv)
    with fake_credentials():
        print(json.dumps(probe(args.mode, args.url)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
