"""The benchmark's phases, each run alone in a child process by :mod:`benchmarks.measure`.

    python -m benchmarks.phases <phase> <args.json> <result.json>

Phases only do their work and report what they did (rows, timings taken inside);
the parent measures wall time and peak memory around them. Everything tokenbooks
does here goes through the same entry points as production: ``land_pending`` (what
the landing sensor's run calls) and ``pipelines.run.build_days`` (the
nightly job, in-process on a Dagster instance).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

PHASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def phase(fn):
    PHASES[fn.__name__] = fn
    return fn


def _settings(home: str):
    from pipelines.settings import load_settings

    settings = load_settings(home=Path(home))
    settings.ensure_dirs()
    return settings


@phase
def generate(args: dict[str, Any]) -> dict[str, Any]:
    """Write one sample period with the project's generator; list the files it wrote."""
    from pipelines.sample import SampleSpec
    from pipelines.sample import generate as generate_sample

    known = {f.name for f in dataclasses.fields(SampleSpec)}
    spec_args = {k: v for k, v in args["spec"].items() if k in known}
    if "end_day" in spec_args:
        spec_args["end_day"] = date.fromisoformat(spec_args["end_day"])
    if "log_formats" in spec_args:
        spec_args["log_formats"] = tuple(spec_args["log_formats"])
    out = Path(args["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    generate_sample(out, SampleSpec(**spec_args))
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.name != "ground_truth.json")
    return {
        "files": [{"path": str(p.relative_to(out)), "bytes": p.stat().st_size} for p in files],
        "bytes": sum(p.stat().st_size for p in files),
        "ignored_spec_fields": sorted(set(args["spec"]) - known),
    }


@phase
def floor(args: dict[str, Any]) -> dict[str, Any]:
    """The floor: DuckDB alone converting the input files to Parquet once, with its defaults under the memory
    budget tokenbooks gets (``--memory-limit``)."""
    import duckdb

    out = Path(args["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    if args.get("memory_limit"):
        con.execute("set memory_limit = $m", {"m": args["memory_limit"]})
    rows, per_file = 0, []
    for i, path in enumerate(args["files"]):
        reader = "read_csv" if path.endswith(".csv") else "read_json"
        started = time.perf_counter()
        target = out / f"{i}.parquet"
        # reader is one of two code constants; the paths are bound parameters
        sql = f"copy (select * from {reader}($src)) to $dst (format parquet{{}})"
        settings = ""
        try:
            con.execute(sql.format(""), {"src": path, "dst": str(target)})
        except duckdb.OutOfMemoryException:
            # An OTLP file of 10M spans holds a thousand spans a line: DuckDB's default row group (122,880 rows)
            # of such lines does not fit any budget (it was OOM-killed at 21 GB with no limit). Row groups of 100
            # lines do; the floor says it needed them.
            settings = ", row_group_size 100"
            started = time.perf_counter()
            con.execute(sql.format(settings), {"src": path, "dst": str(target)})
        n = con.execute("select count(*) from read_parquet($p)", {"p": str(target)}).fetchone()[0]
        per_file.append({"file": path, "rows": n, "seconds": round(time.perf_counter() - started, 3),
                         **({"copy_options": settings.lstrip(", ")} if settings else {})})
        rows += n
        target.unlink()
    con.close()
    return {"rows": rows, "files": per_file}


@phase
def ingest(args: dict[str, Any]) -> dict[str, Any]:
    """Land the files (hard-linked into landing/) with land_pending, as the landing sensor's run does."""
    settings = _settings(args["home"])
    for src in args["files"]:
        src = Path(src)
        target = settings.landing / args.get("prefix", "") / src.relative_to(args["root"])
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(src, target)
            except OSError:
                import shutil

                shutil.copyfile(src, target)
    started = time.perf_counter()
    from pipelines.ingest.land import land_file
    from pipelines.ingest.pending import pending_files

    import_s = time.perf_counter() - started
    # land_pending's own loop, with each file timed
    results, per_file = [], []
    for path in pending_files(settings):
        t = time.perf_counter()
        r = land_file(path, settings)
        results.append(r)
        if not r.already_landed:
            per_file.append({"file": str(path.relative_to(settings.landing)), "bytes": path.stat().st_size,
                             "format": r.format, "records": r.records_in, "seconds": round(time.perf_counter() - t, 3)})
    errors = [r.error for r in results if r.error]
    tables: dict[str, dict[str, int]] = {}
    for r in results:
        if r.error or r.already_landed:
            continue
        t = tables.setdefault(r.table, {"files": 0, "records_in": 0, "landed": 0, "quarantined": 0})
        t["files"] += 1
        t["records_in"] += r.records_in
        t["landed"] += r.landed
        t["quarantined"] += r.quarantined
        for extra, counts in r.also.items():
            x = tables.setdefault(extra, {"files": 0, "records_in": 0, "landed": 0, "quarantined": 0})
            x["landed"] += counts.get("landed", 0)
            x["quarantined"] += counts.get("quarantined", 0)
    return {
        "import_s": round(import_s, 3),
        "files": len(results),
        "already_landed": sum(1 for r in results if r.already_landed),
        "tables": tables,
        "errors": errors[:10],
        "per_file": per_file,
        "formats": sorted({r.format for r in results if r.format and not r.already_landed}),
    }


def _dagster_env(args: dict[str, Any]) -> None:
    home = Path(args["dagster_home"])
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        repo_yaml = Path(__file__).resolve().parents[1] / "dagster.yaml"
        (home / "dagster.yaml").write_text(repo_yaml.read_text() if repo_yaml.exists() else "telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)


@phase
def nightly(args: dict[str, Any]) -> dict[str, Any]:
    """The nightly job for [start, end] through build_days (the schedule's assets), with Dagster's step timings."""
    _dagster_env(args)
    settings = _settings(args["home"])
    started = time.perf_counter()
    import warnings

    warnings.filterwarnings("ignore")
    from pipelines.definitions import defs
    from pipelines.run import build_days, instance

    defs.resolve_job_def("nightly_job")
    import_s = time.perf_counter() - started
    inst = instance(settings)
    start, end = date.fromisoformat(args["start"]), date.fromisoformat(args["end"])
    run = build_days(settings, start, end, with_digest=args.get("with_digest", True), dagster_instance=inst)
    steps = []
    for s in inst.get_run_step_stats(run.run_id):
        if s.start_time and s.end_time:
            steps.append({"step": s.step_key, "status": str(s.status.value if s.status else None),
                          "seconds": round(s.end_time - s.start_time, 3)})
    step_total = sum(s["seconds"] for s in steps)
    failures = []
    if not run.success:
        for rec in inst.all_logs(run.run_id):
            ev = rec.dagster_event
            if ev is not None and ev.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
                failures.append(str(ev.event_specific_data)[:2000])
    return {
        "success": run.success,
        "run_id": run.run_id,
        "import_s": round(import_s, 3),
        "run_s": round(run.seconds, 3),
        "steps": steps,
        "steps_s": round(step_total, 3),
        "run_overhead_s": round(run.seconds - step_total, 3),
        "failures": failures[:5],
    }


@phase
def direct(args: dict[str, Any]) -> dict[str, Any]:
    """The same day built without Dagster: build_day, publish, write_digest called directly."""
    settings = _settings(args["home"])
    started = time.perf_counter()
    from pipelines.warehouse.build import build_day
    from pipelines.warehouse.publish import publish

    import_s = time.perf_counter() - started
    day = date.fromisoformat(args["day"])
    t = time.perf_counter()
    built = build_day(day, settings)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    publish(settings)
    publish_s = time.perf_counter() - t
    digest_s = None
    if args.get("with_digest", True):
        from pipelines.reporting.deliver import write_digest

        t = time.perf_counter()
        write_digest(settings, day)
        digest_s = time.perf_counter() - t
    return {
        "import_s": round(import_s, 3),
        "build_day_s": round(build_s, 3),
        "publish_s": round(publish_s, 3),
        "digest_s": round(digest_s, 3) if digest_s is not None else None,
        "rows": built.rows,
    }


@phase
def fact_copy(args: dict[str, Any]) -> dict[str, Any]:
    """The day's published ``fct_llm_calls`` file copied once by DuckDB alone, as the build writes it (zstd level 1,
    the home's memory limit and threads): what publishing the calls a second time costs, apart from computing them.
    With the floor, it bounds from below what any build that writes the fact table as its own file can take."""
    import duckdb

    from pipelines.lake.store import committed_days, committed_file

    settings = _settings(args["home"])
    day = date.fromisoformat(args["day"])
    source = committed_file(settings, "fct_llm_calls", day, committed_days(settings, day, day).get(day))
    if source is None:
        raise SystemExit(f"no committed fct_llm_calls for {day} in {args['home']}")
    target = settings.work / "fact_copy.parquet"
    con = duckdb.connect()
    con.execute("set memory_limit = $m", {"m": settings.config.duckdb_memory_limit})
    con.execute("set preserve_insertion_order = false")
    if settings.config.duckdb_threads:
        con.execute("set threads = $t", {"t": settings.config.duckdb_threads})
    started = time.perf_counter()
    con.execute("copy (select * from read_parquet($src)) to $dst (format parquet, compression zstd, compression_level 1)",
                {"src": str(source), "dst": str(target)})
    seconds = time.perf_counter() - started
    rows, columns = con.execute("select count(*), (select count(*) from (describe select * from read_parquet($p))) "
                                "from read_parquet($p)", {"p": str(target)}).fetchone()
    con.close()
    size = target.stat().st_size
    target.unlink()
    return {"rows": rows, "columns": columns, "bytes": size, "seconds": round(seconds, 3)}


@phase
def build_range(args: dict[str, Any]) -> dict[str, Any]:
    """build_day for each of ``days`` (the warehouse step of a backfill, no Dagster, no publish); ``threads``
    overrides the home's ``duckdb_threads`` for this process only (builds share the home side by side)."""
    settings = _settings(args["home"])
    if args.get("threads"):
        settings.config.duckdb_threads = int(args["threads"])
    from pipelines.warehouse.build import build_day

    per_day = []
    for d in args["days"]:
        t = time.perf_counter()
        built = build_day(date.fromisoformat(d), settings)
        per_day.append({"day": d, "seconds": round(time.perf_counter() - t, 3), "calls": built.rows.get("fct_llm_calls", 0)})
    return {"per_day": per_day, "calls": sum(x["calls"] for x in per_day)}


@phase
def publish_only(args: dict[str, Any]) -> dict[str, Any]:
    """Point the warehouse at every committed day (after a backfill's builds)."""
    settings = _settings(args["home"])
    from pipelines.warehouse.publish import publish

    t = time.perf_counter()
    publish(settings)
    return {"publish_s": round(time.perf_counter() - t, 3)}


@phase
def profile_build(args: dict[str, Any]) -> dict[str, Any]:
    """Where build_day's time goes: load_inputs, each model, each table written (no Dagster)."""
    settings = _settings(args["home"])
    from pipelines.db import connect
    from pipelines.warehouse import build
    from pipelines.warehouse.models import MODELS, PUBLISHED, run_model

    import threading

    day = date.fromisoformat(args["day"])
    con = connect(settings)
    timings: list[dict[str, Any]] = []
    spill_dir = settings.work / "duckdb_tmp"

    def spilled(stop: threading.Event, peak: list[int]) -> None:
        # DuckDB spills to files in its temp directory and removes them after: the folder's peak size is the spill.
        while not stop.wait(0.05):
            try:
                peak[0] = max(peak[0], sum(f.stat().st_size for f in spill_dir.iterdir()))
            except OSError:
                pass

    def timed(label, fn, *a):
        stop, peak = threading.Event(), [0]
        watcher = threading.Thread(target=spilled, args=(stop, peak), daemon=True)
        watcher.start()
        t, c = time.perf_counter(), time.process_time()
        fn(*a)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        stop.set()
        watcher.join()
        timings.append({"step": label, "seconds": round(wall, 3), "cpu_s": round(cpu, 3),
                        "spilled_mb": round(peak[0] / 1e6, 1)})

    timed("load_inputs", build.load_inputs, con, settings, day)
    for _, name in MODELS:  # as build_day does: a published model is written as soon as it is defined
        timed(name, run_model, con, name)
        if name in PUBLISHED:
            timed(f"write {name}", build.write_and_read_back, con, settings, day, "profile", name)
    con.close()
    for name in PUBLISHED:
        (settings.lake / name / f"day={day.isoformat()}" / "profile.parquet").unlink(missing_ok=True)
    return {"timings": timings}


@phase
def land_export(args: dict[str, Any]) -> dict[str, Any]:
    """Land one provider export with land_file (benchmarks/exports.py)."""
    settings = _settings(args["home"])
    from pipelines.ingest.land import land_file

    started = time.perf_counter()
    r = land_file(Path(args["path"]), settings)
    if r.error:
        raise RuntimeError(r.error)
    rows = 0
    for table in [r.table, *r.also]:
        import polars as pl

        rows += sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in (settings.lake / table).rglob("*.parquet"))
    return {"format": r.format, "records_in": r.records_in, "landed": r.landed, "quarantined": r.quarantined,
            "skipped": r.skipped, "also": r.also, "rows_written": rows, "seconds": round(time.perf_counter() - started, 3)}


def main(argv: list[str]) -> int:
    name, args_file, result_file = argv[1], Path(argv[2]), Path(argv[3])
    args = json.loads(args_file.read_text())
    result = PHASES[name](args)
    result_file.write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
