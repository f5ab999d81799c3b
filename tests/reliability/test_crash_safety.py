"""A real SIGKILL at any stage of landing, building or publishing leaves the last good warehouse readable and
correct, and the next run finishes the job without duplicates.

The build runs in a child process (``python -c``). To kill it at a chosen stage, the child replaces the
function of that stage with one that writes a marker file and sleeps; the test waits for the marker and
sends SIGKILL. No hook in the production code: the stages are the functions the build already calls.
A second test kills at random moments (fixed seeds), repeatedly, on the same home.
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.settings import PROJECT_ROOT, load_settings
from tests.quality.days import (
    build,
    committed_invariant_problems,
    committed_problems,
    land_all,
    warehouse_totals,
    write_day,
)

DAYS = [date(2026, 11, 10), date(2026, 11, 11)]

CHILD = r"""
import sys, time
from datetime import date
from pathlib import Path

stage, home, marker, days = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4].split(",")
import pipelines.ingest.land as land
import pipelines.warehouse.build as build
import pipelines.warehouse.publish as publish
import pipelines.ingest.clean as clean
from pipelines.settings import load_settings


def park(*args, **kwargs):
    marker.write_text(stage)
    time.sleep(600)


def park_on_call(module, name, n=1, before=None):
    real, seen = getattr(module, name), []

    def wrapper(*args, **kwargs):
        seen.append(1)
        if len(seen) == n:
            if before:
                before(real, *args, **kwargs)
            park()
        return real(*args, **kwargs)

    setattr(module, name, wrapper)


if stage == "models_running":
    park_on_call(build, "run_model", n=9)  # inside the day's models, temp tables half built
elif stage == "tables_half_written":
    park_on_call(build, "write_tables", n=4)  # three of the day's tables written, the fourth not
elif stage == "before_commit":
    park_on_call(build, "commit_day")
elif stage == "first_day_committed":
    park_on_call(build, "commit_day", n=2)
elif stage == "catalog_written":
    park_on_call(publish, "_write_catalog", before=lambda real, *a, **k: real(*a, **k))  # complete, not swapped in
elif stage == "collecting_garbage":
    park_on_call(publish, "_collect_garbage")
elif stage == "landing_before_manifest":
    park_on_call(land, "_atomic_write_text")
elif stage == "landing_pieces_written":
    park_on_call(clean, "_place")  # the one-pass landing's Parquet written to work/, not yet moved to the lake

settings = load_settings(home=home)
if stage.startswith("landing"):
    for path in days:
        land.land_file(Path(path), settings)
else:
    for day in days:
        build.build_day(date.fromisoformat(day), settings)
    publish.publish(settings)
marker.write_text("done")
"""


def spawn(stage: str, home: Path, marker: Path, args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, stage, str(home), str(marker), ",".join(args)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def kill_at_marker(proc: subprocess.Popen, marker: Path, stage: str) -> None:
    deadline = time.monotonic() + 120
    while not (marker.exists() and marker.read_text()):  # created, then written: wait for its text
        if proc.poll() is not None:
            pytest.fail(f"child ended before stage {stage}: {proc.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, f"stage {stage} never reached"
        time.sleep(0.02)
    assert marker.read_text() == stage
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Two days built and published (state A), then revisions landed (a re-priced bill, late calls):
    the next build must reach state B."""
    root = tmp_path_factory.mktemp("crash")
    settings = load_settings(home=root / "tb")
    settings.ensure_dirs()
    for day in DAYS:
        land_all(settings, write_day(root / "in", day))
    build(settings, DAYS)
    state_a = warehouse_totals(settings.warehouse)
    land_all(settings, write_day(root / "rev", DAYS[0], discount="0.8"))
    land_all(settings, write_day(root / "late", DAYS[1], seed=2))
    reference = root / "reference"
    shutil.copytree(settings.home, reference)
    build(load_settings(home=reference), DAYS)
    state_b = warehouse_totals(load_settings(home=reference).warehouse)
    assert state_a != state_b
    return settings.home, state_a, state_b


