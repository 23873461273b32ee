"""Which network addresses the fetcher may connect to.

A feed URL comes from configuration and redirects come from the feed's server,
so neither may steer the fetcher at the Lambda's own network: loopback, private
ranges, link-local, carrier-grade NAT, cloud metadata services and the like.
The fetcher resolves each host itself, checks every address with
`blocked_reason`, then connects to a checked address (see fetch_http.py).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.util import parse_url

from feed_archiver.errors import BlockedAddressError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Instance-metadata services (AWS, AWS IPv6, Alibaba, Oracle). They are refused
# even when private networks are allowed: no feed lives there, and reaching them
# would hand out credentials.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
# NAT64 prefixes carry an IPv4 address in their last 32 bits.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def blocked_reason(address: str, *, allow_private_networks: bool = False) -> str | None:
    """Why the fetcher must not connect to `address`, or None when it may.

    With `allow_private_networks` (local demo and tests only) everything but the
    cloud-metadata addresses is allowed.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return "not an IP address"
    for candidate in _with_embedded_ipv4(ip):
        if candidate in METADATA_ADDRESSES:
            return "a cloud metadata address"
    if allow_private_networks:
        return None
    for candidate in _with_embedded_ipv4(ip):
        reason = _range_reason(candidate)
        if reason:
            return reason
    return None


def _with_embedded_ipv4(ip: IPAddress) -> list[IPAddress]:
    """The address itself plus any IPv4 address tunnelled inside an IPv6 one."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return [ip.ipv4_mapped]  # ::ffff:a.b.c.d is a.b.c.d, whatever its IPv6 range
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.sixtofour:
            found.append(ip.sixtofour)
        if ip.teredo:
            found.extend(ip.teredo)
        if any(ip in net for net in _NAT64):
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _range_reason(ip: IPAddress) -> str | None:
    # Named checks first, for a message a person understands; `is_global` last
    # catches every other special-purpose range (TEST-NET, benchmarking, ...).
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.version == 4 and ip in _CGNAT, "a carrier-grade NAT address"),
        (ip.version == 6 and ip in _UNIQUE_LOCAL, "a private address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a public address"),
    )
    return next((reason for hit, reason in checks if hit), None)


def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for a TCP connection, in resolver order.

    getaddrinfo also normalises numeric spellings (`2130706433`, `0x7f.1`,
    `127.1`), so they are checked as the address they really are.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks, with the addresses it may be fetched from."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    request_uri: str  # path and query, percent-encoded
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def check_url(
    url: str,
    *,
    allow_private_networks: bool,
    resolve: Resolver,
    timeout: float,
    what: str = "",
) -> Target:
    """Check the scheme, resolve the host and check every address it resolves to.

    `what` prefixes messages ("redirect to "). Raises FetchError for a bad URL or
    a failed lookup, BlockedAddressError for a refused address.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"refusing {what}{url}: only http and https URLs are fetched")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == "https" else 80)
        request_uri = parse_url(url).request_uri
    except (UnicodeError, ValueError) as exc:
        raise FetchError(f"refusing {what}{url}: not a valid URL ({exc})") from None
    if not host:
        raise FetchError(f"refusing {what}{url}: the URL has no host")
    addresses = [host] if _is_ip(host) else _resolve_within(resolve, host, port, timeout)
    for address in addresses:
        reason = blocked_reason(address, allow_private_networks=allow_private_networks)
        if reason:
            where = f"{host} is" if address == host else f"{host} resolves to {address},"
            raise BlockedAddressError(f"refusing {what}{url}: {where} {reason}")
    return Target(url, scheme, host, port, request_uri, tuple(addresses))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve_within(resolve: Resolver, host: str, port: int, timeout: float) -> list[str]:
    """Run the resolver in a thread so a stuck DNS lookup cannot outlive the deadline."""
    outcome: list[list[str] | BaseException] = []

    def work() -> None:
        try:
            outcome.append(resolve(host, port))
        except BaseException as exc:  # handed to the caller's thread below
            outcome.append(exc)

    worker = threading.Thread(target=work, name=f"resolve {host}", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if not outcome:
        raise FetchError(f"timed out after {timeout:.3g} s resolving {host}")
    result = outcome[0]
    if isinstance(result, OSError | UnicodeError):
        detail = getattr(result, "strerror", None) or str(result) or type(result).__name__
        raise FetchError(f"could not resolve {host}: {detail}")
    if isinstance(result, BaseException):
        raise result
    if not result:
        raise FetchError(f"could not resolve {host}: no addresses")
    return [str(a) for a in result]
