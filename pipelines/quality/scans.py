"""The DuckDB passes ``check_table`` makes over a table's committed files.

- :func:`exact_counts`: every row-level rule except unique keys, counted over a whole day, reading only the
  rules' columns. A not-null rule's violations are ``count(*) - count(column)`` (the non-null count the rule
  reports anyway): the same number as counting ``where column is null`` without a filtered aggregate per
  column. A rule on one column (bounds, allowed values) is counted by its own ``select count(*) ... where
  <violation>``: DuckDB then skips the row groups whose statistics or dictionary show no violating value, where a
  filtered aggregate decodes every value. A rule on two columns (token parts) stays a filtered aggregate, which is
  cheaper for it. The same counts; a 10M-call day: 6.8 s CPU in one aggregate with a filter per rule → 0.65 s.
- :func:`duplicate_rows`: rows whose unique key another row repeats, exact. The keys' 64-bit hashes are
  read once and sorted; when no two are equal every key is distinct and that is the answer (a 10M-call day:
  1.0 s CPU, where grouping by the hash and then by the key took 2.9 s). When two hashes are equal (a duplicate,
  a few null keys, or a hash collision) the keys are grouped exactly, so a collision costs time, never a
  wrong count.
- :func:`sample_frame`: the rows Great Expectations validates: all of them up to ``sample_rows``; above,
  whole Parquet row groups spread evenly through each file (a fixed rule, see :func:`sample_groups`), thinned
  by key hash to about ``sample_rows``. Only those row groups are read: the sample no longer decodes every
  column of every row of the day (a 10M-call day: 9 s → 0.6 s CPU). GX's verdict is a cross-check of the exact
  counts (all of which are over every row), so which rows it sees changes no verdict of a row-level rule.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.contracts import Contract
from pipelines.db import bound
from pipelines.quality.rules import Rule, quote, violation_sql

if TYPE_CHECKING:  # pandas is imported with GX, in the background (suites.warm_up)
    import pandas as pd

NOT_NULL = "expect_column_values_to_not_be_null"
SPREAD = 4  # row groups a sample is read from at least (where the files have them), evenly spaced through the day
_FRAME_TYPES = ("VARCHAR", "BIGINT", "INTEGER", "SMALLINT", "DOUBLE", "FLOAT", "BOOLEAN", "DATE", "TIMESTAMP", "DECIMAL", "HUGEINT")


# The files bound as ``$files``, as an analyst's DuckDB reads them, except ``day``: with ``hive_partitioning`` DuckDB
# would take it from the ``day=D`` folder and hide a row written to the wrong day.
SCAN = "read_parquet($files, union_by_name = true, hive_partitioning = false)"


def exact_counts(
    con: duckdb.DuckDBPyConnection, files: list[str], rules: dict[int, Rule]
) -> tuple[int, dict[int, tuple[int, int]]]:
    """(rows, {rule position: (violating rows, non-null rows of its column)}) over a whole day, for ``rules``
    (row-level, not unique keys, their columns in the files)."""
    params: dict[str, Any] = {"files": files}
    selects = ["count(*)"]
    nonnull: dict[str, int] = {}  # column -> its count() in selects, asked once whatever the number of rules on it
    in_row: dict[int, int] = {}  # rule -> its filtered count in selects
    apart = []  # one query per rule on one column, so DuckDB can skip what the file's row groups rule out
    for i, rule in rules.items():
        if rule.columns and rule.columns[0] not in nonnull:
            nonnull[rule.columns[0]] = len(selects)
            selects.append(f"count({quote(rule.columns[0])})")
        if rule.expectation == NOT_NULL:
            continue
        if len(rule.columns) == 1:
            apart.append(f"select {i} as rule, count(*) as n from {SCAN} where {violation_sql(rule, f'p{i}', params)}")
        else:
            in_row[i] = len(selects)
            selects.append(f"count(*) filter (where {violation_sql(rule, f'p{i}', params)})")
    sql = f"select {', '.join(selects)} from {SCAN}"
    row = con.sql(sql, params=bound(sql, params)).fetchall()[0]
    sql = " union all ".join(apart)
    counted = dict(con.sql(sql, params=bound(sql, params)).fetchall()) if apart else {}
    rows = row[0]
    out = {}
    for i, rule in rules.items():
        present = row[nonnull[rule.columns[0]]] if rule.columns else rows
        if rule.expectation == NOT_NULL:
            out[i] = (rows - present, present)
        else:
            out[i] = (counted[i] if i in counted else row[in_row[i]], present)
    return rows, out


def duplicate_rows(con: duckdb.DuckDBPyConnection, files: list[str], columns: list[str]) -> int:
    """Rows whose ``columns`` (a unique key) another row repeats, over the whole of ``files``."""
    cols = ", ".join(quote(c) for c in columns)
    hashes = con.sql(f"select hash({cols}) as h from {SCAN}", params={"files": files}).fetchnumpy()["h"]
    hashes.sort()
    if not (hashes[1:] == hashes[:-1]).any():
        return 0  # distinct hashes: distinct keys
    del hashes
    # Only rows whose hash repeats are grouped by the key itself (a 10M-row day's string keys are gigabytes).
    return con.sql(
        f"select coalesce(sum(n), 0)::bigint from (select count(*) as n from {SCAN}"
        f" where hash({cols}) in (select hash({cols}) as h from {SCAN} group by h having count(*) > 1)"
        f" group by {cols} having count(*) > 1)",
        params={"files": files},
    ).fetchall()[0][0]


def sample_groups(sizes: dict[str, list[int]], sample_rows: int) -> dict[str, list[int]]:
    """The row groups a sample reads, per file (``sizes``: each file's row group sizes, in order).

    Each file gives its share of ``sample_rows`` (in proportion to its rows, as a key-hash sample over the
    files would) from row groups spread evenly through it: as many as hold that share, and at least its share of
    ``SPREAD`` groups (one at least), so a day's sample is not one stretch of it. Fixed: the same files always
    give the same groups.
    """
    total = sum(map(sum, sizes.values()))
    out = {}
    for f, groups in sizes.items():
        rows = sum(groups)
        if not rows:
            continue
        share = sample_rows * rows / total
        want = max(math.ceil(share / (rows / len(groups))), math.ceil(SPREAD * rows / total), 1)
        k = min(len(groups), want)
        out[f] = sorted({int((j + 0.5) * len(groups) / k) for j in range(k)})
    return out


def sample_frame(
    con: duckdb.DuckDBPyConnection, files: list[str], contract: Contract, schema: dict[str, str], rows: int, sample_rows: int
) -> pd.DataFrame:
    """The rows GX validates: all of them, or above ``sample_rows`` a sample (see the module's doc)."""
    cols = []
    for name, typ in schema.items():
        t = typ.upper()
        if not t.startswith(_FRAME_TYPES) or t.endswith("]"):
            continue  # lists and structs are not part of any rule
        if t.startswith(("DECIMAL", "HUGEINT")):
            cols.append(f"{quote(name)}::DOUBLE as {quote(name)}")
        elif t == "DATE":
            cols.append(f"{quote(name)}::VARCHAR as {quote(name)}")
        else:
            cols.append(quote(name))
    params: dict[str, Any] = {"files": files}
    source, where = SCAN, ""
    if rows > sample_rows:
        del params["files"]
        source, picked = _row_groups(con, files, sample_rows, params)
        key = [k for k in contract.key if k in schema] or [next(iter(schema))]
        where = f"where hash({', '.join(quote(k) for k in key)}) % $m = 0"
        params["m"] = max(1, -(-picked // sample_rows))
    sql = f"select {', '.join(cols)} from {source} {where}"
    return con.sql(sql, params=params).to_arrow_table().to_pandas()


def _row_groups(con: duckdb.DuckDBPyConnection, files: list[str], sample_rows: int, params: dict[str, Any]) -> tuple[str, int]:
    """A relation of the sample's row groups (read alone: DuckDB skips row groups by ``file_row_number``) and its rows."""
    meta = con.sql(
        "select file_name, row_group_id, any_value(row_group_num_rows) from parquet_metadata($files)"
        " group by all order by all",
        params={"files": files},
    ).fetchall()
    sizes: dict[str, list[int]] = {f: [] for f in files}
    for f, _, n in meta:
        sizes[f].append(n)
    parts, picked = [], 0
    for f, groups in sample_groups(sizes, sample_rows).items():
        starts = [sum(sizes[f][:g]) for g in groups]
        for g, start in zip(groups, starts):
            p = f"g{len(parts)}"
            params[p], params[p + "_lo"], params[p + "_hi"] = [f], start, start + sizes[f][g]
            parts.append(
                f"select * exclude (file_row_number) from read_parquet(${p}, hive_partitioning = false, file_row_number = true)"
                f" where file_row_number >= ${p}_lo and file_row_number < ${p}_hi"
            )
            picked += sizes[f][g]
    return "(" + " union all by name ".join(parts) + ")", picked
