"""Where one machine stops being enough: throughput per core, and a backfill with days built side by side.

    python -m benchmarks.scale                                  # 10 days x 500k calls, 2 workers
    python -m benchmarks.scale --calls-per-day 200000 --days 6 --workers 2 [--keep]

The sample organisation's days (canonical call logs and every provider export) are generated and landed once.
Then, each measurement a child process of its own (wall, CPU seconds, peak RSS):

- **per core**: the last day's warehouse build (``build_day``) with DuckDB on 1 thread and on every core
  (``duckdb_threads``): calls per second, and per core.
- **backfill**: every day's warehouse build, first in one process with every core, then in ``--workers``
  processes side by side (each a share of the days, its DuckDB on cores / workers threads): a day is built from
  its own landed files and committed on its own (``lake/_days/D.json``), so days are independent partitions;
  one publish after them. Drift and budgets are not in it: they read the days before, so they run in day order
  after a backfill (README, "Past one machine").

Results go to ``benchmarks/results/scale-<time>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.measure import REPO, machine, run_phase

END_DAY = date(2026, 11, 22)


def _phase(name: str, args: dict[str, Any]) -> dict[str, Any]:
    m = run_phase(name, args)
    out = m.to_dict()
    print(f"  {name}: {m.wall_s:.1f}s wall, {m.user_s + m.sys_s:.1f}s cpu, {m.peak_rss_mb:.0f} MB peak", flush=True)
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    work = Path(args.work or REPO / "benchmarks" / "work") / f"scale-{stamp}"
    raw, home = work / "raw", work / "home"
    cores = os.cpu_count() or 1
    days = [(END_DAY - timedelta(days=k)).isoformat() for k in range(args.days - 1, -1, -1)]
    doc: dict[str, Any] = {"started": stamp, "machine": machine(), "command": " ".join(["python -m benchmarks.scale", *sys.argv[1:]]),
                           "calls_per_day": args.calls_per_day, "days": args.days, "workers": args.workers,
                           "load_before": round(os.getloadavg()[0], 2)}
    print(f"scale: {args.days} days x {args.calls_per_day:,} calls, {args.workers} workers, {cores} cores", flush=True)
    spec = {"days": args.days, "calls_per_day": args.calls_per_day, "seed": args.seed, "end_day": END_DAY.isoformat(),
            "log_formats": ["canonical"], "providers_exports": True, "seasonality": False,
            "chunk_rows": min(200_000, args.calls_per_day)}
    doc["generate"] = _phase("generate", {"out_dir": str(raw), "spec": spec})
    files = [str(p) for p in sorted(raw.rglob("*")) if p.is_file() and p.name != "ground_truth.json"]
    doc["ingest"] = _phase("ingest", {"home": str(home), "files": files, "root": str(raw)})

    last = days[-1:]
    doc["per_core"] = {}
    for threads in sorted({1, cores}):
        r = _phase("build_range", {"home": str(home), "days": last, "threads": threads})
        calls = r["result"]["calls"]
        r["calls_per_s"] = round(calls / r["wall_s"]) if r["wall_s"] else None
        r["calls_per_s_per_core"] = round(calls / r["wall_s"] / threads) if r["wall_s"] else None
        doc["per_core"][str(threads)] = r

    print(" backfill, one process:", flush=True)
    one = _phase("build_range", {"home": str(home), "days": days, "threads": cores})
    shares = [days[i::args.workers] for i in range(args.workers)]
    threads_each = max(1, cores // args.workers)
    print(f" backfill, {args.workers} processes side by side ({threads_each} DuckDB threads each):", flush=True)
    started = datetime.now()
    with ThreadPoolExecutor(args.workers) as pool:
        side = list(pool.map(lambda share: _phase("build_range", {"home": str(home), "days": share, "threads": threads_each}), shares))
    side_wall = (datetime.now() - started).total_seconds()
    published = _phase("publish_only", {"home": str(home)})
    doc["backfill"] = {
        "one_process": one,
        "side_by_side": {"workers": args.workers, "threads_each": threads_each, "wall_s": round(side_wall, 3),
                         "processes": side, "peak_rss_mb_sum": round(sum(p["peak_rss_mb"] for p in side), 1)},
        "publish": published,
        "speedup": round(one["wall_s"] / side_wall, 2) if side_wall else None,
    }
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return doc


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [f"# scale, {doc['started']}", "", f"`{doc['command']}` on {m.get('cpu')}, {m.get('cores')} cores; "
             f"{doc['days']} days x {doc['calls_per_day']:,} calls; load before {doc['load_before']}", "",
             "| measurement | wall s | cpu s | peak RSS MB | calls/s | calls/s per core |", "|---|---|---|---|---|---|"]
    for threads, r in doc["per_core"].items():
        lines.append(f"| one day's build, {threads} DuckDB thread(s) | {r['wall_s']} | {round(r['user_s'] + r['sys_s'], 1)} "
                     f"| {r['peak_rss_mb']:.0f} | {r['calls_per_s']:,} | {r['calls_per_s_per_core']:,} |")
    b = doc["backfill"]
    one, side = b["one_process"], b["side_by_side"]
    total = doc["days"] * doc["calls_per_day"]
    lines.append(f"| backfill of {doc['days']} days, one process | {one['wall_s']} | {round(one['user_s'] + one['sys_s'], 1)} "
                 f"| {one['peak_rss_mb']:.0f} | {round(total / one['wall_s']):,} | |")
    cpu = sum(p["user_s"] + p["sys_s"] for p in side["processes"])
    lines.append(f"| backfill, {side['workers']} processes side by side ({side['threads_each']} threads each) | "
                 f"{side['wall_s']} | {round(cpu, 1)} | {side['peak_rss_mb_sum']:.0f} (sum) | {round(total / side['wall_s']):,} | |")
    lines += ["", f"Side by side vs one process: {b['speedup']}x; publish after the backfill {b['publish']['wall_s']} s."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    p.add_argument("--calls-per-day", type=int, default=500_000)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--work", help="scratch folder (default benchmarks/work/)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    doc = run(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"scale-{doc['started']}.json").write_text(json.dumps(doc, indent=1, default=str))
    (out / f"scale-{doc['started']}.md").write_text(markdown(doc))
    print(markdown(doc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
