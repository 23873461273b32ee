"""Check a document against data/item.schema.json without the jsonschema package.

`verify` checks every stored document against the JSON Schema. jsonschema and
what it pulls in (referencing, rpds-py, a compiled extension) would be about
2 MB of dependencies for one command, so this implements the keywords the item
schema uses, with JSON Schema's meaning (a keyword applies only to values of its
type). A keyword it does not know raises: a schema change that needs more cannot
be checked half-way. tests/unit/test_schema_check.py holds it to jsonschema's answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

# Keywords that only describe: nothing to check.
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})
_KNOWN = _ANNOTATIONS | {
    "type", "const", "enum", "pattern", "minLength", "minimum", "required", "properties",
    "additionalProperties", "items", "minItems", "uniqueItems", "allOf", "oneOf", "$ref",
}  # fmt: skip
_MAX_ERRORS = 5
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "number": (int, float),
}


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this checker does not implement."""


def schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """What is wrong with `instance` under `schema` ("/path: reason"); empty when valid."""
    errors: list[str] = []
    for error in _errors(instance, schema, schema, ""):
        errors.append(error)
        if len(errors) == _MAX_ERRORS:
            break
    return errors


def _errors(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> Iterator[str]:
    unknown = schema.keys() - _KNOWN
    if unknown:
        raise UnsupportedSchema(f"schema keywords not supported: {', '.join(sorted(unknown))}")
    where = path or "/"
    if "$ref" in schema:
        yield from _errors(value, _resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, name) for name in names):
            yield f"{where}: {_show(value)} is not of type {' or '.join(names)}"
    if "const" in schema and not _equal(value, schema["const"]):
        yield f"{where}: {_show(value)} is not {_show(schema['const'])}"
    if "enum" in schema and not any(_equal(value, option) for option in schema["enum"]):
        yield f"{where}: {_show(value)} is not one of {_show(schema['enum'])}"
    for sub in schema.get("allOf", []):
        yield from _errors(value, sub, root, path)
    if "oneOf" in schema:
        matching = sum(1 for sub in schema["oneOf"] if not any(_errors(value, sub, root, path)))
        if matching != 1:
            yield f"{where}: {_show(value)} matches {matching} of the oneOf choices, not 1"
    if isinstance(value, str):
        yield from _string_errors(value, schema, where)
    elif _is_type(value, "number") and "minimum" in schema and value < schema["minimum"]:
        yield f"{where}: {value} is less than {schema['minimum']}"
    elif isinstance(value, list):
        yield from _array_errors(value, schema, root, path)
    elif isinstance(value, dict):
        yield from _object_errors(value, schema, root, path)


def _string_errors(value: str, schema: dict[str, Any], where: str) -> Iterator[str]:
    if "minLength" in schema and len(value) < schema["minLength"]:
        yield f"{where}: {_show(value)} is shorter than {schema['minLength']}"
    if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
        yield f"{where}: {_show(value)} does not match {schema['pattern']!r}"


def _array_errors(
    value: list[Any], schema: dict[str, Any], root: dict[str, Any], path: str
) -> Iterator[str]:
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield f"{path or '/'}: fewer than {schema['minItems']} items"
    if schema.get("uniqueItems"):
        seen = [json.dumps(v, sort_keys=True) for v in value]
        if len(set(seen)) != len(seen):
            yield f"{path or '/'}: items are not unique"
    if "items" in schema:
        for index, item in enumerate(value):
            yield from _errors(item, schema["items"], root, f"{path}/{index}")


def _object_errors(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str
) -> Iterator[str]:
    for name in schema.get("required", []):
        if name not in value:
            yield f"{path or '/'}: {name!r} is required"
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            yield from _errors(item, properties[name], root, f"{path}/{name}")
        elif extra is False:
            yield f"{path or '/'}: {name!r} is not an allowed property"
        elif isinstance(extra, dict):
            yield from _errors(item, extra, root, f"{path}/{name}")


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return name == "boolean"  # JSON's true is not the number 1
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if _is_type(a, "number") and _is_type(b, "number"):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise UnsupportedSchema(f"only local $ref is supported, not {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return dict(node)


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:80] + "…"
