"""The lake's days: where a table's day files are, how a build writes and commits them, what is kept and what goes.

The layout (read by the published warehouse's views, so it does not change)::

    lake/<table>/day=D/<stem>.parquet   a day of a table: landing writes one ``<sha>.parquet`` per landed file,
                                        a build one ``<build_id>.parquet`` per table it builds
    lake/_days/D.json                   the day's commit marker: {"day": D, "tables": {table: {"build_id", "rows"}}}

A build writes all its files first, each whole or not at all (``pipelines.files.replacing``), and commits the day
last by renaming the marker over the old one: a crash before that leaves the previous build of the day in force.
The marker names one build per table, so a later step (drift, budgets) commits its own tables for the day without
touching the others. Files of superseded builds stay for readers of older snapshots, as long as the caller's
``Retention`` says, then ``collect_garbage`` removes them.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb

from pipelines.files import atomic_write, replacing
from pipelines.settings import Settings

LANDED = ["calls", "outcomes", "provider_usage", "provider_costs"]  # the tables landing writes
MARKERS = "_days"


def day_folder(settings: Settings, table: str, day: date) -> Path:
    return settings.lake / table / f"day={day.isoformat()}"


def day_file(settings: Settings, table: str, day: date, stem: str) -> Path:
    """A file of ``table`` for ``day``: ``stem`` is the build id (or the landed file's, or the export's name)."""
    return day_folder(settings, table, day) / f"{stem}.parquet"


def landed_files(settings: Settings, table: str, day: date) -> list[str]:
    return sorted(str(p) for p in day_folder(settings, table, day).glob("*.parquet"))


def landed_days(settings: Settings) -> list[date]:
    days = set()
    for table in LANDED:
        for folder in _day_folders(settings, table):
            if any(folder.glob("*.parquet")):
                days.add(date.fromisoformat(folder.name[4:]))
    return sorted(days)


def _day_folders(settings: Settings, table: str) -> list[Path]:
    return list((settings.lake / table).glob("day=*"))


def new_build_id() -> str:
    """Sorts by the time the build started (``Retention.newest`` relies on it), unique across processes."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]


def write_tables(con: duckdb.DuckDBPyConnection, settings: Settings, day: date, build_id: str, names: list[str]) -> dict[str, int]:
    """Write each named temp table or view as the day's file of this build; returns row counts (read from the
    written file, so a view is not computed twice). Not yet committed (``commit_day``)."""
    rows = {}
    for name in names:
        target = day_file(settings, name, day, build_id)
        with replacing(target) as tmp:
            # zstd level 1: as small as the default level 3 for these columns, and a quarter faster to write.
            con.execute(
                f"copy (select {_parquet_columns(con, name)} from {name}) to $path "
                "(format parquet, compression zstd, compression_level 1)",
                {"path": str(tmp)},
            )
        rows[name] = con.execute("select count(*) from read_parquet($p)", {"p": str(target)}).fetchone()[0]
    return rows


def _parquet_columns(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """Parquet has no 128-bit integer and DuckDB writes HUGEINT as DOUBLE: token sums go out as BIGINT."""
    huge = [r[0] for r in con.execute(f"describe {name}").fetchall() if r[1] == "HUGEINT"]
    return "* replace (" + ", ".join(f'"{c}"::BIGINT as "{c}"' for c in huge) + ")" if huge else "*"


def _marker(settings: Settings, day: date) -> Path:
    return settings.lake / MARKERS / f"{day.isoformat()}.json"


def commit_day(settings: Settings, day: date, build_id: str, rows: dict[str, int]) -> dict:
    """Make this build's files the day's current ones, for the tables in ``rows``, in one atomic rename.
    Returns the day's marker as committed."""
    marker = _marker(settings, day)
    doc = json.loads(marker.read_text()) if marker.exists() else {"day": day.isoformat(), "tables": {}}
    for name, n in rows.items():
        doc["tables"][name] = {"build_id": build_id, "rows": n}
    atomic_write(marker, json.dumps(doc, indent=1, sort_keys=True).encode())
    return doc


def committed_days(settings: Settings, since: date | None = None, until: date | None = None) -> dict[date, dict]:
    """Each committed day's marker (day -> doc), within [since, until] when given. With both bounds only the
    window's own markers are read, so the work follows the window, not the history."""
    if since is not None and until is not None:
        markers = [m for i in range((until - since).days + 1) if (m := _marker(settings, since + timedelta(days=i))).exists()]
    else:
        markers = sorted((settings.lake / MARKERS).glob("*.json"))
    out = {}
    for marker in markers:
        doc = json.loads(marker.read_text())
        day = date.fromisoformat(doc["day"])
        if (since is None or day >= since) and (until is None or day <= until):
            out[day] = doc
    return out


def committed_file(settings: Settings, table: str, day: date, doc: dict | None) -> Path | None:
    """The file of ``table`` that the day's marker ``doc`` commits, if there is one and it exists."""
    entry = (doc or {}).get("tables", {}).get(table)
    if not entry:
        return None
    path = day_file(settings, table, day, entry["build_id"])
    return path if path.exists() else None


def committed_files(
    settings: Settings, table: str, days: dict[date, dict] | None = None, since: date | None = None, until: date | None = None
) -> list[str]:
    """The committed file of ``table`` for each day (optionally within [since, until])."""
    days = committed_days(settings) if days is None else days
    files = []
    for day, doc in sorted(days.items()):
        if (since and day < since) or (until and day > until):
            continue
        path = committed_file(settings, table, day, doc)
        if path is not None:
            files.append(str(path))
    return files


@dataclass(frozen=True)
class Retention:
    """What stays of a day's files besides the committed build's. A file goes once it is neither among the
    ``newest`` builds (by build id; temporary files never count among them) nor younger than ``hours``: a
    superseded build counts from when the committed build replaced it, a file of no committed build (one
    running, one that crashed, an abandoned temporary file) from when it was written."""

    newest: int = 0
    hours: float = 0.0


def collect_garbage(settings: Settings, tables: list[str], markers: dict[date, dict], keep: Retention,
                    days: list[date] | None = None, now: float | None = None) -> None:
    """Delete what ``keep`` no longer keeps of ``tables`` on ``days`` (default: every day a table has a folder
    for), given the days' commit markers."""
    keep_s = keep.hours * 3600
    now = time.time() if now is None else now
    for table in tables:
        folders = _day_folders(settings, table) if days is None else [day_folder(settings, table, d) for d in days]
        for folder in folders:
            if not folder.is_dir():
                continue
            committed = markers.get(date.fromisoformat(folder.name[4:]), {"tables": {}})["tables"].get(table, {}).get("build_id")
            current = folder / f"{committed}.parquet" if committed else None
            superseded_at = current.stat().st_mtime if current is not None and current.exists() else None
            newest = set(sorted(folder.glob("*.parquet"), reverse=True)[: keep.newest])
            for f in folder.iterdir():
                if f == current or f in newest or not (f.suffix == ".parquet" or f.name.endswith(".tmp")):
                    continue
                written = f.stat().st_mtime
                # A file newer than the committed one is a build still running (or one that crashed): its own age.
                since = superseded_at if superseded_at is not None and written <= superseded_at else written
                if now - since >= keep_s:
                    f.unlink(missing_ok=True)
