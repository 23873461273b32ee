"""Reading a parsed CloudFormation/SAM template (as feed_archiver.stack.load_template returns it).

Short-form tags arrive as {"Ref": ...} / {"Fn::X": ...} dicts; these helpers follow them to
the logical ids they name, without resolving anything that needs AWS.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

Template = dict[str, Any]
SamConfig = dict[str, Any]  # samconfig.toml, as tomllib reads it

FUNCTION = "ArchiverFunction"
BUCKET = "ArchiveBucket"
TABLE = "ArchiveTable"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources_of_type(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def referenced_id(value: Any) -> str | None:
    """The logical id a Ref, GetAtt or Sub points at (first ${X...} of a Sub), else None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, arg),) = value.items()
    if kind == "Ref":
        return str(arg)
    if kind == "Fn::GetAtt":
        return str(arg.split(".")[0] if isinstance(arg, str) else arg[0])
    if kind == "Fn::Sub" and isinstance(arg, str):
        match = re.search(r"\$\{([A-Za-z0-9]+)", arg)
        return match.group(1) if match else None
    return None


def sub_text(value: Any) -> str:
    return value["Fn::Sub"] if isinstance(value, dict) and "Fn::Sub" in value else ""


def arn_text(value: Any) -> str:
    """An ARN as the template writes it, in Sub syntax: GetAtt X.Arn is "${X.Arn}"."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return f"${{{target if isinstance(target, str) else '.'.join(target)}}}"
    return sub_text(value) or str(value)


def condition_switch(template: Template, name: Any) -> tuple[str, Any] | None:
    """(parameter, value) when condition `name` is `!Equals [!Ref parameter, value]`, else None."""
    condition = template.get("Conditions", {}).get(name) if isinstance(name, str) else None
    if not isinstance(condition, dict) or "Fn::Equals" not in condition:
        return None
    left, right = condition["Fn::Equals"]
    parameter = referenced_id(left)
    if parameter is None or parameter not in template.get("Parameters", {}):
        return None
    return parameter, right


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document.get("Statement", []))


def function_properties(template: Template) -> dict[str, Any]:
    """The function's properties with SAM's Globals.Function merged under them."""
    defaults = template.get("Globals", {}).get("Function", {})
    own = template["Resources"][FUNCTION]["Properties"]
    merged = {**defaults, **own}
    # SAM merges environment variables one by one rather than replacing the whole map.
    variables = {
        **defaults.get("Environment", {}).get("Variables", {}),
        **own.get("Environment", {}).get("Variables", {}),
    }
    merged["Environment"] = {"Variables": variables}
    return merged


def parameter_default(template: Template, value: Any) -> Any:
    name = referenced_id(value)
    return template.get("Parameters", {}).get(name or "", {}).get("Default")


def find_in_map(template: Template, value: Any) -> Any:
    """Resolve a Fn::FindInMap against Mappings; other values are returned as they are."""
    if isinstance(value, dict) and "Fn::FindInMap" in value:
        table, key, field = value["Fn::FindInMap"]
        return template["Mappings"][table][key][field]
    return value


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        n: r["Properties"] for n, r in resources_of_type(template, "AWS::CloudWatch::Alarm").items()
    }


def alarm_metrics(props: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The metric(s) an alarm reads: its own, or the MetricStat ones of a metric-math alarm."""
    if "MetricName" in props:
        yield props
    for query in props.get("Metrics", []):
        if "MetricStat" in query:
            yield query["MetricStat"]["Metric"]


def load_samconfig() -> SamConfig:
    return tomllib.loads((ROOT / "samconfig.toml").read_text("utf-8"))


def deploy_parameters(config: SamConfig, environment: str) -> dict[str, str]:
    """The parameter_overrides of `sam deploy --config-env <environment>` as a dict."""
    overrides = config.get(environment, {}).get("deploy", {}).get("parameters", {})
    words = [
        w for item in as_list(overrides.get("parameter_overrides", [])) for w in shlex.split(item)
    ]
    return dict(word.split("=", 1) for word in words)


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text("utf-8"))
    for entry in lock["package"]:
        if entry["name"] == package:
            return str(entry["version"])
    raise AssertionError(f"{package} is not in uv.lock")