def copy_of(prepared, tmp_path):
    home, state_a, state_b = prepared
    shutil.copytree(home, tmp_path / "tb")
    return load_settings(home=tmp_path / "tb"), state_a, state_b


STAGES = {
    "models_running": "old",
    "tables_half_written": "old",
    "before_commit": "old",
    "first_day_committed": "old",
    "catalog_written": "old",
    "collecting_garbage": "new",
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_kill_at_each_stage_leaves_the_last_good_warehouse_and_the_next_run_finishes(prepared, tmp_path, stage):
    settings, state_a, state_b = copy_of(prepared, tmp_path)
    marker = tmp_path / "marker"
    kill_at_marker(spawn(stage, settings.home, marker, [d.isoformat() for d in DAYS]), marker, stage)

    # The published warehouse is readable and is the last good one: never half a build.
    assert warehouse_totals(settings.warehouse) == (state_a if STAGES[stage] == "old" else state_b)
    # What is committed in the lake is correct, day by day.
    assert committed_invariant_problems(settings) == []

    build(settings, DAYS)  # the next run
    assert warehouse_totals(settings.warehouse) == state_b
    assert committed_invariant_problems(settings) == []
    assert scratch_left(settings.home) == []  # what the killed run was writing is gone too


def scratch_left(home: Path) -> list[str]:
    """Files a writer had not finished: temporary files, pieces, the one-pass landing's output, DuckDB logs."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*")
                  if p.name.endswith((".tmp", ".part", ".wal")) or (p.parent.name == "clean" and p.is_file()))


def test_kills_at_random_moments_never_corrupt_and_the_next_run_completes(prepared, tmp_path):
    settings, state_a, state_b = copy_of(prepared, tmp_path)
    for seed in range(3):
        marker = tmp_path / f"marker{seed}"
        proc = spawn("none", settings.home, marker, [d.isoformat() for d in DAYS])
        time.sleep(random.Random(seed).uniform(0.3, 2.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert warehouse_totals(settings.warehouse) in (state_a, state_b)
        assert committed_invariant_problems(settings) == []
    build(settings, DAYS)
    assert warehouse_totals(settings.warehouse) == state_b
    assert committed_problems(settings) == []  # the full generated suites too


def test_a_kill_while_landing_loses_nothing_and_relanding_adds_no_duplicates(home, tmp_path):
    day = DAYS[0]
    calls, usage, costs = write_day(tmp_path / "in", day)
    land_all(home, [usage, costs])
    marker = tmp_path / "marker"
    kill_at_marker(spawn("landing_before_manifest", home.home, marker, [str(calls)]), marker, "landing_before_manifest")
    assert not list((home.lake / "_manifest").glob("*.tmp"))  # killed before the manifest: the file is not landed yet

    result = land_file(calls, home)
    assert not result.already_landed and result.landed == 30
    again = land_file(calls, home)
    assert again.already_landed
    rows = pl.read_parquet(sorted((home.lake / "calls").rglob("*.parquet")), hive_partitioning=False)
    assert rows.height == 30 and rows["call_id"].n_unique() == 30
    build(home, [day])
    assert committed_invariant_problems(home) == []


def test_a_kill_during_the_one_pass_landing_leaves_nothing_once_the_next_landing_runs(home, tmp_path):
    calls, usage, costs = write_day(tmp_path / "in", DAYS[0])
    marker = tmp_path / "marker"
    kill_at_marker(spawn("landing_pieces_written", home.home, marker, [str(calls)]), marker, "landing_pieces_written")
    assert scratch_left(home.home) != []  # the killed process could not clean up after itself

    land_all(home, [calls, usage, costs])  # the next landing removes what the dead process left
    assert scratch_left(home.home) == []
    rows = pl.read_parquet(sorted((home.lake / "calls").rglob("*.parquet")), hive_partitioning=False)
    assert rows.height == 30 and rows["call_id"].n_unique() == 30
