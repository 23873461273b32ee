"""Figure 5: the size of the function's deployment artifact, without the Powertools layer.

When `make sam-checks` (or `sam build`) has left a build in .aws-sam/build,
that artifact is measured. Otherwise the benchmark measures what `sam build`
would package: the CodeUri folder (functions/, without caches) plus the
installed files of functions/requirements.txt and their dependencies, as
they are in .venv; the row says which of the two it is.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from benchmarks.aws import ROOT
from benchmarks.report import Row
from benchmarks.sizes import Sizes

MAX_BYTES = 2 * 1024 * 1024  # infra/sam-checks.sh holds the unzipped artifact to this too
FUNCTION = "ArchiverFunction"
CODE_DIR = ROOT / "functions"
_SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}


def built_artifact(function: str = FUNCTION) -> Path | None:
    """The artifact `sam build` left, if any (SAM_BUILD_DIR, as sam-checks.sh names it, first)."""
    candidates = []
    if os.environ.get("SAM_BUILD_DIR"):
        candidates.append(Path(os.environ["SAM_BUILD_DIR"]) / "build" / function)
    candidates.append(ROOT / ".aws-sam" / "build" / function)
    return next((c for c in candidates if c.is_dir()), None)


def _source_files(folder: Path) -> list[tuple[Path, str]]:
    files = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not _SKIPPED_PARTS & set(relative.parts) and path.suffix != ".pyc":
            files.append((path, relative.as_posix()))
    return files


def _requirements() -> list[str]:
    names = []
    for line in (CODE_DIR / "requirements.txt").read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0])
    return names


def _with_dependencies(names: Iterable[str]) -> list[metadata.Distribution]:
    seen: dict[str, metadata.Distribution] = {}
    queue = list(names)
    while queue:
        name = queue.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        dist = metadata.distribution(name)
        seen[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                queue.append(re.split(r"[<>=!~\[; (]", requirement, maxsplit=1)[0])
    return list(seen.values())


def _installed_files(dist: metadata.Distribution) -> list[tuple[Path, str]]:
    files = []
    for file in dist.files or []:
        path = Path(str(dist.locate_file(file)))
        if path.is_file() and "__pycache__" not in file.parts and file.suffix != ".pyc":
            files.append((path, file.as_posix()))
    return files


def would_be_packaged() -> list[tuple[Path, str]]:
    files = _source_files(CODE_DIR)
    for dist in _with_dependencies(_requirements()):
        files += _installed_files(dist)
    return files


def sizes_of(files: list[tuple[Path, str]]) -> tuple[int, int]:
    """(unzipped bytes, zipped bytes) of the files, zipped as Lambda receives them."""
    unzipped = sum(path.stat().st_size for path, _ in files)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in files:
            archive.write(path, name)
    return unzipped, len(buffer.getvalue())


def artifact(sizes: Sizes) -> list[Row]:
    built = built_artifact()
    if built is not None:
        files = [
            (p, p.relative_to(built).as_posix()) for p in sorted(built.rglob("*")) if p.is_file()
        ]
        source = f"sam build output in {built.relative_to(ROOT) if built.is_relative_to(ROOT) else built}"
    else:
        files = would_be_packaged()
        source = (
            "computed: functions/ + requirements as installed; `make sam-checks` for the real build"
        )
    unzipped, zipped = sizes_of(files)
    figure = "Artifact (no Powertools layer)"
    return [
        Row(figure, "unzipped", unzipped / 2**20, "MiB", MAX_BYTES / 2**20, "limit",
            "< 2 MiB", unzipped < MAX_BYTES, source),
        Row(figure, "zipped", zipped / 2**20, "MiB", MAX_BYTES / 2**20, "limit",
            "< 2 MiB", zipped < MAX_BYTES, f"{len(files)} files"),
    ]  # fmt: skip
