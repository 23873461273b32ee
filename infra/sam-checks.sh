#!/usr/bin/env bash
# Checks of the SAM stack: `sam validate`, `sam validate --lint`, `cfn-lint`, checkov (every
# finding fixed or skipped in template.yaml with a reason), a real `sam build` (no Docker) of both
# functions, the size of each built artifact (the archiver's under 2 MiB; the capture function's
# reported), an import of each handler from its artifact with only what Lambda adds to it (boto3
# and the Powertools layer), and the archiver's own tests run again on the function's Python.
#
# Needs only uv and network access to PyPI. The SAM CLI runs in its own uv tool environment,
# so its pins never meet the project's; cfn-lint and checkov are the project's locked ones.
# `sam build` needs an interpreter of the function's runtime (python3.13): taken from PATH,
# pyenv, uv's installed Pythons or apt, in that order, and put first on PATH for the build.
#
# Environment: SAM_CLI_VERSION (pin), SAM_BUILD_DIR (keep the build there instead of a temp
# dir), MAX_ARTIFACT_BYTES (default 2 MiB: the unzipped artifact must stay under it).
set -euo pipefail

cd "$(dirname "$0")/.."

SAM_CLI_VERSION="${SAM_CLI_VERSION:-1.170.0}"
MAX_ARTIFACT_BYTES="${MAX_ARTIFACT_BYTES:-2097152}"
FUNCTION=ArchiverFunction
# The article capture function carries trafilatura, lxml & co.: its size is reported, and held
# under Lambda's 250 MB (unzipped, layers included) with room left for the Powertools layer.
CAPTURE_FUNCTION=CaptureFunction
MAX_CAPTURE_ARTIFACT_BYTES="${MAX_CAPTURE_ARTIFACT_BYTES:-209715200}"

# SAM wants a region even for offline commands; no credentials are needed or used.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
export SAM_CLI_TELEMETRY=0
# Never let uv fetch a Python build from outside PyPI (it could not here anyway).
export UV_PYTHON_DOWNLOADS=never

log() { printf '\n== %s\n' "$*"; }

# The SAM CLI runs on the same interpreter as the build (found below), so one Python suffices.
sam() { uv tool run --quiet --python "$python_bin" --from "aws-sam-cli==${SAM_CLI_VERSION}" sam "$@"; }

runtime="$(sed -n 's/^ *Runtime: *\(python3\.[0-9][0-9]*\).*/\1/p' template.yaml | head -n 1)"
if [[ -z "$runtime" ]]; then
    echo "sam-checks: no pythonX.Y Runtime found in template.yaml" >&2
    exit 1
fi
want="${runtime#python}"

# True if $1 runs and is Python $want with pip (pyenv shims exist but fail for versions that
# are not selected, so `command -v` alone proves nothing).
usable() {
    [[ -x "$1" ]] && "$1" -c "import sys, pip; assert '%d.%d' % sys.version_info[:2] == '$want'" 2>/dev/null
}

find_python() {
    local candidate
    candidate="$(command -v "python$want" || true)"
    if [[ -n "$candidate" ]] && usable "$candidate"; then
        echo "$candidate"
        return
    fi
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/"python$want"; do
        if usable "$candidate"; then
            echo "$candidate"
            return
        fi
    done
    candidate="$(uv python find --no-project "$want" 2>/dev/null || true)"
    if [[ -n "$candidate" ]] && usable "$candidate"; then
        echo "$candidate"
        return
    fi
    if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
        echo "sam-checks: no python$want found; trying apt" >&2
        apt-get update -qq >&2 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$want" python3-pip >&2 || true
        candidate="/usr/bin/python$want"
        if usable "$candidate"; then
            echo "$candidate"
            return
        fi
    fi
    return 1
}

log "interpreter for $runtime"
if ! python_bin="$(find_python)"; then
    echo "sam-checks: need python$want with pip for 'sam build' (pyenv install $want, or apt)" >&2
    exit 1
fi
# Put a folder holding only this interpreter first on PATH, so `sam build` finds it ahead of
# pyenv shims and without dragging the rest of its bin folder along.
shim_dir="$(mktemp -d)"
build_root="${SAM_BUILD_DIR:-$(mktemp -d)}"
cleanup() {
    rm -rf "$shim_dir"
    if [[ -z "${SAM_BUILD_DIR:-}" ]]; then rm -rf "$build_root"; fi
}
trap cleanup EXIT
ln -s "$python_bin" "$shim_dir/python$want"
export PATH="$shim_dir:$PATH"
"python$want" --version

log "SAM CLI $SAM_CLI_VERSION (isolated uv tool environment)"
sam --version

