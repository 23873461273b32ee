"""The fetch step's address policy, decided without a connection: schemes, hosts and address ranges."""

from __future__ import annotations

import pytest

from feed_archiver.errors import FetchError
from feed_archiver.fetch import fetch_feed
from feed_archiver.fetch.addresses import blocked_reason
from feed_archiver.settings import FetchOptions

LOCAL = FetchOptions(allow_private_networks=True)
PUBLIC_IP = "93.184.216.34"  # stands for any public address


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/feed", "http:///no-host", "http://h:99999/"]
)
def test_bad_start_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match=r"^refusing"):
        fetch_feed(url, options=LOCAL)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.0.1",
        "fc00::1",
        "fd12:3456::1",
        "169.254.1.1",
        "fe80::1",
        "fe80::1%eth0",
        "100.64.0.1",
        "100.127.255.254",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "198.18.0.1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
        "::7f00:1",
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
    ],
)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert blocked_reason(address) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", PUBLIC_IP, "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert blocked_reason(address) is None


def test_allowing_private_networks_still_blocks_cloud_metadata() -> None:
    assert blocked_reason("127.0.0.1", allow_private_networks=True) is None
    assert blocked_reason("10.0.0.1", allow_private_networks=True) is None
    for metadata in (
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "::ffff:169.254.169.254",
    ):
        assert blocked_reason(metadata, allow_private_networks=True) == "a cloud metadata address"
