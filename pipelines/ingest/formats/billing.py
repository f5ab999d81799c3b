"""Helpers the provider usage/billing formats share.

Every provider file is read by DuckDB (vectorised): JSON through
``json_extract_string`` (so money arrives as text and is cast to DECIMAL, never
through a Python float), CSV with every column as VARCHAR. What the formats then
agree on lives here, so the same billed fact read from two channels (an API page
and a dashboard CSV) comes out with the same columns and so the same ``line_key``:

- ``token_type`` uses one vocabulary: input, cached_input, cache_write_5m,
  cache_write_1h, output, reasoning.
- ``owner`` is the most specific owner the data names, as ``kind:id``.
- Rows are summed to the line-key grain (:func:`to_key_grain`): dimensions the
  lake does not keep (user, context window) never make two rows with one key.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.formats.base import Field, _sql_str

MONEY = "DECIMAL(38,12)"
USAGE_SUMS = [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "requests",
]
USAGE_DIMS = ["day", "provider", "model_raw", "owner", "is_batch", "service_tier", "project_id", "workspace_id", "api_key_id"]
COST_SUMS = ["billed_amount", "billed_cost_usd"]
COST_DIMS = [
    "day",
    "provider",
    "model_raw",
    "owner",
    "is_batch",
    "cost_type",
    "token_type",
    "line_item",
    "currency",
    "project_id",
    "workspace_id",
    "api_key_id",
]


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


# Pages of the admin APIs: {"data": [bucket, ...], "has_more", "next_page"}, each bucket
# {"start_time"|"starting_at", "end_time"|"ending_at", "results": [...]}. A file holds one page,
# a JSON array of pages, or JSON lines of pages. Each result becomes one record (numbered in file
# order) carrying its bucket's bounds as ``_bucket_start``/``_bucket_end``.
PAGE_RESULTS_SQL = """
    with docs as (
        select row_number() over () as _page, json as page
        from read_json_objects($path, format = 'auto', maximum_object_size = 1073741824)
    ),
    buckets as (
        select _page, unnest(json_extract(page, '$.data[*]')) as bucket,
               generate_subscripts(json_extract(page, '$.data[*]'), 1) as _b
        from docs
    ),
    results as (
        select _page, _b,
               coalesce(json_extract_string(bucket, '$.start_time'), json_extract_string(bucket, '$.starting_at')) as bs,
               coalesce(json_extract_string(bucket, '$.end_time'), json_extract_string(bucket, '$.ending_at')) as be,
               unnest(json_extract(bucket, '$.results[*]')) as result,
               generate_subscripts(json_extract(bucket, '$.results[*]'), 1) as _r
        from buckets
    )
    select row_number() over (order by _page, _b, _r) as _record,
           json_merge_patch(result, json_object('_bucket_start', bs, '_bucket_end', be))::VARCHAR as raw
    from results
