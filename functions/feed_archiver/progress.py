"""Progress bars for the long commands (history, capture): tqdm on stderr, or nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Protocol


class Progress(Protocol):
    """The part of a tqdm bar the commands use."""

    def update(self, n: int = 1) -> object: ...

    def set_postfix(self, ordered_dict: Mapping[str, object] | None = None) -> None: ...

    def close(self) -> None: ...


# Makes a bar for `total` things counted in `unit`.
ProgressFactory = Callable[[int, str], Progress]


class NoProgress:
    def update(self, n: int = 1) -> object:
        return None

    def set_postfix(self, ordered_dict: Mapping[str, object] | None = None) -> None:
        return None

    def close(self) -> None:
        return None


def no_progress(total: int, unit: str) -> Progress:
    return NoProgress()


def terminal_progress(*, quiet: bool) -> ProgressFactory:
    """tqdm bars on stderr, silent with `quiet` or when stderr is not a terminal."""
    from tqdm import tqdm  # only the commands that show a bar load it

    def make(total: int, unit: str) -> Progress:
        bar: Progress = tqdm(
            total=total,
            unit=unit,
            file=sys.stderr,
            disable=quiet or not sys.stderr.isatty(),
            dynamic_ncols=True,
            leave=False,
        )
        return bar

    return make
