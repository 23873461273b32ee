"""The unit tier stays pure: a unit test that starts moto, uses the network or spawns a process fails.

Every unit test runs with socket connects, binds and name lookups, `subprocess.Popen`
and moto's `mock_aws` replaced by a refusal. The refusal raises a `BaseException`
(code under test that catches `Exception` cannot hide it) and is also recorded, so a
refusal swallowed anyway still fails the test at teardown. Such a test belongs in
tests/integration/.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
from moto.core.models import MockAWS


class ImpureUnitTest(BaseException):
    """Raised where a unit test reached for the network, a process or moto."""


class PurityGuard:
    """Installs the refusals; `violations` lists what a test attempted."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def refusal(self, what: str) -> Callable[..., NoReturn]:
        def refuse(*_: Any, **__: Any) -> NoReturn:
            message = f"a unit test may not {what}: move it to tests/integration/"
            self.violations.append(message)
            raise ImpureUnitTest(message)

        return refuse

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("connect", "connect_ex"):
            monkeypatch.setattr(socket.socket, name, self.refusal("open a network connection"))
        monkeypatch.setattr(socket.socket, "bind", self.refusal("open a listening socket"))
        monkeypatch.setattr(socket, "getaddrinfo", self.refusal("look up a host name"))
        monkeypatch.setattr(subprocess.Popen, "__init__", self.refusal("spawn a subprocess"))
        monkeypatch.setattr(MockAWS, "start", self.refusal("start a moto mock (mock_aws)"))

    def check(self) -> None:
        if self.violations:
            pytest.fail("; ".join(dict.fromkeys(self.violations)), pytrace=False)


@pytest.fixture(autouse=True)
def unit_purity(monkeypatch: pytest.MonkeyPatch) -> Iterator[PurityGuard]:
    guard = PurityGuard()
    guard.install(monkeypatch)
    yield guard
    guard.check()
