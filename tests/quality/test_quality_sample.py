"""Above ``sample_rows`` GX reads a few row groups; a bad row anywhere else is still counted exactly."""

import duckdb
import polars as pl
import pyarrow.parquet as pq

from pipelines.contracts import contract
from pipelines.lake.store import committed_files
from pipelines.quality.scans import sample_groups
from pipelines.quality.tables import check_table
from tests.quality.conftest import DAY

GROUP, GROUPS, SAMPLE = 50, 40, 100


def many_groups(settings, tmp_path) -> tuple[str, pl.DataFrame]:
    """The day's calls repeated (fresh call ids) into GROUPS row groups of GROUP rows each."""
    (path,) = committed_files(settings, "fct_llm_calls", since=DAY, until=DAY)
    calls = pl.read_parquet(path)
    rows = GROUP * GROUPS
    df = pl.concat([calls] * (rows // calls.height + 1)).head(rows)
    df = df.with_columns((pl.col("call_id") + "-" + pl.int_range(rows).cast(pl.Utf8)).alias("call_id"))
    out = tmp_path / "calls.parquet"
    return str(out), df


def write(df: pl.DataFrame, path: str) -> None:
    pq.write_table(df.to_arrow(), path, row_group_size=GROUP)


def test_bad_rows_outside_the_sample_are_counted_exactly(built, tmp_path):
    path, df = many_groups(built, tmp_path)
    write(df, path)
    sizes = [GROUP] * GROUPS
    assert [pq.ParquetFile(path).metadata.row_group(g).num_rows for g in range(GROUPS)] == sizes
    picked = sample_groups({path: sizes}, SAMPLE)[path]
    unread = [g for g in range(GROUPS) if g not in picked]
    null_at, neg_at, dup_a, dup_b = (unread[i] * GROUP + 7 for i in (0, 1, len(unread) // 2, -1))
    ids = df["call_id"].to_list()
    row = pl.int_range(df.height)
    df = df.with_columns(
        pl.when(row == null_at).then(None).otherwise(pl.col("model")).alias("model"),
        pl.when(row == neg_at).then(-5).otherwise(pl.col("output_tokens")).alias("output_tokens"),
        pl.when(row == dup_b).then(pl.lit(ids[dup_a])).otherwise(pl.col("call_id")).alias("call_id"),
    )
    write(df, path)

    report = check_table(duckdb.connect(), contract("fct_llm_calls"), {DAY: [path]}, sample_rows=SAMPLE)[DAY]

    assert report.sampled and 0 < report.validated_rows <= len(picked) * GROUP < report.rows == GROUP * GROUPS
    failed = {r.rule.name: r for r in report.failed()}
    assert {name: r.unexpected for name, r in failed.items()} == {
        "not_be_null(model)": 1,
        "be_between(output_tokens)": 1,
        "pair_values_a_to_be_greater_than_b(output_tokens, reasoning_tokens)": 1,
        "be_unique(call_id)": 2,
    }
    # GX never saw these rows (no failing values of its own): the verdicts are the exact counts'.
    assert failed["be_between(output_tokens)"].examples == []
    assert not any("great expectations" in r.detail for r in failed.values())
    dup = [r for r in report.failing_rows if r["rule"] == "be_unique(call_id)"]
    assert [r["call_id"] for r in dup] == [ids[dup_a]] * 2


def test_a_clean_sampled_day_passes_and_gx_sees_its_sample(built, tmp_path):
    path, df = many_groups(built, tmp_path)
    write(df, path)
    report = check_table(duckdb.connect(), contract("fct_llm_calls"), {DAY: [path]}, sample_rows=SAMPLE)[DAY]
    assert report.failed() == [], [r.summary() for r in report.failed()]
    assert report.sampled and 0 < report.validated_rows < report.rows


def test_the_sample_is_spread_through_each_file_by_a_fixed_rule():
    one = sample_groups({"a": [100] * 80}, 50)
    assert one == sample_groups({"a": [100] * 80}, 50) == {"a": [10, 30, 50, 70]}  # SPREAD groups, evenly spaced
    assert sample_groups({"a": [100] * 80}, 1_000) == {"a": list(range(4, 80, 8))}  # as many as hold the sample
    assert sample_groups({"a": [10, 10]}, 5) == {"a": [0, 1]}  # never more groups than the file has
    # Several days: each file gives its share, one group at least; an empty file none.
    days = sample_groups({"a": [100] * 80, "b": [100] * 8, "c": []}, 50)
    assert days == {"a": [10, 30, 50, 70], "b": [4]}
