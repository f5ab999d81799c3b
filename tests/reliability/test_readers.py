"""Readers never block the nightly build and never see half a build.

An analyst is a separate process holding a DuckDB connection on warehouse.duckdb (read-only, or
read-write with a scratch table of their own, which leaves a write-ahead log next to the file).
The build and publish run meanwhile; the analyst keeps the snapshot they opened, and every new
connection sees the new warehouse.
"""

import json
import subprocess
import sys
from datetime import date

import pytest

from tests.quality.days import build, committed_problems, land_all, write_day

DAY1, DAY2 = date(2026, 11, 10), date(2026, 11, 11)

ANALYST = r"""
import duckdb, json, sys
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
if sys.argv[2] == "rw":
    con.execute("set checkpoint_threshold = '1GB'")  # keep the write in the WAL, as an open session does
    con.execute("create table analyst_notes as select 1 as note")
def snapshot():
    calls = con.sql("select count(*) from fct_llm_calls").fetchall()[0][0]
    billed = con.sql("select sum(billed_cost_usd) from fct_provider_costs").fetchall()[0][0]
    return [calls, str(billed)]
print(json.dumps(snapshot()), flush=True)
for _ in sys.stdin:
    print(json.dumps(snapshot()), flush=True)
"""


class Analyst:
    def __init__(self, warehouse, mode: str):
        self.proc = subprocess.Popen(  # working in the home, where the warehouse's relative Parquet paths resolve
            [sys.executable, "-c", ANALYST, str(warehouse), mode], cwd=warehouse.parent,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.first = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return json.loads(line)

    def again(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0, self.proc.stderr.read()


def fresh_look(warehouse, mode="ro"):
    analyst = Analyst(warehouse, mode)
    analyst.close()
    return analyst.first


@pytest.mark.parametrize("mode", ["ro", "rw"])
def test_an_open_analyst_keeps_a_snapshot_and_the_build_publishes(home, tmp_path, mode):
    land_all(home, write_day(tmp_path / "in", DAY1))
    build(home, [DAY1])
    before = fresh_look(home.warehouse)

    analyst = Analyst(home.warehouse, mode)
    assert analyst.first == before
    land_all(home, write_day(tmp_path / "in", DAY2, seed=1))
    build(home, [DAY1, DAY2])  # yesterday and a restated day, while the analyst is connected

    assert analyst.again() == before  # the same consistent snapshot, not half a build
    after = fresh_look(home.warehouse)  # new connections see the new warehouse, even with the analyst still in
    assert after[0] == before[0] * 2 and after != before
    assert fresh_look(home.warehouse, "rw") == after
    analyst.close()
    assert fresh_look(home.warehouse) == after
    assert not home.warehouse.with_name("warehouse.duckdb.wal").exists()
    assert committed_problems(home) == []


def test_a_killed_read_write_session_does_not_break_the_next_publish(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY1))
    build(home, [DAY1])
    analyst = Analyst(home.warehouse, "rw")
    analyst.proc.kill()  # its write-ahead log stays behind
    analyst.proc.wait()
    assert home.warehouse.with_name("warehouse.duckdb.wal").exists()
    land_all(home, write_day(tmp_path / "in", DAY2, seed=1))
    build(home, [DAY2])
    assert fresh_look(home.warehouse)[0] == 60
