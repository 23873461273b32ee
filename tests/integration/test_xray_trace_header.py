"""Issue 11, item 11: X-Ray traces the AWS calls and tells no feed server about them.

The handler's tracer patches the X-Ray SDK into the process. Patching
"httplib" (the standard library's http.client) adds `X-Amzn-Trace-Id` to every
request sent through http.client's `request()`, whoever it goes to: a feed
server would learn the account's trace ids. This test runs the handler's
tracer as Lambda would build it (in a subprocess: patching is process-wide and
the X-Ray SDK cannot undo its botocore patch), sends what a run sends to third
parties (the feed fetch, and a request through the standard library's HTTP
client) and one AWS call to local servers, and reads the headers they received.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.httpserver import FeedServer, Reply

TRACE_HEADER = "x-amzn-trace-id"
FEED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><link>https://x/</link>"
    b"<item><title>One</title><link>https://x/1</link></item></channel></rss>"
)
LIST_BUCKETS = (
    b"<?xml version='1.0' encoding='UTF-8'?>"
    b"<ListAllMyBucketsResult xmlns='http://s3.amazonaws.com/doc/2006-03-01/'>"
    b"<Owner><ID>x</ID></Owner><Buckets/></ListAllMyBucketsResult>"
)

# The invocation, as Lambda runs it: the handler module's own `traced` (Powertools'
# Tracer with the handler's TRACED_MODULES), then the requests inside it.
INVOCATION = """
import json, sys, urllib.request
import boto3
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
from feed_archiver.fetch import fetch_feed
from feed_archiver.handler import TRACED_MODULES, traced
from feed_archiver.settings import FetchOptions

feed_url, page_url, aws_endpoint = sys.argv[1:4]

def invocation(event, context):
    fetch_feed(feed_url, options=FetchOptions(allow_private_networks=True))
    urllib.request.urlopen(page_url, timeout=10).read()
    boto3.client("s3", endpoint_url=aws_endpoint).list_buckets()
    return {}

traced(invocation)({}, None)
print(json.dumps({"traced": list(TRACED_MODULES), "patched": sorted(_PATCHED_MODULES)}))
"""


@pytest.fixture
def daemon() -> Iterator[str]:
    """A UDP socket standing in for the X-Ray daemon, so segments go nowhere else."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sink.getsockname()[1]}"


def lambda_environment(daemon: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_TRACE", "AWS_SAM"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "functions"), str(ROOT)]),
        LAMBDA_TASK_ROOT=str(ROOT / "functions"),
        AWS_LAMBDA_FUNCTION_NAME="feed-archiver-test-archiver",
        # A sampled trace, as Lambda sets it for an invocation with active tracing.
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        AWS_XRAY_DAEMON_ADDRESS=daemon,
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
    )
    return env


@pytest.mark.reliability(
    group="Security audit",
    case="X-Ray on: a run fetches a feed, sends a request through http.client and calls AWS",
    must_hold="no request to a feed server carries X-Amzn-Trace-Id; the AWS call does "
    "(it is traced); only botocore is patched",
)
def test_trace_header_goes_to_aws_and_never_to_a_feed_server(
    feed_server: FeedServer, daemon: str
) -> None:
    # Given a feed, another page on a third-party server and an S3 endpoint
    feed_url = feed_server.route("/feed", Reply(body=FEED))
    page_url = feed_server.route("/page", Reply(body=b"<p>hi</p>", content_type="text/html"))
    feed_server.route("/", Reply(body=LIST_BUCKETS, content_type="application/xml"))
    # When the handler's tracer wraps an invocation that requests all three
    done = subprocess.run(
        [sys.executable, "-c", INVOCATION, feed_url, page_url, feed_server.url("/")],
        env=lambda_environment(daemon),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(done.stdout.strip().splitlines()[-1])
    # Then the AWS call was traced (so tracing was on, and a trace id was there to leak)
    [aws] = feed_server.requests("/")
    assert aws.headers.get(TRACE_HEADER, "").startswith("Root=1-5759e988-"), aws.headers
    # And no third-party request carried the trace id
    third_party = feed_server.requests("/feed") + feed_server.requests("/page")
    assert len(third_party) == 2
    assert [r.headers.get(TRACE_HEADER) for r in third_party] == [None, None]
    # And only the AWS SDK is patched
    assert modules == {"traced": ["botocore"], "patched": ["botocore"]}
