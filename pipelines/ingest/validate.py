"""Validate parsed rows against their table's contract; bad rows go to quarantine with a reason.

Generated from ``schemas/lake/*.yaml`` through :func:`pipelines.contracts.row_rules` (the same
derivation the checks use): plausible dates, non-null (and, for text, non-blank) columns, lower
bounds, allowed values, plus the token rules every source must satisfy (parts never exceed the
whole). One place for every format.
"""

from __future__ import annotations

from datetime import datetime, time, timezone

import polars as pl

from pipelines.contracts import Contract, RowRule, row_rules
from pipelines.db import sql_ident
from pipelines.ingest.formats.base import QUARANTINE_SCHEMA


def rules(contract: Contract) -> list[tuple[str, str, pl.Expr]]:
    """(field, reason, expression that is true for a bad row), for each promise of the contract's rows
    (:func:`pipelines.contracts.row_rules`). The partition column is not read but computed from the row's time:
    a row without one is reported by that time's own rule."""
    return [(r.column, r.reason, _bad(r, contract)) for r in row_rules(contract)
            if not (r.kind == "not_null" and r.column == "day")]


def _bad(r: RowRule, contract: Contract) -> pl.Expr:
    col = pl.col(r.column)
    if r.kind == "plausible_date":
        lo, hi = r.value
        day = col if contract.column(r.column).type == "DATE" else col.dt.date()
        return (day < lo) | (day >= hi)
    if r.kind == "not_null":
        return col.is_null()
    if r.kind == "not_blank":
        return col.str.strip_chars() == ""
    if r.kind == "min":
        return col < r.value
    if r.kind == "allowed":
        return ~col.is_in(list(r.value))
    if r.kind == "part_of":
        return col > pl.col(r.value)
    if r.kind == "parts_fit":
        a, b, whole = r.value
        return pl.col(a) + pl.col(b) > pl.col(whole)
    raise ValueError(f"{contract.table}.{r.column}: no landing check for a {r.kind!r} rule")


def suspect_sql(contract: Contract) -> tuple[str, dict]:
    """SQL (and its bound parameters) true for a row that :func:`validate` might refuse: the rules of :func:`rules`
    over the contract's columns, never missing a row they refuse (it may take in a few more: a text of control
    characters counts as blank here). The one-pass landing (``pipelines.ingest.clean``) lands a file only when no
    row is suspect; a file with one goes through :func:`validate`, which names each row's field and reason."""
    params: dict = {}
    parts = []
    for i, r in enumerate(rr for rr in row_rules(contract) if not (rr.kind == "not_null" and rr.column == "day")):
        col, p = sql_ident(r.column), f"rule_{i}"
        if r.kind == "plausible_date":
            params[p + "_lo"], params[p + "_hi"] = r.value
            if contract.column(r.column).type != "DATE":  # a time against its UTC day's bounds: no cast per row
                params[p + "_lo"], params[p + "_hi"] = (datetime.combine(d, time(), timezone.utc) for d in r.value)
            parts.append(f"{col} < ${p}_lo or {col} >= ${p}_hi")
        elif r.kind == "not_null":
            parts.append(f"{col} is null")
        elif r.kind == "not_blank":
            # Polars strips Unicode white space; every such character is a separator (Z) or a control (Cc). Text
            # starting with a printable ASCII character is not blank, and skips the regular expression.
            parts.append(f"case when ascii({col}) between 33 and 126 then false else regexp_full_match({col}, '[\\p{{Z}}\\p{{Cc}}]*') end")
        elif r.kind == "min":
            params[p] = r.value
            parts.append(f"{col} < ${p}")
        elif r.kind == "allowed":
            params[p] = list(r.value)
            parts.append(f"{col} is not null and not list_contains(${p}, {col})")
        elif r.kind == "part_of":
            parts.append(f"{col} > {sql_ident(r.value)}")
        elif r.kind == "parts_fit":
            a, b, whole = (sql_ident(c) for c in r.value)
            parts.append(f"{a} + {b} > {whole}")  # an overflow raises: the file takes the exact path
        else:
            raise ValueError(f"{contract.table}.{r.column}: no landing check for a {r.kind!r} rule")
    return " or ".join(f"({x})" for x in parts) or "false", params


def validate(df: pl.DataFrame, contract: Contract) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return (good rows, quarantine rows with record/field/reason/raw)."""
    checks = rules(contract)
    if df.is_empty() or not checks:
        return df, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    field_expr = pl.lit(None, pl.String)
    reason_expr = pl.lit(None, pl.String)
    for field, reason, bad in reversed(checks):
        hit = bad.fill_null(False)
        field_expr = pl.when(hit).then(pl.lit(field)).otherwise(field_expr)
        reason_expr = pl.when(hit).then(pl.lit(reason)).otherwise(reason_expr)
    tagged = df.with_columns(field_expr.alias("_field"), reason_expr.alias("_reason"))
    bad_rows = tagged.filter(pl.col("_reason").is_not_null())
    quarantine = bad_rows.select(
        pl.col("_record").cast(pl.Int64).alias("record") if "_record" in df.columns else pl.lit(None, pl.Int64).alias("record"),
        pl.col("_field").alias("field"),
        pl.col("_reason").alias("reason"),
        # The row as parsed (after provenance, canonical model, pseudonymised user), for whoever fixes the source.
        pl.struct([c for c in df.columns if c not in ("_record", "_n")]).struct.json_encode().str.slice(0, 2000).alias("raw"),
        *([pl.col("_n")] if "_n" in df.columns else []),
    )
    good = tagged.filter(pl.col("_reason").is_null()).drop("_field", "_reason")
    return good, quarantine
