"""Whole-file checks of paged envelopes: a delivery that says it is incomplete, or whose list is not a list, is
refused with its page and field named, never read as "0 records".

- Admin-API pages (OpenAI usage and costs, Anthropic usage and cost reports): ``{"data": [bucket],
  "has_more", "next_page"}``. ``has_more: true`` with no ``next_page`` is a page set cut short (the rest can
  never be fetched); ``data`` or a bucket's ``results`` that is not a list holds no records to count.
- ``{"data": [...]}`` envelopes of the app-log exports (Langfuse's public API, LiteLLM JSON): ``data`` must be a
  list.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.ingest.formats.base import InputError

_DOCS = """
    with docs as (
        select row_number() over () as _page, json as page
        from read_json_objects($path, format = 'auto', maximum_object_size = 1073741824)
    )"""

PAGE_PROBLEMS_SQL = _DOCS + """,
    buckets as (
        select _page, unnest(json_extract(page, '$.data[*]')) as bucket,
               generate_subscripts(json_extract(page, '$.data[*]'), 1) as _b
        from docs where json_type(page, '$.data') = 'ARRAY'
    )
    select _page, field, reason from (
        select _page, 0 as _b, 'data' as field, 'not a list: ' || left(json_extract(page, '$.data')::VARCHAR, 40) as reason
        from docs where json_type(page, '$.data') not in ('ARRAY', 'NULL')
        union all
        select _page, 0, 'next_page',
               'has_more is true but next_page is empty: the page set is incomplete (pull the missing pages again)'
        from docs
        where json_extract_string(page, '$.has_more') = 'true' and coalesce(page->>'$.next_page', '') = ''
        union all
        select _page, _b, 'data[' || (_b - 1) || '].results',
               case when json_type(bucket) <> 'OBJECT' then 'a bucket that is not an object: ' || left(bucket::VARCHAR, 40)
                    when json_type(bucket, '$.results') is null then 'a bucket without results'
                    else 'not a list: ' || left(json_extract(bucket, '$.results')::VARCHAR, 40) end
        from buckets where json_type(bucket) <> 'OBJECT' or json_type(bucket, '$.results') is distinct from 'ARRAY'
    )
    order by _page, _b
    limit 1
"""

DATA_PROBLEMS_SQL = _DOCS + """
    select _page, 'data', 'not a list: ' || left(json_extract(page, '$.data')::VARCHAR, 40)
    from docs where json_type(page, '$.data') is not null and json_type(page, '$.data') <> 'ARRAY'
    order by _page
    limit 1
"""


def check_pages(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse an admin-API page set that says it is incomplete or holds a list that is not a list."""
    _refuse_first(con, path, PAGE_PROBLEMS_SQL)


def check_data_envelopes(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a file of ``{"data": …}`` envelopes where ``data`` is not a list."""
    _refuse_first(con, path, DATA_PROBLEMS_SQL)


def _refuse_first(con: duckdb.DuckDBPyConnection, path: Path, sql: str) -> None:
    try:
        found = con.execute(sql, {"path": str(path)}).fetchall()
    except duckdb.Error:
        return  # not readable as JSON documents: the reader says where
    if found:
        page, field, reason = found[0]
        raise InputError(path, f"page {page}: {reason}", field=field)
