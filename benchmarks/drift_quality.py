"""How well drift detection finds the sample organisation's planted changes, and how often it cries wolf.

    python -m benchmarks.drift_quality --sizes 500,5000,50000 --seeds 1,2,3,4 [--days 30] [--keep]
    python -m benchmarks.drift_quality --sizes 500 --seeds 1,2 --monitor-only   # re-detect on kept builds

For each size (calls per day on weekdays; weekends get 40 %) and seed, the sample organisation is generated,
landed and built day by day (``build_day``, ``monitor_day``: what the nightly job runs, without Dagster and
the contract checks, which do not change what is detected). The warehouse's drift_events are then scored
by *story* (the findings of a day grouped under the subject that explains them, ``story`` column):

- **found on its day**: the planted prompt change (``summarise@v7``: longer prompts) and the planted
  incident (``reply_draft``'s provider incident: errors, retries and billed retries no app logged) each
  have a new story on their first day that names one of their subjects;
- **repeats**: new stories about a planted change on its later days (it should read "day N of …" instead);
- **false events**: every other new story; reported per 30 monitored days, split weekday / weekend.

``--monitor-only`` reuses the built marts kept by ``--keep`` and re-runs only detection, for tuning.
Results go to ``benchmarks/results/drift-quality-<time>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
WORK = ROOT / "work" / "drift"
RESULTS = ROOT / "results"


def related(truth: dict) -> dict[str, dict[str, Any]]:
    """The planted changes: their first day, active days and the subjects a story about them may name."""
    d, org = truth["drift"], truth["org"]
    incident = [date.fromisoformat(x) for x in org["incident_days"]]
    retry_app = next(a for a, fs in org["apps"].items() if org["retry_feature"] in fs)
    return {
        "prompt change": {
            "onset": date.fromisoformat(d["first_day"]),
            "until": date.max,
            "subjects": {f"{d['app']}/{d['feature']}", d["app"], f"openai/{d['model']}", "all"},
        },
        "incident": {
            "onset": incident[0],
            "until": incident[-1] + timedelta(days=1),  # the day after: its retries are still in the baseline
            "subjects": {f"{retry_app}/{org['retry_feature']}", retry_app, "anthropic/claude-sonnet-4-5", "all",
                         "(no app)"},
        },
    }


def build(home: Path, calls: int, seed: int, days: int) -> float:
    from pipelines.ingest.pending import land_pending
    from pipelines.sample import SampleSpec, generate
    from pipelines.settings import load_settings
    from pipelines.warehouse.build import build_day

    started = time.perf_counter()
    settings = load_settings(home=home)
    settings.ensure_dirs()
    generate(settings.landing, SampleSpec(days=days, calls_per_day=calls, seed=seed))
    landed = land_pending(settings)
    errors = [r.error for r in landed if r.error]
    if errors:
        raise SystemExit(f"landing failed: {errors[:3]}")
    for day in sorted({date.fromisoformat(d) for r in landed for d in r.days}):
        build_day(day, settings)
    (home / "built.json").write_text(json.dumps({"calls": calls, "seed": seed, "days": days}))
    return time.perf_counter() - started


def monitor(home: Path) -> float:
    from pipelines.lake.store import committed_days
    from pipelines.monitoring.build import monitor_day
    from pipelines.settings import load_settings
    from pipelines.warehouse.publish import publish

    started = time.perf_counter()
    settings = load_settings(home=home)
    for day in sorted(d for d, doc in committed_days(settings).items() if "mart_cost_daily" in doc["tables"]):
        monitor_day(day, settings)
    publish(settings)
    return time.perf_counter() - started


def score(home: Path, min_history_days: int = 7) -> dict[str, Any]:
    import duckdb

    truth = json.loads((home / "landing" / "ground_truth.json").read_text())
    planted = related(truth)
    first = date.fromisoformat(truth["days"][0]["day"])
    # The warehouse's views name their Parquet files relative to the home (pipelines.db.open_warehouse).
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True, config={"file_search_path": str(home)})
    try:
        cols = {r[0] for r in con.execute("describe drift_events").fetchall()}
        story = "story" if "story" in cols else "subject"
        rows = con.execute(f"""
            select day, {story} as story, list(distinct subject) as subjects, bool_or(is_new) as any_new,
                   min(onset_day) as onset
            from drift_events group by all order by day
        """).fetchall()
        monitored = con.execute("select count(distinct day) from mart_cost_daily where day >= $d",
                                {"d": first + timedelta(days=min_history_days)}).fetchone()[0]
    finally:
        con.close()
    found = {name: False for name in planted}
    repeats, false, continuing = [], [], 0
    for day, story_name, subjects, _, onset in rows:
        new = onset == day
        if not new:
            continuing += 1
            continue
        match = next((n for n, p in planted.items() if set(subjects) & p["subjects"] and p["onset"] <= day <= p["until"]), None)
        if match and day == planted[match]["onset"]:
            found[match] = True
        elif match:
            repeats.append(f"{day} {story_name}")
        else:
            false.append((day, story_name))
    weekend = [f for f in false if f[0].weekday() >= 5]
    return {
        "found_on_day": found,
        "repeats": repeats,
        "false_events": [f"{d} {s}" for d, s in false],
        "false_weekend": len(weekend),
        "continuing_story_days": continuing,
        "monitored_days": monitored,
        "false_per_month": round(len(false) * 30 / monitored, 2) if monitored else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000,50000", help="calls per weekday, comma-separated")
    parser.add_argument("--seeds", default="1,2,3,4", help="sample seeds, comma-separated")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the built homes in benchmarks/work/drift/")
    parser.add_argument("--monitor-only", action="store_true", help="re-run detection on kept builds only")
    args = parser.parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(WORK / "dagster_home"))
    runs = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for seed in [int(s) for s in args.seeds.split(",")]:
            home = WORK / f"{size}-{seed}-{args.days}"
            built = (home / "built.json").exists()
            if args.monitor_only and not built:
                raise SystemExit(f"{home} was not kept: run without --monitor-only first (with --keep)")
            if not args.monitor_only:
                shutil.rmtree(home, ignore_errors=True)
            build_s = 0.0 if args.monitor_only else build(home, size, seed, args.days)
            monitor_s = monitor(home)
            result = {"calls_per_day": size, "seed": seed, "days": args.days, "build_s": round(build_s, 1),
                      "monitor_s": round(monitor_s, 1), **score(home)}
            runs.append(result)
            print(json.dumps(result, default=str), flush=True)
            if not args.keep and not args.monitor_only:
                shutil.rmtree(home, ignore_errors=True)
    summary = summarise(runs)
    write(runs, summary, argv)
    return {"runs": runs, "summary": summary}


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for size in sorted({r["calls_per_day"] for r in runs}):
        rs = [r for r in runs if r["calls_per_day"] == size]
        new_true = sum(sum(r["found_on_day"].values()) for r in rs)
        new_all = new_true + sum(len(r["false_events"]) + len(r["repeats"]) for r in rs)
        out.append({
            "calls_per_day": size, "seeds": len(rs),
            "prompt_change_found": f"{sum(r['found_on_day']['prompt change'] for r in rs)}/{len(rs)}",
            "incident_found": f"{sum(r['found_on_day']['incident'] for r in rs)}/{len(rs)}",
            "recall": round(new_true / (2 * len(rs)), 2),
            "precision": round(new_true / new_all, 2) if new_all else None,
            "repeats": sum(len(r["repeats"]) for r in rs),
            "false_events": sum(len(r["false_events"]) for r in rs),
            "false_on_weekends": sum(r["false_weekend"] for r in rs),
            "false_per_month": round(sum(len(r["false_events"]) for r in rs) * 30 / max(1, sum(r["monitored_days"] for r in rs)), 2),
        })
    return out


def write(runs: list, summary: list, argv: list[str] | None) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    meta = {"command": "python -m benchmarks.drift_quality " + " ".join(sys.argv[1:] if argv is None else argv),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version()}
    (RESULTS / f"drift-quality-{stamp}.json").write_text(json.dumps({**meta, "summary": summary, "runs": runs},
                                                                    indent=1, default=str))
    head = "| calls/day | seeds | prompt change found on its day | incident found on its day | recall | precision | repeats | false events (weekend) | false / month |"
    lines = [f"# drift quality, {stamp}", "", f"`{meta['command']}` on {meta['machine']}", "", head,
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {s['calls_per_day']:,} | {s['seeds']} | {s['prompt_change_found']} | {s['incident_found']} | "
              f"{s['recall']} | {s['precision']} | {s['repeats']} | {s['false_events']} ({s['false_on_weekends']}) | "
              f"{s['false_per_month']} |" for s in summary]
    lines += ["", "False events and repeats per run:", ""]
    lines += [f"- {r['calls_per_day']:,} calls, seed {r['seed']}: false {r['false_events'] or 'none'}; "
              f"repeats {r['repeats'] or 'none'}" for r in runs]
    (RESULTS / f"drift-quality-{stamp}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
