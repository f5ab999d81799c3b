"""Scratch files of a writer that was killed are removed by the next write in their folder; a live writer's, or
another host's, are not (``pipelines.files``)."""

import os
import subprocess
import sys
from pathlib import Path

from pipelines.files import HOST, owned, remove_orphans, replacing


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_files_of_gone_processes_on_this_host_are_removed(tmp_path: Path) -> None:
    gone = dead_pid()
    dead = tmp_path / f".x.parquet.{HOST}.{gone}-ab_12cd.tmp"
    dead_log = tmp_path / f".warehouse.duckdb.{HOST}.{gone}-zz9.tmp.wal"
    live = tmp_path / f"{owned('.y.parquet')}qq.tmp"  # this process: writing
    other_host = tmp_path / f".x.parquet.{HOST}x.{gone}-ab_12cd.tmp"  # same pid on another host sharing the folder
    # a container with the same host name (host networking) and its own pids: HOST ends with this pid namespace
    other_pids = tmp_path / f".x.parquet.{HOST.rsplit('-', 1)[0]}-1.{gone}-ab_12cd.tmp"
    not_ours = tmp_path / ".notes.tmp"  # no writer in its name: left alone
    lake_file = tmp_path / "20261130T155735199022-100462.parquet"
    for p in (dead, dead_log, live, other_host, other_pids, not_ours, lake_file):
        p.write_text("x")

    assert sorted(remove_orphans(tmp_path, (".tmp", ".tmp.wal"))) == sorted([dead, dead_log])
    assert {p.name for p in tmp_path.iterdir()} == {live.name, other_host.name, other_pids.name, not_ours.name,
                                                     lake_file.name}


def test_a_replacing_write_clears_its_folder_of_dead_writers_and_leaves_only_the_target(tmp_path: Path) -> None:
    left = tmp_path / f".table.parquet.{HOST}.{dead_pid()}-k1ll3d.tmp"
    left.write_bytes(b"half a file")
    target = tmp_path / "table.parquet"
    with replacing(target) as tmp:
        assert tmp.name.startswith(f".table.parquet.{HOST}.{os.getpid()}-")
        tmp.write_bytes(b"whole")
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"] and target.read_bytes() == b"whole"


def test_a_folder_that_does_not_exist_has_nothing_to_remove(tmp_path: Path) -> None:
    assert remove_orphans(tmp_path / "nowhere", ".part") == []
