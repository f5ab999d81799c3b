"""pydantic's validation errors of tokenbooks.yaml as one line: each wrong key by its path, and what was expected.

An unknown key lists the keys allowed where it stands (read from the JSON Schema); a value that fits no branch of
a union (an address, or a mapping with an address) is reported for the branch its type was meant for.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError


def describe(e: ValidationError, schema: dict[str, Any], most: int = 5) -> str:
    problems = list(dict.fromkeys(_describe(err, schema) for err in _relevant(e.errors(include_url=False))))
    more = f" (and {len(problems) - most} more)" if len(problems) > most else ""
    return "; ".join(problems[:most]) + more


# What pydantic says about the union branch a value is not (a mapping where an address was tried, or the reverse).
WRONG_BRANCH = {"string_type", "dataclass_type", "model_type", "dict_type", "model_attributes_type"}


def _relevant(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors of a union keep only the branch the value was meant for."""
    paths = [tuple(p for p in e["loc"] if not _is_union_branch(p)) for e in errors]
    out = []
    for err, path in zip(errors, paths):
        others = [q for q, e in zip(paths, errors) if e is not err and q[: len(path)] == path]
        if err["type"] in WRONG_BRANCH and len(path) < len(err["loc"]) and others:
            continue
        out.append(err)
    return out


def _describe(err: dict[str, Any], schema: dict[str, Any]) -> str:
    loc = [str(p) for p in err["loc"] if not _is_union_branch(p)]
    path = ".".join(loc) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if not loc and err["type"] == "value_error":  # a check across keys of the whole section: it names them
        return msg
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        allowed = _allowed_keys(schema, loc[:-1])
        return f"{path}: unknown key" + (f"; expected one of {', '.join(allowed)}" if allowed else "")
    if err["type"] == "missing":
        return f"{path}: required"
    got = err.get("input")
    shown = f" (got {got!r})" if isinstance(got, str | int | float | Decimal | date) else ""
    return f"{path}: {msg}{shown}"


def _is_union_branch(part: Any) -> bool:
    """pydantic names the branch of a union it tried (``str``, ``Recipient``): not a key of the file."""
    return isinstance(part, str) and (part[:1].isupper() or part in ("str", "function-before[check_address(), str]"))


def _allowed_keys(schema: dict[str, Any], path: list[str]) -> list[str]:
    """The keys the schema allows at ``path`` (list indexes and mapping keys walk into items and values)."""
    node: dict[str, Any] = schema
    for part in path:
        node = _resolve(schema, node)
        if "properties" in node and part in node["properties"]:
            node = node["properties"][part]
        elif "items" in node:
            node = node["items"]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            return []
    node = _resolve(schema, node)
    return sorted(node.get("properties", {}))


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _resolve(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[1]])
    for branch in node.get("anyOf", []):  # the object branch of `address | {address, apps}` and of `x | null`
        resolved = _resolve(schema, branch)
        if "properties" in resolved or "items" in resolved:
            return resolved
    return node
