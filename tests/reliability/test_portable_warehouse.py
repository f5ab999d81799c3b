"""The warehouse can be moved or copied and opened from anywhere; it describes itself; old builds go.

Its views name Parquet files relative to the home, which DuckDB resolves against ``file_search_path`` (or the
working directory): the test moves the home and opens the warehouse with the plain duckdb client from another
directory.
"""

import json
import os
import shutil
import struct
import subprocess
import sys
import time
from datetime import date

import duckdb

from pipelines.contracts import contracts
from pipelines.lake.store import committed_days
from pipelines.settings import load_settings
from pipelines.warehouse.models import PUBLISHED, views as derived_views
from pipelines.warehouse.publish import _collect_garbage
from tests.quality.days import build, land_all, warehouse_totals, write_day

DAY = date(2026, 11, 10)
COUNT = "select count(*), sum(billed_cost_usd)::varchar from fct_provider_costs"


def test_a_moved_home_opens_from_another_directory(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY))
    build(home, [DAY])
    before = warehouse_totals(home.warehouse)
    moved = tmp_path / "elsewhere" / "books"
    moved.parent.mkdir()
    shutil.move(str(home.home), str(moved))
    assert not home.home.exists()

    elsewhere = tmp_path / "some" / "other" / "dir"
    elsewhere.mkdir(parents=True)
    reader = (
        "import duckdb, json, sys\n"
        "config = {'file_search_path': sys.argv[2]} if len(sys.argv) > 2 else {}\n"
        "con = duckdb.connect(sys.argv[1], read_only=True, config=config)\n"
        f"print(json.dumps(con.sql({COUNT!r}).fetchall()[0]))\n"
    )
    warehouse = str(moved / "warehouse.duckdb")
    with_setting = subprocess.run([sys.executable, "-c", reader, warehouse, str(moved)], cwd=elsewhere,
                                  capture_output=True, text=True, check=True)
    from_the_home = subprocess.run([sys.executable, "-c", reader, warehouse], cwd=moved,
                                   capture_output=True, text=True, check=True)
    assert with_setting.stdout == from_the_home.stdout
    assert json.loads(with_setting.stdout)[1] == str(before["billed"])
    assert warehouse_totals(moved / "warehouse.duckdb") == before

    # tokenbooks itself, pointed at the new place
    cli = subprocess.run([sys.executable, "-m", "pipelines.cli", "--home", str(moved), "sql", COUNT, "--format", "csv"],
                         cwd=elsewhere, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.splitlines()[1].split(",")[1] == str(before["billed"])


def test_every_view_and_described_column_carries_its_description(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY))
    build(home, [DAY])
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        views = dict(con.execute("select view_name, comment from duckdb_views() where not internal").fetchall())
        columns = {(t, c): comment for t, c, comment in con.execute(
            "select table_name, column_name, comment from duckdb_columns() where not internal").fetchall()}
    finally:
        con.close()
    expected = set(contracts("warehouse")) | set(derived_views())
    assert set(views) == expected and all(views.values()), views
    for name, c in contracts("warehouse").items():
        assert views[name] == c.grain
        for column in c.columns:
            if column.description and (name, column.name) in columns:
                assert columns[(name, column.name)] == column.description, (name, column.name)
    described = [k for k, v in columns.items() if v]
    assert len(described) >= 0.9 * len(columns), "most columns are described"


def test_the_file_is_in_the_storage_format_duckdb_1_0_reads(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY))
    build(home, [DAY])
    header = home.warehouse.read_bytes()[8:20]
    assert header[:4] == b"DUCK"
    assert struct.unpack("<Q", header[4:12])[0] == 64  # storage version 64: DuckDB 0.10 .. 2.x all read it


def test_superseded_builds_go_after_the_retention_period(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY))
    build(home, [DAY])
    build(home, [DAY])  # a rebuild: the first build's files are superseded
    folder = home.lake / "fct_llm_calls" / f"day={DAY.isoformat()}"
    committed = committed_days(home)[DAY]["tables"]["fct_llm_calls"]["build_id"]
    assert len(list(folder.glob("*.parquet"))) == 2  # kept for readers of the older snapshot
    now = time.time()
    _collect_garbage(home, committed_days(home), now=now + 23 * 3600)
    assert len(list(folder.glob("*.parquet"))) == 2
    _collect_garbage(home, committed_days(home), now=now + 25 * 3600)
    assert [p.stem for p in folder.glob("*.parquet")] == [committed]

    (home.home / "tokenbooks.yaml").write_text("warehouse: {retain_hours: 0}\n")
    shorter = load_settings(home=home.home)
    build(shorter, [DAY])
    for table in PUBLISHED:
        files = list((home.lake / table / f"day={DAY.isoformat()}").glob("*"))
        assert [f.stem for f in files] == [committed_days(home)[DAY]["tables"][table]["build_id"]], table


def test_a_build_still_running_keeps_its_files(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY))
    build(home, [DAY])
    folder = home.lake / "fct_llm_calls" / f"day={DAY.isoformat()}"
    committed = next(folder.glob("*.parquet"))
    old = time.time() - 48 * 3600
    os.utime(committed, (old, old))  # committed two days ago
    running = folder / "29991231T000000000000-abcdef.parquet"  # written a moment ago, not committed yet
    shutil.copy(committed, running)
    _collect_garbage(home, committed_days(home))
    assert running.exists() and committed.exists()


def test_the_readme_states_the_oldest_duckdb_that_opens_it():
    from pipelines.settings import PROJECT_ROOT
    from pipelines.warehouse.publish import MIN_DUCKDB

    assert f"DuckDB {MIN_DUCKDB} or later" in (PROJECT_ROOT / "README.md").read_text()


def test_the_readme_queries_run_on_the_warehouse(home, tmp_path):
    from pipelines.db import open_warehouse
    from pipelines.settings import PROJECT_ROOT

    land_all(home, write_day(tmp_path / "in", DAY))
    build(home, [DAY])
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = readme.split("### Questions, one query each")[1].split("```sql\n")[1].split("```")[0]
    queries = [q for q in block.split(";") if q.strip()]
    con = open_warehouse(home)
    try:
        answered = [len(con.sql(q).fetchall()) for q in queries]
    finally:
        con.close()
    assert len(queries) == 5 and answered[0] > 0  # relative to the last day built, not to today's date