"""


def json_fields(con: duckdb.DuckDBPyConnection, source_sql: str, fields: list[Field], params: dict) -> pl.DataFrame:
    """Typed columns picked from ``raw`` JSON records of ``source_sql`` (columns ``_record``, ``raw``).

    Same output as :func:`pipelines.ingest.formats.base.jsonl_records`: one column per field,
    ``_raw_<field>`` text, and ``_error_field``/``_error_reason`` for records to quarantine
    (feed it to ``split_errors``).
    """
    paths = ", ".join(_sql_str(f.path) for f in fields)
    typed = ",\n".join(
        f"try_cast(_v[{i + 1}] as {f.type}) as {f.name}, _v[{i + 1}] as _raw_{f.name}" for i, f in enumerate(fields)
    )
    checks = []
    for f in fields:
        if f.required:
            checks.append(f"when _raw_{f.name} is null then {_sql_str(f.name)} || '|missing required field'")
        if f.type != "VARCHAR":
            checks.append(
                f"when _raw_{f.name} is not null and {f.name} is null then "
                f"{_sql_str(f.name)} || '|not a valid {f.type.lower()}: ' || left(_raw_{f.name}, 80)"
            )
    check_sql = " ".join(checks) or "when false then null"
    sql = f"""
        with src as ({source_sql}),
        parsed as (select _record, raw, json_extract_string(raw, [{paths}]) as _v from src),
        typed as (select _record, raw, {typed} from parsed),
        checked as (select *, case {check_sql} end as _err from typed)
        select * exclude (_err), split_part(_err, '|', 1) as _error_field,
               nullif(substr(_err, length(split_part(_err, '|', 1)) + 2), '') as _error_reason
        from checked
    """
    return con.sql(sql, params=params).pl()


def page_records(path: Path, fields: list[Field]) -> pl.DataFrame:
    con = connect()
    try:
        return json_fields(con, PAGE_RESULTS_SQL, fields, {"path": str(path)})
    finally:
        con.close()


def csv_source_sql(columns_sql: str = "*") -> str:
    """Every column of a CSV as VARCHAR with its 1-based data line number; blank lines skipped.

    ``raw`` is the row as JSON text, kept for quarantine.
    """
    return f"""
        select row_number() over () as _record, {columns_sql}
        from read_csv($path, header = true, all_varchar = true, skip = 0, null_padding = true,
                      strict_mode = false, ignore_errors = false, encoding = 'utf-8')
    """


def owner(*candidates: tuple[str, pl.Expr]) -> pl.Expr:
    """The first non-empty candidate as ``kind:id`` (most specific first)."""
    exprs = [
        pl.when(expr.is_not_null() & (expr.cast(pl.String).str.strip_chars() != ""))
        .then(pl.lit(kind + ":") + expr.cast(pl.String).str.strip_chars())
        .otherwise(None)
        for kind, expr in candidates
    ]
    return pl.coalesce(exprs).alias("owner")


def to_key_grain(df: pl.DataFrame, dims: list[str], sums: list[str]) -> pl.DataFrame:
    """Sum rows that share every dimension (one row per billed fact); keep the first record number."""
    if df.is_empty():
        return df
    dims = [d for d in dims if d in df.columns]
    sums = [s for s in sums if s in df.columns]
    aggs = [pl.col("_record").min()]
    for s in sums:
        # A sum of nulls stays null (e.g. requests Anthropic does not report).
        aggs.append(pl.when(pl.col(s).is_null().all()).then(None).otherwise(pl.col(s).sum()).alias(s))
    return df.group_by(dims, maintain_order=True).agg(aggs)


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def nz(col: str) -> pl.Expr:
    """A token count with null read as zero."""
    return pl.col(col).fill_null(0).cast(pl.Int64)


# ---- CSV ---------------------------------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402


@dataclass(frozen=True)
class Col:
    """One typed column out of a CSV read as text.

    ``source`` names the header (alternatives separated by ``|``, matched case-insensitively,
    first present wins); ``parse`` is a SQL template over ``{v}`` (the text) that returns null
    when the text does not convert. A missing column is null (or an error if ``required``).
    """

    name: str
    source: str
    type: str = "VARCHAR"
    required: bool = False
    parse: str | None = None

    def sql(self, column: str | None) -> str:
        if column is None:
            return f"null::{self.type}"
        v = '"' + column.replace('"', '""') + '"'
        if self.parse:
            return self.parse.format(v=f"nullif(trim({v}), '')")
        if self.type == "VARCHAR":
            return f"nullif(trim({v}), '')"
        return f"try_cast(nullif(trim({v}), '') as {self.type})"

    def raw_sql(self, column: str | None) -> str:
        return "null::VARCHAR" if column is None else "nullif(trim(\"" + column.replace('"', '""') + "\"), '')"


# Whole-number counts that exports write as floats ("59200.0").
COUNT = "try_cast(try_cast({v} as DECIMAL(38,6)) as BIGINT)"
# Money: text straight to DECIMAL, never through a float.
AMOUNT = "try_cast({v} as DECIMAL(38,12))"
# Days in any of the styles exports use; all read as UTC.
DAY = (
    "coalesce(try_cast(try_strptime({v}, ['%m/%d/%Y', '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %I:%M:%S %p', '%Y-%m-%d']) as DATE),"
    " try_cast(try_cast({v} as TIMESTAMPTZ) as DATE),"
    " try_cast(to_timestamp(try_cast({v} as DOUBLE)) as DATE))"
)


def csv_header(con: duckdb.DuckDBPyConnection, path: Path, read_opts: str = "") -> list[str]:
    rows = con.execute(
        f"describe select * from read_csv($path, header = true, all_varchar = true{read_opts})", {"path": str(path)}
    ).fetchall()
    return [r[0] for r in rows]


def csv_records(path: Path, cols: list[Col], read_opts: str = "", con: duckdb.DuckDBPyConnection | None = None) -> pl.DataFrame:
    """Typed columns of a CSV export, vectorised; same output shape as :func:`json_fields`."""
    own = con is None
    con = con or connect()
    try:
        header = csv_header(con, path, read_opts)
        lower = {h.lower().strip(): h for h in header}

        def pick(source: str) -> str | None:
            return next((lower[a.lower()] for a in source.split("|") if a.lower() in lower), None)

        picked = {c.name: pick(c.source) for c in cols}
        typed = ",\n".join(f"{c.sql(picked[c.name])} as {c.name}, {c.raw_sql(picked[c.name])} as _raw_{c.name}" for c in cols)
        checks = []
        for c in cols:
            if c.required:
                checks.append(f"when _raw_{c.name} is null then {_sql_str(c.name)} || '|missing required value'")
            if c.type != "VARCHAR" or c.parse:
                checks.append(
                    f"when _raw_{c.name} is not null and {c.name} is null then "
                    f"{_sql_str(c.name)} || '|not a valid {c.type.lower()}: ' || left(_raw_{c.name}, 80)"
                )
        check_sql = " ".join(checks) or "when false then null"
        sql = f"""
            with src as (
                select row_number() over () as _record, *
                from read_csv($path, header = true, all_varchar = true{read_opts}) t
            ),
            typed as (select _record, {typed}, src as _row from src),
            checked as (select *, case {check_sql} end as _err from typed)
            select * exclude (_err, _row),
                   case when _err is not null then to_json(_row)::VARCHAR end as raw,
                   split_part(_err, '|', 1) as _error_field,
                   nullif(substr(_err, length(split_part(_err, '|', 1)) + 2), '') as _error_reason
            from checked
        """
        return con.sql(sql, params={"path": str(path)}).pl()
    finally:
        if own:
            con.close()
