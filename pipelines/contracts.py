"""Table contracts, loaded once from ``schemas/``.

Each YAML file under ``schemas/lake``, ``schemas/warehouse`` and ``schemas/exports`` states a table's
grain, key and columns (type, nullability, allowed values, lower bounds). Parsers
conform their output to it, the SQL models are checked against it, and the
data-quality suites are generated from it. ``schemas/views`` describes the views the
published warehouse adds over its tables (:func:`view_description`).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def _load(path) -> Contract:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
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
