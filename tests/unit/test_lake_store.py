"""The lake store (pipelines/lake/store.py) is the one place that knows the lake's days: their files, commit
markers and what is kept of superseded builds."""

import os
import re
from datetime import date

from pipelines.lake.store import Retention, collect_garbage, commit_day, committed_days, day_file
from pipelines.settings import PROJECT_ROOT

DAY = date(2026, 11, 10)
POINTS = "monitoring_points"


def test_a_day_keeps_its_newest_builds_and_the_committed_one(home):
    builds = [f"2026111{i}T000000000000-abcdef" for i in range(6)]  # build ids sort by time
    for b in builds:
        day_file(home, POINTS, DAY, b).parent.mkdir(parents=True, exist_ok=True)
        day_file(home, POINTS, DAY, b).write_bytes(b"")
    doc = commit_day(home, DAY, builds[1], {POINTS: 0})  # a rebuild of an older mart committed last
    collect_garbage(home, [POINTS], {DAY: doc}, Retention(newest=3), days=[DAY])
    left = sorted(p.stem for p in day_file(home, POINTS, DAY, "x").parent.glob("*.parquet"))
    assert left == [builds[1], *builds[3:]]


def test_superseded_builds_stay_their_hours_after_they_were_replaced(home):
    old, new = day_file(home, "fct_llm_calls", DAY, "a"), day_file(home, "fct_llm_calls", DAY, "b")
    old.parent.mkdir(parents=True)
    old.write_bytes(b"")
    new.write_bytes(b"")
    replaced = new.stat().st_mtime
    os.utime(old, (replaced - 48 * 3600, replaced - 48 * 3600))  # written long ago, replaced only now
    doc = commit_day(home, DAY, "b", {"fct_llm_calls": 0})
    collect_garbage(home, ["fct_llm_calls"], {DAY: doc}, Retention(hours=2), now=replaced + 3599)
    assert old.exists()
    collect_garbage(home, ["fct_llm_calls"], {DAY: doc}, Retention(hours=2), now=replaced + 7200)
    assert not old.exists() and new.exists()


def test_a_window_reads_only_its_own_markers(home):
    for d in (date(2026, 11, 1), DAY, date(2026, 11, 20)):
        commit_day(home, d, "b", {"mart_cost_daily": 1})
    assert list(committed_days(home, since=date(2026, 11, 5), until=date(2026, 11, 15))) == [DAY]
    assert len(committed_days(home)) == 3
    assert not [p for p in (home.lake / "_days").iterdir() if p.suffix != ".json"]  # no temporary file left


SPELLS_THE_LAYOUT = re.compile(r'"day=|"_days"')  # f"day={day}", glob("day=*"), lake / "_days"
ALLOWED = {"pipelines/lake/store.py"}


def test_only_the_lake_store_spells_the_lake_layout():
    found = sorted(
        str(p.relative_to(PROJECT_ROOT))
        for p in (PROJECT_ROOT / "pipelines").rglob("*.py")
        if not p.is_relative_to(PROJECT_ROOT / "pipelines" / "sample")  # the generator writes landing/, not the lake
        and str(p.relative_to(PROJECT_ROOT)) not in ALLOWED
        and SPELLS_THE_LAYOUT.search(p.read_text(encoding="utf-8"))
    )
    assert found == []
