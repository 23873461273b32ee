"""One capture as a WARC/1.1 file: warcinfo, then the request and response records.

Written with warcio, each record gzipped on its own (the .warc.gz that replay
tools index). warcio adds WARC-Payload-Digest and WARC-Block-Digest (sha1,
base32, as the web archive's CDX uses) to both HTTP records, and links them
with WARC-Concurrent-To.

The page body was decoded from gzip/deflate while it was read under the size
cap (fetch/exchange.py), so the response record holds the decoded body: its
Content-Encoding and Transfer-Encoding headers are kept renamed
`X-Archive-Orig-...` (as pywb and other archivers do) and Content-Length is
the stored body's, so the record replays as it stands.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, datetime
from importlib import metadata
from urllib.parse import urlsplit

from feed_archiver.fetch.page import PageResponse

_RENAMED = frozenset({"content-encoding", "transfer-encoding"})
CONFORMS_TO = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


def payload_digest(body: bytes) -> str:
    """The WARC-Payload-Digest warcio writes for `body`: "sha1:" + base32."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")  # noqa: S324 - the WARC convention, not security


def warc_date(moment: datetime) -> str:
    """WARC/1.1 date with microseconds: 2019-07-16T13:32:30.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stored_response_headers(page: PageResponse) -> list[tuple[str, str]]:
    """The response headers as the record stores them (see the module docstring)."""
    headers: list[tuple[str, str]] = []
    for name, value in page.response_headers:
        lower = name.lower()
        if lower in _RENAMED:
            headers.append((f"X-Archive-Orig-{name}", value))
        elif lower != "content-length":
            headers.append((name, value))
    headers.append(("Content-Length", str(len(page.body))))
    return headers


def build_warc(
    page: PageResponse,
    *,
    captured_at: datetime,
    filename: str,
    target_uri: str | None = None,
    is_part_of: str = "",
) -> bytes:
    """The gzipped WARC/1.1 file of one exchange (`page` must hold its body)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    uri = target_uri or page.url
    date = warc_date(captured_at)
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    info = {
        "software": f"feed-archiver (warcio {metadata.version('warcio')})",
        "format": "WARC File Format 1.1",
        "conformsTo": CONFORMS_TO,
        "isPartOf": is_part_of,
        "robots": "obey",
        "http-header-user-agent": _header(page.request_headers, "user-agent"),
    }
    warcinfo = writer.create_warcinfo_record(filename, info)
    warcinfo.rec_headers.replace_header("WARC-Date", date)
    writer.write_record(warcinfo)

    parts = urlsplit(uri)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request_head = StatusAndHeaders(
        f"GET {path} HTTP/1.1", list(page.request_headers), is_http_request=True
    )
    request = writer.create_warc_record(
        uri,
        "request",
        payload=io.BytesIO(b""),
        length=0,
        http_headers=request_head,
        warc_headers_dict={"WARC-Date": date},
    )
    response_head = StatusAndHeaders(
        f"{page.status} {page.reason}".strip(),
        stored_response_headers(page),
        protocol=page.http_version,
    )
    response = writer.create_warc_record(
        uri,
        "response",
        payload=io.BytesIO(page.body),
        length=len(page.body),
        http_headers=response_head,
        warc_headers_dict={"WARC-Date": date},
    )
    writer.write_request_response_pair(request, response)
    return out.getvalue()


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")
