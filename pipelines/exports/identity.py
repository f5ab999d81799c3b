"""Who is who in the FOCUS export: the providers' participating entities and each model's identity.

Both come from ``schemas/exports/focus_identity.yaml`` (data, not code) and reach the SQL model as two small
tables, ``dim_focus_providers`` and ``dim_focus_models``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import polars as pl
import yaml

from pipelines.settings import SCHEMAS_DIR

ENTITY_COLUMNS = ["provider_name", "service_provider", "host_provider", "invoice_issuer", "service_name"]


@cache
def _doc() -> dict[str, Any]:
    return yaml.safe_load((SCHEMAS_DIR / "exports" / "focus_identity.yaml").read_text(encoding="utf-8"))


def providers() -> pl.DataFrame:
    """One row per known provider id: its FOCUS entity names and whether it sells other developers' models."""
    rows = [
        (pid, *(str(v[c]) for c in ENTITY_COLUMNS), bool(v.get("resells", False)))
        for pid, v in _doc()["providers"].items()
    ]
    schema = {"provider": pl.String, **{c: pl.String for c in ENTITY_COLUMNS}, "resells": pl.Boolean}
    return pl.DataFrame(rows, schema=schema, orient="row")


@cache
def _rules() -> tuple[tuple[re.Pattern[str], dict[str, str]], ...]:
    return tuple((re.compile(r["pattern"]), r) for r in _doc()["models"])


def model_identity(model: str) -> tuple[str | None, str | None, str | None]:
    """(developer, family, version) of a canonical model name; (None, None, None) when no rule knows it."""
    for pattern, rule in _rules():
        found = pattern.search(model)
        if not found:
            continue
        groups = {k: v for k, v in found.groupdict().items() if v}
        family = rule["family"].format(f=groups.get("f", "").title())
        version = groups.get(rule["version"]) if rule.get("version") else None
        return rule["developer"], family, version.replace("-", ".") if version else None
    return None, None, None


def models(names: list[str]) -> pl.DataFrame:
    rows = [(m, *model_identity(m)) for m in sorted(set(names))]
    schema = {"model": pl.String, "developer": pl.String, "family": pl.String, "version": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")
