"""The unit tier's purity guard (tests/unit/conftest.py) refuses moto, sockets and subprocesses."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Callable

import pytest
from moto import mock_aws

from tests.unit.conftest import ImpureUnitTest, PurityGuard


def _connect() -> None:
    with socket.socket() as sock:
        sock.connect(("127.0.0.1", 9))


def _bind() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))


def _resolve() -> None:
    socket.getaddrinfo("localhost", 80)


def _spawn() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def _moto() -> None:
    with mock_aws():
        pass


@pytest.mark.parametrize(
    ("attempt", "named"),
    [
        (_connect, "network connection"),
        (_bind, "listening socket"),
        (_resolve, "host name"),
        (_spawn, "subprocess"),
        (_moto, "moto mock"),
    ],
    ids=["connect", "bind", "dns", "subprocess", "mock_aws"],
)
def test_an_impure_action_in_a_unit_test_is_refused_and_recorded(
    unit_purity: PurityGuard, attempt: Callable[[], None], named: str
) -> None:
    # Given the guard every unit test runs under
    # When a unit test reaches for the network, a process or moto
    with pytest.raises(ImpureUnitTest, match=named):
        attempt()
    # Then the attempt is recorded, and the test fails at teardown
    assert unit_purity.violations and named in unit_purity.violations[0]
    with pytest.raises(pytest.fail.Exception, match="move it to tests/integration/"):
        unit_purity.check()
    unit_purity.violations.clear()  # this test meant it


def test_a_refusal_swallowed_by_the_code_under_test_still_fails_the_test(
    unit_purity: PurityGuard,
) -> None:
    # Given code that hides every error it meets
    with contextlib.suppress(BaseException):
        _connect()
    # Then the guard still saw the attempt
    with pytest.raises(pytest.fail.Exception, match="network connection"):
        unit_purity.check()
    unit_purity.violations.clear()


def test_the_refusal_is_not_an_exception_ordinary_error_handling_catches() -> None:
    assert not issubclass(ImpureUnitTest, Exception)