log "sam validate"
sam validate --template-file template.yaml

log "sam validate --lint"
sam validate --lint --template-file template.yaml

log "cfn-lint (project's locked version)"
uv run --frozen cfn-lint --version
uv run --frozen cfn-lint template.yaml

# checkov reads the SAM template itself: it merges Globals into AWS::Serverless::Function and
# checks that as a Lambda function, and every IAM role and policy is written out in the
# template, so the SAM-transformed template adds no finding (compared by hand: the same
# checks, results and skips), and the skips stay next to the resources they are about.
# checkov drops a resource whose Condition is false with the parameters' defaults, so it reads
# a copy with every ENABLED/DISABLED option switched on; otherwise an option that is off by
# default (AccessLogging and its bucket) would never be checked.
checkov_dir="$build_root/checkov"
mkdir -p "$checkov_dir"
log "checkov (project's locked version) over template.yaml, every option switched on"
"python$want" - template.yaml "$checkov_dir/template.yaml" <<'PY'
import sys

source, target = sys.argv[1:]
# One chunk per top-level key and per entry under it (a parameter, a resource, ...).
chunks: list[list[str]] = [[]]
for line in open(source, encoding="utf-8"):
    if line.strip() and not line.startswith("   "):
        chunks.append([])
    chunks[-1].append(line)
option, off, on = "\n    AllowedValues: [ENABLED, DISABLED]\n", "\n    Default: DISABLED\n", "\n    Default: ENABLED\n"
switched = []
with open(target, "w", encoding="utf-8") as out:
    for chunk in map("".join, chunks):
        if option in chunk and off in chunk:
            chunk = chunk.replace(off, on)
            switched.append(chunk.split(":", 1)[0].strip())
        out.write(chunk)
print(f"switched on: {', '.join(switched) or 'nothing'}")
PY
uv run --frozen checkov --version
# --soft-fail: the verdict is the script's below, which also fails when checkov read nothing
# (a template it cannot parse gives an empty report and exit code 0).
uv run --frozen checkov --file "$checkov_dir/template.yaml" --framework cloudformation \
    --skip-download --soft-fail --output json >"$checkov_dir/report.json"
"python$want" - "$checkov_dir/report.json" <<'PY'
import json
import sys

report = json.load(open(sys.argv[1], encoding="utf-8"))
summary = report["summary"]
results = report.get("results", {})
for check in results.get("skipped_checks", []):
    reason = check["check_result"].get("suppress_comment", "")
    print(f"skipped {check['check_id']} on {check['resource']}: {reason}")
failed = results.get("failed_checks", [])
for check in failed:
    first, last = check["file_line_range"]
    print(f"FAILED {check['check_id']} on {check['resource']} (template.yaml:{first}-{last}): "
          f"{check['check_name']}")
print(f"passed {summary['passed']}, failed {summary['failed']}, skipped {summary['skipped']}, "
      f"resources {summary['resource_count']}")
if summary["parsing_errors"] or not summary["resource_count"]:
    sys.exit("sam-checks: checkov could not read template.yaml")
if failed:
    sys.exit("sam-checks: fix each checkov finding, or skip it on its resource in template.yaml "
             "(Metadata: checkov: skip: - id: CKV_..., comment: the reason)")
PY

log "sam build (no container) into $build_root"
sam build --template-file template.yaml --build-dir "$build_root/build"

# measure_artifact NAME LIMIT: nothing the runtime or the layer brings is bundled; the sizes
# (unzipped and zipped as Lambda receives them); the unzipped size under LIMIT bytes.
measure_artifact() {
    local artifact="$build_root/build/$1"
    log "artifact of $1"
    for bundled in boto3 botocore aws_lambda_powertools; do
        if [[ -e "$artifact/$bundled" ]]; then
            echo "sam-checks: $bundled is bundled into $1; it must come from the runtime/layer" >&2
            exit 1
        fi
    done
    "python$want" - "$artifact" "$2" <<'PY'
import io
import sys
import zipfile
from pathlib import Path

root, limit = Path(sys.argv[1]), int(sys.argv[2])
files = sorted(p for p in root.rglob("*") if p.is_file())
unzipped = sum(p.stat().st_size for p in files)
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
    for path in files:
        archive.write(path, path.relative_to(root))
top = sorted({p.relative_to(root).parts[0] for p in files})
print(f"contents: {', '.join(top)}")
print(f"files: {len(files)}")
print(f"unzipped: {unzipped} bytes ({unzipped / 1024:.0f} KiB)")
print(f"zipped:   {len(buffer.getvalue())} bytes ({len(buffer.getvalue()) / 1024:.0f} KiB)")
if unzipped >= limit:
    sys.exit(f"sam-checks: artifact is {unzipped} bytes, over the {limit}-byte budget")
PY
    du -sh "$artifact"
}
artifact="$build_root/build/$FUNCTION"
capture_artifact="$build_root/build/$CAPTURE_FUNCTION"
measure_artifact "$FUNCTION" "$MAX_ARTIFACT_BYTES"
measure_artifact "$CAPTURE_FUNCTION" "$MAX_CAPTURE_ARTIFACT_BYTES"
for heavy in trafilatura warcio protego lxml; do
    if [[ -e "$artifact/$heavy" ]]; then
        echo "sam-checks: $heavy is in $FUNCTION's artifact; it belongs to $CAPTURE_FUNCTION only" >&2
        exit 1
    fi
