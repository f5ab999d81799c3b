"""Validate parsed rows against their table's contract; bad rows go to quarantine with a reason.

Generated from ``schemas/lake/*.yaml``: non-null (and, for text, non-blank) columns, lower
bounds, allowed values, plus the token rules every source must satisfy (parts never exceed the
whole). One place for every format.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from pipelines.contracts import Contract
from pipelines.ingest.formats.base import QUARANTINE_SCHEMA

# (part, whole): the part can never exceed the whole.
TOKEN_PARTS = [
    ("cached_input_tokens", "input_tokens"),
    ("cache_write_tokens", "input_tokens"),
    ("cache_write_1h_tokens", "cache_write_tokens"),
    ("reasoning_tokens", "output_tokens"),
]


# Days outside this window are a unit mistake (epoch milliseconds read as seconds, or the reverse), not data.
PLAUSIBLE_DAYS = (date(2000, 1, 1), date(2100, 1, 1))


def rules(contract: Contract) -> list[tuple[str, str, pl.Expr]]:
    """(field, reason, expression that is true for a bad row)."""
    out: list[tuple[str, str, pl.Expr]] = []
    lo, hi = PLAUSIBLE_DAYS
    for c in contract.columns:
        if c.type == "DATE" or c.type.startswith("TIMESTAMP"):
            day = pl.col(c.name) if c.type == "DATE" else pl.col(c.name).dt.date()
            reason = f"implausible date (not in {lo.year}..{hi.year - 1}): a timestamp in the wrong unit, e.g. milliseconds?"
            out.append((c.name, reason, (day < lo) | (day >= hi)))
        if not c.nullable and c.name != "day":
            out.append((c.name, "missing required value", pl.col(c.name).is_null()))
        if not c.nullable and c.type == "VARCHAR":  # an id, a provider or a model of blanks names nothing
            out.append((c.name, "empty value", pl.col(c.name).str.strip_chars() == ""))
        if c.min is not None:
            out.append((c.name, f"must be >= {c.min:g}", pl.col(c.name) < c.min))
        if c.allowed is not None:
            out.append(
                (c.name, f"must be one of {', '.join(map(str, c.allowed))}", ~pl.col(c.name).is_in(list(c.allowed)))
            )
    names = set(contract.names)
    for part, whole in TOKEN_PARTS:
        if part in names and whole in names:
            out.append((part, f"exceeds {whole}", pl.col(part) > pl.col(whole)))
    if "cached_input_tokens" in names and "cache_write_tokens" in names:
        out.append(
            (
                "cache_write_tokens",
                "cached_input_tokens + cache_write_tokens exceeds input_tokens",
                pl.col("cached_input_tokens") + pl.col("cache_write_tokens") > pl.col("input_tokens"),
            )
        )
    return out


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
