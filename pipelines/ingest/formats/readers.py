"""How provider exports are read: DuckDB, vectorised, money as text straight to DECIMAL.

- :func:`page_records`: admin-API pages (``{"data": [bucket]}``), one page, an array or JSON lines.
- :func:`csv_records`, :func:`parquet_records`, :func:`jsonl_export_records`: tabular exports, every
  value read as text and typed by its :class:`~pipelines.ingest.formats.fields.Field` (bad values flagged per record for quarantine),
  optionally summed to the grain of the facts before Python sees them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.db import connect, sql_ident, sql_str
from pipelines.ingest.formats.base import InputError, read_error
from pipelines.ingest.formats.csvrows import csv_rows
from pipelines.ingest.formats.envelopes import check_pages
from pipelines.ingest.formats.fields import ERROR_COLUMNS, Field, export_checks, has_money, money_as_text, records_sql
from pipelines.ingest.formats.lines import LINES
from pipelines.ingest.formats.values import instant_sql, rfc3339_sql, whole_number_sql

# Pages of the admin APIs: {"data": [bucket, ...], "has_more", "next_page"}, each bucket
# {"start_time"|"starting_at", "end_time"|"ending_at", "results": [...]}. A file holds one page,
# a JSON array of pages, or JSON lines of pages. Each result becomes one record (numbered in file
# order) carrying its bucket's bounds as ``_bucket_start``/``_bucket_end``.
PAGE_RESULTS_SQL = f"""
    with docs as (
        select row_number() over () as _page, {money_as_text("json::VARCHAR")} as page
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
    select row_number() over (order by _page, _b, _r) as _record, raw, _readable
    from (
        select _page, _b, _r, null::varchar as _readable,
               json_merge_patch(result, json_object('_bucket_start', bs, '_bucket_end', be))::VARCHAR as raw
        from results
        union all  -- a document that is not a page is a record to quarantine, never skipped
        select _page, 0, 0, 'not an admin-API page (no "data" array)', left(page::VARCHAR, 2000)
        from docs where json_type(page, '$.data') is distinct from 'ARRAY'
    )
"""


def pages_complete(path: Path) -> bool:
    """Whether a file of admin-API pages is a whole page set: its last page says there is no more.

    A file that stops at a page with ``has_more: true`` is part of a delivery (kept, but it never replaces
    an earlier complete delivery of the same days)."""
    con = connect()
    try:
        last = con.execute(
            "select last(coalesce(try_cast(json_extract(json, '$.has_more') as BOOLEAN), false) order by _n) "
            "from (select row_number() over () as _n, json "
            "      from read_json_objects($path, format = 'auto', maximum_object_size = 1073741824))",
            {"path": str(path)},
        ).fetchone()[0]
    except duckdb.Error:
        return False
    finally:
        con.close()
    return last is False


def json_fields(con: duckdb.DuckDBPyConnection, source_sql: str, fields: list[Field], params: dict,
                readable: str = "null::varchar") -> pl.DataFrame:
    """Typed columns picked from ``raw`` JSON records of ``source_sql`` (columns ``_record``, ``raw``, and the
    ``readable`` expression: null, or why a record cannot be read): the same reader as
    :func:`pipelines.ingest.formats.lines.jsonl_records`, over records instead of lines."""
    source = f"select _record, raw, {readable} as _readable from ({source_sql})"
    return con.sql(records_sql(source, fields), params=params).pl()


def page_records(path: Path, fields: list[Field]) -> pl.DataFrame:
    con = connect()
    try:
        check_pages(con, path)
        return json_fields(con, PAGE_RESULTS_SQL, fields, {"path": str(path)}, readable="_readable")
    except duckdb.Error as e:
        error = read_error(path, e)
        raise InputError(path, "not readable as JSON pages: " + error.reason, error.record) from None
    finally:
        con.close()


# ---- tabular exports (CSV, Parquet) ------------------------------------------------------------


def _column_sql(c: Field, column: str | None) -> str:
    """Field ``c`` typed from the export's ``column`` (its text, blank as null); a missing column is null."""
    return f"null::{c.type}" if column is None else c.typed(_text(column))


def _text(column: str) -> str:
    # Blank is null. Not trimmed here (trimming every cell of a large export costs a quarter of the
    # read): casts ignore surrounding spaces, and names are normalised where they become keys.
    ident = '"' + column.replace('"', '""') + '"'
    return f"nullif({ident}::VARCHAR, '')"


# Whole-number counts, also as exports write them as floats ("59200.0"); a fraction is never rounded.
COUNT = whole_number_sql("{v}")
# Money: text straight to DECIMAL, never through a float.
AMOUNT = "try_cast({v} as DECIMAL(38,12))"
# Days of sources that promise RFC 3339 (Bedrock invocation logs): a time without a zone is refused.
RFC3339_DAY = "try_cast(" + rfc3339_sql("{v}") + " as DATE)"
# Days in any of the styles exports use; zone-less times are UTC as the exports document (CUR, Azure, Google's
# "… UTC"); an offset past 23:59 is refused, not moved to another day.
DAY = (
    "case when contains({v}, '/') then try_cast(try_strptime(split_part({v}, ' ', 1), '%m/%d/%Y') as DATE)"
    " when not contains({v}, '-') then try_cast(to_timestamp(try_cast({v} as DOUBLE)) as DATE)"
    " else try_cast(" + instant_sql("replace({v}, ' UTC', '+00')") + " as DATE) end"
)


def typed_records(
    con: duckdb.DuckDBPyConnection,
    source_sql: str,
    header: list[str],
    cols: list[Field],
    params: dict,
    sums: list[str] | None = None,
    column_sql: dict[str, str] | None = None,
) -> pl.DataFrame:
    """Typed columns from ``source_sql`` (text columns named ``header``), vectorised.

    Same output shape as :func:`json_fields`: a bad value sets ``_error_field``/``_error_reason``
    and keeps the row's fields as JSON in ``raw`` for quarantine. With ``sums``, good rows that
    agree on every other column are summed in DuckDB (``_n`` says how many records each row
    holds, ``_record`` is the first of them, or null when the file has no bad record): large
    exports reach Python already at the grain
    of their facts. Bad rows are never summed. ``__COLUMNS__`` in ``source_sql`` becomes the
    columns the ``cols`` read (``column_sql`` says how to select one), so numbering the records
    never holds the export's other columns in memory.
    """
    lower = {h.lower().strip(): h for h in header}

    def pick(source: str) -> str | None:
        return next((lower[a.lower()] for a in source.split("|") if a.lower() in lower), None)

    picked = {c.name: pick(c.source) for c in cols}
    missing = [c.source.split("|")[0] for c in cols if c.required and picked[c.name] is None]
    if missing:
        raise ValueError("missing column(s): " + ", ".join(missing))
    present = [c for c in cols if picked[c.name] is not None]
    needed = sorted({picked[c.name] for c in present})
    source_sql = source_sql.replace(
        "__COLUMNS__", ", ".join((column_sql or {}).get(n, sql_ident(n)) + " as " + sql_ident(n) for n in needed) or "1 as _none"
    )
    typed = ",\n".join(f"{_column_sql(c, picked[c.name])} as {c.name}" for c in cols)
    texts = ", ".join(f"{_text(picked[c.name])} as _raw_{c.name}" for c in present)
    # Checks read the typed value and its text (each parse runs once per row).
    checks = [
        f"when {condition} then {sql_str(c.name + '|')} || {reason}"
        for c in present
        for condition, reason in export_checks(c, f"_raw_{c.name}", c.name)
    ]
    source_error = ""
    if "_source_error" in header:
        checks.insert(0, "when _source_error is not null then _source_error")
        source_error = ", _source_error, _source_raw"
    check_sql = " ".join(checks) or "when false then null"
    raw = "json_object(" + ", ".join(f"{sql_str(picked[c.name])}, _raw_{c.name}" for c in present) + ")::VARCHAR"
    if source_error:
        raw = f"coalesce(_source_raw, {raw})"
    errors = ERROR_COLUMNS
    typed_cte = f"""
        with src as ({source_sql}),
        parsed as (select _record, {typed}, {texts}{source_error} from src),
        checked as (select *, case {check_sql} end as _err from parsed),
        typed as (
            select _record, {", ".join(c.name for c in cols)}, _err,
                   case when _err is not null then {raw} end as raw
            from checked
        )"""
    if not sums:
        sql = f"{typed_cte} select * exclude (_err), 1::BIGINT as _n, {errors} from typed"
    else:
        dims = [c.name for c in cols if c.name not in sums]
        sql = f"""{typed_cte}
            select {", ".join(dims)}, {", ".join(f"sum({s}) as {s}" for s in sums)},
                   min(_record) as _record, count(*) as _n, any_value(raw) as raw, {errors}
            from typed
            group by {", ".join(dims)}, _err, case when _err is not null then _record end
        """
    if not sums:
        return con.sql(sql, params=params).pl()
    # Numbering records (a window over the whole file) costs more than the rest of the read;
    # summed exports need the numbers only to quarantine bad records, so number only when some are bad.
    fast = con.sql(sql.replace("row_number() over ()", "null::BIGINT"), params=params).pl()
    if fast["_error_reason"].is_null().all():
        return fast
    return con.sql(sql, params=params).pl()


def csv_records(path: Path, cols: list[Field], sums: list[str] | None = None) -> pl.DataFrame:
    """A CSV export (every column as text; UTF-8 BOM, CRLF and blank lines are fine); a malformed row is one
    record to quarantine (see ``csvrows``)."""
    con = connect()
    try:
        with csv_rows(path) as rows:
            typed = typed_records(con, rows.sql("__COLUMNS__"), rows.header, cols, rows.params, sums)
            bad = rows.bad.select(
                "_record", pl.lit(1, pl.Int64).alias("_n"), pl.col("field").alias("_error_field"),
                pl.col("reason").alias("_error_reason"), "raw",
            )
        return pl.concat([typed, bad], how="diagonal_relaxed") if bad.height else typed
    except InputError:
        raise
    except (ValueError, duckdb.Error) as e:
        raise read_error(path, e) from None
    finally:
        con.close()


def parquet_records(path: Path, cols: list[Field], sums: list[str] | None = None) -> pl.DataFrame:
    """A Parquet export; MAP and STRUCT columns become JSON text like their CSV form."""
    con = connect()
    try:
        schema = con.execute("describe select * from read_parquet($path)", {"path": str(path)}).fetchall()
        header = [r[0] for r in schema]
        as_text = {
            n: f'to_json("{n}")::VARCHAR' if t.startswith(("MAP", "STRUCT")) or t.endswith("[]") else f'"{n}"::VARCHAR'
            for n, t, *_ in schema
        }
        source = "select row_number() over () as _record, __COLUMNS__ from read_parquet($path)"
        return typed_records(con, source, header, cols, {"path": str(path)}, sums, as_text)
    except (ValueError, duckdb.Error) as e:
        raise read_error(path, e) from None
    finally:
        con.close()


def jsonl_export_records(
    path: Path, columns: dict[str, str], cols: list[Field], sums: list[str] | None = None
) -> pl.DataFrame:
    """A JSON-lines export: ``columns`` (name -> JSONPath) picked as text, then typed like a CSV.

    A path ending in ``!json`` keeps the JSON text of an object or array (labels, credits).
    Lines that are not JSON objects are quarantined with their line number.
    """
    con = connect()
    try:
        names = list(columns)
        plain = [n for n in names if not columns[n].endswith("!json")]
        paths = ", ".join(sql_str(columns[n]) for n in plain)
        picks = [f"_v[{i + 1}] as {sql_ident(n)}" for i, n in enumerate(plain)]
        picks += [
            f"case when _ok then json_extract(raw, {sql_str(columns[n][:-5])})::VARCHAR end as {sql_ident(n)}"
            for n in names
            if n not in plain
        ]
        raw = money_as_text("raw") if has_money([c.type for c in cols]) else "raw"
        source = f"""
            with lines as (
                select row_number() over () as _record, {raw} as raw from {LINES}
            ),
            parsed as (
                select _record, raw, case when json_valid(raw) then json_type(raw) = 'OBJECT' else false end as _ok
                from lines
                where raw is not null and trim(raw) <> ''
            )
            select _record, case when _ok then json_extract_string(raw, [{paths}]) end as _v,
                   {", ".join(picks)},
                   case when not _ok then '$|not a JSON object: ' || left(raw, 80) end as _source_error,
                   case when not _ok then left(raw, 2000) end as _source_raw
            from parsed
        """
        source = f"select * exclude (_v) from ({source})"
        return typed_records(con, source, names + ["_source_error", "_source_raw"], cols, {"path": str(path)}, sums)
    except (ValueError, duckdb.Error) as e:
        raise read_error(path, e) from None
    finally:
        con.close()


def json_head(sample) -> object:
    """The sample's first JSON value, only when the file starts like JSON.

    ``Sample.first_json`` may read a large file whole to find out; a CSV export of gigabytes
    must not pay that just to be told it is not JSON.
    """
    return sample.first_json if sample.text.lstrip()[:1] in ("{", "[") else None
