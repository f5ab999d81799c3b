"""`tokenbooks sql`: every row or how many were left out, every column, money readable in the table and exact in
the exports, and nothing that writes."""

import json
from decimal import Decimal

import duckdb
import polars as pl
import pytest

from pipelines.cli import main


@pytest.fixture
def warehouse(home):
    con = duckdb.connect(str(home.warehouse))
    con.execute("""
        create table spend as
        select range as n, 'feature-' || range as feature, (74.0323206 + range)::decimal(38, 12) as cost_usd,
               date '2026-11-01' + range::int as day, 'a' as c1, 'b' as c2, 'c' as c3, 'd' as c4, 'e' as c5,
               'f' as c6, 'g' as c7, 'h' as c8, 'i' as c9, 'j' as c10, 'k' as c11, 'l' as c12
        from range(120)
    """)
    con.close()
    return home


def run(home, capsys, *args):
    code = main(["--home", str(home.home), "sql", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_view_says_how_many_rows_it_left_out_and_shows_every_column(warehouse, capsys):
    code, out, _ = run(warehouse, capsys, "select * from spend order by n")
    assert code == 0
    assert "120 rows; 70 not shown (--max-rows N, or --format csv for all)" in out
    assert "feature-49" in out and "feature-50" not in out
    assert "c12" in out and "…" not in out  # no column hidden
    code, out, _ = run(warehouse, capsys, "select * from spend", "--max-rows", "200")
    assert "120 rows" in out and "not shown" not in out and "feature-119" in out


def test_money_is_rounded_in_the_table_and_exact_in_csv_json_and_parquet(warehouse, capsys, tmp_path):
    _, out, _ = run(warehouse, capsys, "select cost_usd from spend where n = 0")
    assert "74.032321" in out and "74.032320600000" not in out
    assert "cost_usd rounded to 6 decimals here (exact in csv, json, parquet)" in out
    _, out, _ = run(warehouse, capsys, "select cost_usd from spend where n = 0", "--format", "csv")
    assert out == "cost_usd\n74.032320600000\n"
    _, out, _ = run(warehouse, capsys, "select cost_usd, day from spend where n = 0", "--format", "json")
    assert json.loads(out) == [{"cost_usd": "74.032320600000", "day": "2026-11-01"}]
    target = tmp_path / "out.parquet"
    assert run(warehouse, capsys, "select * from spend", "--format", "parquet", "-o", str(target))[0] == 0
    back = pl.read_parquet(target)
    assert back.height == 120 and back["cost_usd"][0] == Decimal("74.032320600000")


def test_parquet_needs_an_output_file(warehouse, capsys):
    code, _, err = run(warehouse, capsys, "select 1", "--format", "parquet")
    assert code == 2 and "add --output FILE" in err


@pytest.mark.parametrize("statement", [
    "copy (select 1) to 'x.csv'", "create table t as select 1", "insert into spend select * from spend",
    "attach 'other.duckdb' as o", "set threads = 1", "install httpfs", "select 1; select 2",
])
def test_statements_that_write_or_are_not_one_query_are_refused(warehouse, capsys, tmp_path, monkeypatch, statement):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = sorted(p.name for p in warehouse.home.iterdir())
    code, out, err = run(warehouse, capsys, statement)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in warehouse.home.iterdir()) == before


@pytest.mark.parametrize("statement", ["describe spend", "show tables", "summarize select n from spend",
                                       "explain select 1", "from spend limit 1", "with a as (select 1) select * from a"])
def test_queries_of_every_read_kind_run(warehouse, capsys, statement):
    assert run(warehouse, capsys, statement)[0] == 0