done

# What Lambda will see: the runtime (boto3), the Powertools layer (pinned as in uv.lock) and the
# artifact, nothing else. A handler that imports a dev-only package fails here, not in AWS.
# The imports write no .pyc into the artifact: a kept build (SAM_BUILD_DIR) stays as built.
powertools="$("python$want" -c 'import tomllib
lock = tomllib.load(open("uv.lock", "rb"))
print(next(p["version"] for p in lock["package"] if p["name"] == "aws-lambda-powertools"))')"
log "import the handler with only boto3, Powertools $powertools and the artifact"
(
    cd "$build_root"
    PYTHONDONTWRITEBYTECODE=1 POWERTOOLS_TRACE_DISABLED=1 \
        uv run --quiet --isolated --no-project --python "$python_bin" \
        --with boto3 --with "aws-lambda-powertools[tracer]==$powertools" \
        python -c '
import sys

root = sys.argv[1]
sys.path.insert(0, root)
import feedparser
import feed_archiver.handler as handler

for module in (handler, feedparser):
    assert module.__file__.startswith(root), f"{module.__name__} came from {module.__file__}"
assert callable(handler.lambda_handler), "feed_archiver.handler.lambda_handler is not callable"
print("feed_archiver.handler.lambda_handler imports from the artifact")
' "$artifact"
)

# The capture function: its handler, and the libraries it loads on first use, from its own
# artifact. lxml's compiled modules are for arm64, so on another machine trafilatura (which
# needs lxml) is checked for presence and platform instead of imported.
log "import the capture handler with only boto3, Powertools $powertools and its artifact"
(
    cd "$build_root"
    PYTHONDONTWRITEBYTECODE=1 POWERTOOLS_TRACE_DISABLED=1 \
        uv run --quiet --isolated --no-project --python "$python_bin" \
        --with boto3 --with "aws-lambda-powertools[tracer]==$powertools" \
        python -c '
import importlib
import platform
import sys
from pathlib import Path

root = sys.argv[1]
sys.path.insert(0, root)
import feed_archiver.capture.handler as handler

assert handler.__file__.startswith(root), f"the handler came from {handler.__file__}"
assert callable(handler.lambda_handler), "feed_archiver.capture.handler.lambda_handler is not callable"
pure = ["warcio", "protego", "feed_archiver.capture.queue"]
native = ["lxml.etree", "trafilatura"]
for name in pure + (native if platform.machine() in ("aarch64", "arm64") else []):
    module = importlib.import_module(name)
    assert module.__file__.startswith(root), f"{name} came from {module.__file__}"
built = sorted(p.name for p in Path(root, "lxml").glob("etree*.so"))
assert built and all("aarch64" in name for name in built), f"lxml is not built for arm64: {built}"
assert Path(root, "trafilatura", "__init__.py").is_file(), "trafilatura is missing"
print(f"feed_archiver.capture.handler.lambda_handler imports from the artifact ({platform.machine()}); "
      f"lxml: {built[0]}")
' "$capture_artifact"
)

# The rest of the suite runs on the development Python (3.11); the code the function
# runs is tested again here on the function's own runtime version.
log "the archiver's tests on the function's Python ($runtime)"
UV_PROJECT_ENVIRONMENT="$build_root/venv-$want" uv run --locked --quiet --python "$python_bin" \
    pytest -q -p no:cacheprovider \
    tests/integration/test_end_to_end.py tests/integration/test_store.py \
    tests/unit/test_store_transactions.py tests/integration/test_fetch.py \
    tests/unit/test_fetch_addresses.py tests/unit/test_parse.py tests/unit/test_identity.py \
    tests/unit/test_text.py tests/unit/test_tag.py tests/integration/test_tag_import.py \
    tests/integration/test_capture_queue.py tests/integration/test_capture_handler.py

log "SAM checks passed"
