"""A table's day is checked against its contract: exact counts over every row, GX agreeing, failing rows shown."""

from datetime import date

import duckdb
import polars as pl

from pipelines.contracts import contract
from pipelines.lake.store import committed_files
from pipelines.quality.tables import check_table
from tests.quality.conftest import DAY
from tests.quality.days import build, land_all, write_day


def calls_file(settings) -> str:
    (path,) = committed_files(settings, "fct_llm_calls", since=DAY, until=DAY)
    return path


def corrupt_calls(settings) -> None:
    """Break one promise per row, the way a faulty model or a bad hand edit would."""
    path = calls_file(settings)
    df = pl.read_parquet(path).sort("call_id")
    ids = df["call_id"].to_list()
    row = {name: pl.col("call_id") == ids[i] for i, name in enumerate(["null", "neg", "cache", "status", "day"])}
    df = df.with_columns(
        pl.when(row["neg"]).then(-5).otherwise(pl.col("output_tokens")).alias("output_tokens"),
        pl.when(row["cache"]).then(pl.col("input_tokens") + 1).otherwise(pl.col("cached_input_tokens")).alias("cached_input_tokens"),
        pl.when(row["status"]).then(pl.lit("exploded")).otherwise(pl.col("status")).alias("status"),
        pl.when(row["day"]).then(pl.lit(date(2026, 11, 11))).otherwise(pl.col("day")).alias("day"),
        pl.col("latency_ms").cast(pl.Float64),
    ).with_columns(pl.when(row["null"]).then(None).otherwise(pl.col("call_id")).alias("call_id"))
    df = pl.concat([df, df.filter(pl.col("call_id") == ids[7])])  # a duplicated call
    df.write_parquet(path)


EXPECTED_FAILURES = {
    "not_be_null(call_id)": 1,
    "be_between(output_tokens)": 1,
    "pair_values_a_to_be_greater_than_b(output_tokens, reasoning_tokens)": 1,
    "pair_values_a_to_be_greater_than_b(input_tokens, cached_input_tokens)": 1,
    "be_in_set(status)": 1,
    "be_in_set(day)": 1,
    "be_unique(call_id)": 2,
    "types_to_match_contract": 1,
}


def test_a_clean_day_passes_every_rule(built):
    con = duckdb.connect()
    for table in ("fct_llm_calls", "fct_reconciliation", "mart_cost_daily", "fct_provider_costs"):
        report = check_table(con, contract(table), {DAY: committed_files(built, table, since=DAY, until=DAY)})[DAY]
        assert report.failed() == [], [r.summary() for r in report.failed()]
        assert report.rows > 0 and report.validated_rows == report.rows and not report.sampled


def test_each_broken_promise_is_counted_exactly_and_shown(built):
    corrupt_calls(built)
    report = check_table(duckdb.connect(), contract("fct_llm_calls"), {DAY: [calls_file(built)]})[DAY]
    failed = {r.rule.name: r for r in report.failed()}
    assert {name: r.unexpected for name, r in failed.items()} == EXPECTED_FAILURES
    assert "latency_ms: DOUBLE (contract BIGINT)" in failed["types_to_match_contract"].detail
    # GX saw the same violations the exact counts did (its failing values come back as examples).
    assert failed["be_in_set(status)"].examples == ["exploded"]
    assert failed["be_between(output_tokens)"].examples == [-5]
    assert not any("great expectations" in r.detail for r in failed.values())
    # A few failing rows per rule, with the key and the rule's columns.
    shown = {(r["rule"], r.get("status"), r.get("output_tokens")) for r in report.failing_rows}
    assert ("be_in_set(status)", "exploded", None) in shown
    assert ("be_between(output_tokens)", None, -5) in shown
    dup = [r for r in report.failing_rows if r["rule"] == "be_unique(call_id)"]
    assert len(dup) == 2 and dup[0]["call_id"] == dup[1]["call_id"]


def test_a_sampled_day_still_counts_every_row(built):
    """Above sample_rows GX sees a sample; one bad row outside it is still caught by the exact counts."""
    corrupt_calls(built)
    full = check_table(duckdb.connect(), contract("fct_llm_calls"), {DAY: [calls_file(built)]})[DAY]
    sampled = check_table(duckdb.connect(), contract("fct_llm_calls"), {DAY: [calls_file(built)]}, sample_rows=8)[DAY]
    assert sampled.sampled and 0 < sampled.validated_rows < sampled.rows == full.rows == 31
    assert {r.rule.name: r.unexpected for r in sampled.failed()} == EXPECTED_FAILURES


def test_a_day_without_a_committed_build_fails(built):
    report = check_table(duckdb.connect(), contract("fct_llm_calls"), {date(2026, 11, 12): []})[date(2026, 11, 12)]
    assert [r.rule.name for r in report.failed()] == ["committed_build"]
    assert "no committed build" in report.failed()[0].detail


def test_several_days_are_validated_together_but_judged_apart(built, tmp_path):
    other = date(2026, 11, 11)
    land_all(built, write_day(tmp_path / "in2", other, n_calls=12))
    build(built, [other])
    corrupt_calls(built)  # breaks DAY only
    files = {d: committed_files(built, "fct_llm_calls", since=d, until=d) for d in (DAY, other)}
    reports = check_table(duckdb.connect(), contract("fct_llm_calls"), files)
    assert reports[other].failed() == [] and reports[other].rows == 12
    assert {r.rule.name for r in reports[DAY].failed()} == set(EXPECTED_FAILURES)


def test_a_table_with_no_rows_still_has_its_columns_checked(tmp_path):
    """No rows: row-level rules pass on their exact counts (GX is not started), the column set is still judged."""
    con = duckdb.connect()
    whole = tmp_path / "whole.parquet"
    contract("mart_cost_daily").empty().write_parquet(whole)
    short = tmp_path / "short.parquet"
    contract("mart_cost_daily").empty().drop("feature").write_parquet(short)
    ok = check_table(con, contract("mart_cost_daily"), {DAY: [str(whole)]})[DAY]
    assert ok.rows == 0 and ok.failed() == [], [r.summary() for r in ok.failed()]
    broken = check_table(con, contract("mart_cost_daily"), {DAY: [str(short)]})[DAY]
    failed = {r.rule.name: r for r in broken.failed()}
    assert "table_columns_to_match_set" in failed and failed["table_columns_to_match_set"].examples == ["feature"]


def test_a_table_with_no_rows_never_starts_great_expectations(tmp_path):
    """GX's import and per-expectation cost were most of an empty night: with no rows it is not imported at all."""
    import subprocess
    import sys

    script = (
        "import sys, duckdb, datetime\n"
        "from pipelines.contracts import contract\n"
        "from pipelines.quality.tables import check_table\n"
        f"contract('fct_llm_calls').empty().write_parquet({str(tmp_path / 'e.parquet')!r})\n"
        f"r = check_table(duckdb.connect(), contract('fct_llm_calls'), {{datetime.date(2026, 11, 10): [{str(tmp_path / 'e.parquet')!r}]}})\n"
        "assert not list(r.values())[0].failed()\n"
        "print('great_expectations' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
