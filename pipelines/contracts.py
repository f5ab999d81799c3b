"""Table contracts, loaded once from ``schemas/``.

Each YAML file under ``schemas/lake``, ``schemas/warehouse`` and ``schemas/exports`` states a table's
grain, key and columns (type, nullability, allowed values, lower bounds). Parsers
conform their output to it, the SQL models are checked against it, and the
data-quality suites are generated from it. What a contract promises of every row is derived once,
here (:func:`row_rules`): landing validation quarantines the rows that break it
(``ingest/validate.py``) and the checks count them in built tables (``quality/rules.py``). ``schemas/views`` describes the views the
published warehouse adds over its tables (:func:`view_description`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import polars as pl
import yaml

from pipelines.settings import SCHEMAS_DIR


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    allowed: tuple[Any, ...] | None = None
    min: float | None = None

    @property
    def polars_dtype(self) -> pl.DataType:
        return duckdb_to_polars(self.type)


@dataclass(frozen=True)
class Contract:
    table: str
    layer: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    partition: str | None = None
    checks: tuple[dict[str, Any], ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.polars_dtype for c in self.columns}

    def conform(self, df: pl.DataFrame, keep: tuple[str, ...] = ()) -> pl.DataFrame:
        """Select the contract's columns in order, cast to its types; missing nullable columns become null.

        ``keep`` names extra columns to carry along (e.g. ``_record``) when present.
        """
        exprs = []
        for c in self.columns:
            if c.name in df.columns:
                exprs.append(pl.col(c.name).cast(c.polars_dtype, strict=False))
            elif c.nullable:
                exprs.append(pl.lit(None, dtype=c.polars_dtype).alias(c.name))
            else:
                raise KeyError(f"{self.table}: required column {c.name!r} missing from parser output")
        exprs += [pl.col(k) for k in keep if k in df.columns]
        return df.select(exprs)

    def empty(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)


# (part, whole): the part can never exceed the whole.
TOKEN_PARTS = [
    ("cached_input_tokens", "input_tokens"),
    ("cache_write_tokens", "input_tokens"),
    ("cache_write_1h_tokens", "cache_write_tokens"),
    ("reasoning_tokens", "output_tokens"),
]

# Days outside this window are a unit mistake (epoch milliseconds read as seconds, or the reverse), not data.
PLAUSIBLE_DAYS = (date(2000, 1, 1), date(2100, 1, 1))


@dataclass(frozen=True)
class RowRule:
    """One promise a contract makes of every row: ``kind`` of ``column`` (with ``value``); ``reason`` says how a
    row breaks it. ``landing_only`` rules catch a source file read wrong (a time in the wrong unit, a blank id,
    cache parts that overflow the input): landing quarantines those rows, so a landed table holds them by
    construction and the checks of built tables leave them out."""

    column: str
    kind: str  # plausible_date, not_null, not_blank, min (value), allowed (value), part_of (value: the whole), parts_fit
    value: Any = None
    reason: str = ""
    landing_only: bool = False


def row_rules(contract: Contract) -> list[RowRule]:
    """Every promise the contract makes of a row, column by column, then the token parts."""
    out: list[RowRule] = []
    lo, hi = PLAUSIBLE_DAYS
    for c in contract.columns:
        if c.type == "DATE" or c.type.startswith("TIMESTAMP"):
            reason = f"implausible date (not in {lo.year}..{hi.year - 1}): a timestamp in the wrong unit, e.g. milliseconds?"
            out.append(RowRule(c.name, "plausible_date", PLAUSIBLE_DAYS, reason, landing_only=True))
        if not c.nullable:
            out.append(RowRule(c.name, "not_null", None, "missing required value"))
        if not c.nullable and c.type == "VARCHAR":  # an id, a provider or a model of blanks names nothing
            out.append(RowRule(c.name, "not_blank", None, "empty value", landing_only=True))
        if c.min is not None:
            out.append(RowRule(c.name, "min", c.min, f"must be >= {c.min:g}"))
        if c.allowed is not None:
            out.append(RowRule(c.name, "allowed", c.allowed, f"must be one of {', '.join(map(str, c.allowed))}"))
    names = set(contract.names)
    for part, whole in TOKEN_PARTS:
        if part in names and whole in names:
            out.append(RowRule(part, "part_of", whole, f"exceeds {whole}"))
    if "cached_input_tokens" in names and "cache_write_tokens" in names:
        out.append(RowRule("cache_write_tokens", "parts_fit", ("cached_input_tokens", "cache_write_tokens", "input_tokens"),
                           "cached_input_tokens + cache_write_tokens exceeds input_tokens", landing_only=True))
    return out


def duckdb_to_polars(t: str) -> pl.DataType:
    u = t.upper()
    if u.startswith("DECIMAL"):
        p, s = (int(x) for x in u[u.index("(") + 1 : u.index(")")].split(","))
        return pl.Decimal(p, s)
    return {
        "VARCHAR": pl.String,
        "BIGINT": pl.Int64,
        "INTEGER": pl.Int32,
        "DOUBLE": pl.Float64,
        "HUGEINT": pl.Int128,
        "BOOLEAN": pl.Boolean,
        "DATE": pl.Date,
        "TIMESTAMP WITH TIME ZONE": pl.Datetime("us", "UTC"),
    }[u]


@cache
def contract(table: str) -> Contract:
    for layer in ("lake", "warehouse", "exports"):
        path = SCHEMAS_DIR / layer / f"{table}.yaml"
        if path.exists():
            return _load(path)
    raise KeyError(f"no contract for table {table!r} in {SCHEMAS_DIR}")


@cache
def contracts(layer: str) -> dict[str, Contract]:
    return {p.stem: _load(p) for p in sorted((SCHEMAS_DIR / layer).glob("*.yaml"))}


@cache
def _load(path) -> Contract:
    # libyaml's safe loader: the pure-Python one took 2.6 s of every nightly run to read the 34 contracts.
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    cols = tuple(
        Column(
            name=c["name"],
            type=c["type"],
            nullable=c.get("nullable", True),
            description=c.get("description", ""),
            allowed=tuple(c["allowed"]) if "allowed" in c else None,
            min=c.get("min"),
        )
        for c in doc["columns"]
    )
    return Contract(
        table=doc["table"],
        layer=doc["layer"],
        grain=doc["grain"],
        key=tuple(doc.get("key") or ()),
        columns=cols,
        partition=doc.get("partition"),
        checks=tuple(doc.get("checks") or ()),
    )


@cache
def view_description(view: str) -> tuple[str, dict[str, str]]:
    """What a published view's row is, and its columns' descriptions: those of the table it is derived from
    (``columns_from``), then its own (``schemas/views/<view>.yaml``)."""
    doc = yaml.safe_load((SCHEMAS_DIR / "views" / f"{view}.yaml").read_text(encoding="utf-8"))
    source = {c.name: c.description for c in contract(doc["columns_from"]).columns}
    return doc["grain"], {**source, **{c["name"]: c["description"] for c in doc.get("columns") or ()}}
