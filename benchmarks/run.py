"""The tokenbooks benchmark: a nightly run against the floor of DuckDB reading the same input once.

    python -m benchmarks.run                                   # make bench: 1M calls/day (30 days history), 10M (1 day)
    python -m benchmarks.run --calls-per-day 20000 --history-days 3   # make bench-small
    python -m benchmarks.run --sizes 1M:30,10M:1 --formats canonical,otlp --out benchmarks/results

For each size (calls per day ``N``, days of history ``H``) and each log format:

* **floor** — DuckDB alone converts the day's raw input files (call logs, outcomes, provider
  exports) to Parquet once: ``copy (select * from read_json(f)) to …``.
* **tokenbooks** — the same files landed with ``land_pending`` (what the landing sensor's run
  does), then the nightly job for the day through ``pipelines.run.build_days`` (the
  schedule's assets: warehouse, checks, drift, budgets, digest), in an empty warehouse.
  End to end = ingest + nightly; the ratio is end to end / floor.
* **incrementality** — the same nightly build of day D with ``H`` earlier days already landed
  and built, against the empty warehouse. Also the ingest of day D with H days of files
  still in ``landing/``.
* **Dagster overhead** — import + definitions load, run start and between-step time (run wall
  minus the sum of step durations), the nightly job on an empty day, and build_day/publish/digest
  called directly against the warehouse step.

Every phase runs in its own child process: wall seconds, CPU seconds and peak RSS are that
process's own. Results go to ``<out>/bench-<timestamp>.json`` and ``.md``, and ``<out>/latest.*``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.measure import REPO, Measured, PhaseFailed, machine, run_phase
from benchmarks.report import markdown

END_DAY = date(2026, 11, 22)
GEN_CHUNK_ROWS = 200_000  # the generator's chunk: bounds its memory (1M-row chunks with OTLP peak near 8 GB)
BYTES_PER_CALL = {"canonical": 700, "otlp": 1400}  # raw JSON per call, for the disk check


def parse_size(text: str, default_history: int) -> tuple[int, int]:
    """``1M``, ``20k``, ``250000`` or ``10M:3`` (calls per day : days of history)."""
    calls, _, hist = text.strip().partition(":")
    calls = calls.strip().lower()
    mult = 1
    if calls.endswith("k"):
        mult, calls = 1_000, calls[:-1]
    elif calls.endswith("m"):
        mult, calls = 1_000_000, calls[:-1]
    n = int(float(calls) * mult)
    return n, int(hist) if hist else default_history


def label(n: int) -> str:
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1_000 and n % 100 == 0:
        return f"{n / 1_000:g}k"
    return str(n)


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.work = Path(args.work or REPO / "benchmarks" / "work") / stamp
        self.log = self.work / "phases.log"
        self.doc: dict[str, Any] = {
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
            "sizes": [],
        }

    def home(self, path: Path) -> Path:
        """A home for one measurement, with ``--memory-limit`` as its tokenbooks.yaml's duckdb_memory_limit."""
        path.mkdir(parents=True, exist_ok=True)
        if self.args.memory_limit:
            (path / "tokenbooks.yaml").write_text(f"duckdb_memory_limit: {self.args.memory_limit}\n")
        return path

    def say(self, msg: str) -> None:
        print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)

    def phase(self, name: str, args: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, Any]:
        load_before = os.getloadavg()[0]
        m: Measured = run_phase(name, args, env=env, log=self.log)
        out = m.to_dict()
        out["load_before"] = round(load_before, 2)
        self.say(f"  {name}: {m.wall_s:.1f}s wall, {m.user_s + m.sys_s:.1f}s cpu, {m.peak_rss_mb:.0f} MB peak")
        return out

    # ---- data ----
    def generate_day(self, out: Path, n: int, day: date, seed: int, formats: list[str]) -> dict[str, Any]:
        spec = {
            "days": 1, "calls_per_day": n, "seed": seed, "end_day": day.isoformat(), "log_formats": formats,
            "providers_exports": True, "seasonality": False, "chunk_rows": min(GEN_CHUNK_ROWS, max(n, 1)),
        }
        return self.phase("generate", {"out_dir": str(out), "spec": spec})

    @staticmethod
    def files_for(root: Path, fmt: str) -> list[str]:
        """The day's input files for one call-log format: its call logs, outcomes, every provider export."""
        out = []
        for p in sorted(root.rglob("*")):
            if not p.is_file() or p.name == "ground_truth.json":
                continue
            name = p.name
            if name.startswith("calls-") and fmt != "canonical":
                continue
            if name.startswith("otlp-") and fmt != "otlp":
                continue
            out.append(str(p))
        return out

    # ---- one size ----
    def run_size(self, n: int, history: int) -> dict[str, Any]:
        tag = label(n)
        sdir = self.work / tag
        day = END_DAY
        res: dict[str, Any] = {"calls_per_day": n, "label": tag, "history_days": history, "day": day.isoformat(),
                               "formats": {}}
        need = n * sum(BYTES_PER_CALL.get(f, 1500) for f in self.formats) * 2.2  # raw + landed + floor output
        need += n * BYTES_PER_CALL["canonical"] * 1.5 * history if history else 0
        free = shutil.disk_usage(self.work).free
        if need > free:
            raise SystemExit(f"not enough disk for {tag}/day: ~{need / 1e9:.0f} GB needed, {free / 1e9:.0f} GB free")
        self.say(f"size {tag} calls/day, {history} days of history; formats {self.formats}")

        raw = sdir / "raw" / day.isoformat()
        res["generate"] = self.generate_day(raw, n, day, self.args.seed, self.formats)
        gen_files = res["generate"]["result"]["files"]
        res["input_bytes"] = {f["path"]: f["bytes"] for f in gen_files}

        empty_homes = {}
        for fmt in self.formats:
            files = self.files_for(raw, fmt)
            unknown = unrecognised(files)
            if unknown:
                self.say(f" {fmt}: skipped, no registered format reads {unknown[0]}")
                res["formats"][fmt] = {"skipped": f"no registered format reads {os.path.basename(unknown[0])}"}
                continue
            r: dict[str, Any] = {"files": [os.path.relpath(f, raw) for f in files],
                                 "bytes": sum(os.path.getsize(f) for f in files)}
            self.say(f" {fmt}: floor")
            r["floor"] = self.phase("floor", {"files": files, "out_dir": str(sdir / "floor"),
                                              "memory_limit": self.args.memory_limit})
            home = self.home(sdir / f"home-{fmt}")
            env = {"DAGSTER_HOME": str(home / "dagster_home")}
            self.say(f" {fmt}: tokenbooks ingest + nightly (empty warehouse)")
            r["ingest"] = self.phase("ingest", {"home": str(home), "files": files, "root": str(raw)}, env)
            r["nightly"] = self.phase("nightly", {"home": str(home), "dagster_home": str(home / "dagster_home"),
                                                  "start": day.isoformat(), "end": day.isoformat()}, env)
            r["calls"] = r["ingest"]["result"]["tables"].get("calls", {}).get("landed", 0)
            r["fact_copy"] = self.phase("fact_copy", {"home": str(home), "day": day.isoformat()}, env)
            e2e = r["ingest"]["wall_s"] + r["nightly"]["wall_s"]
            r["e2e_s"] = round(e2e, 3)
            r["e2e_cpu_s"] = round(sum(r[k]["user_s"] + r[k]["sys_s"] for k in ("ingest", "nightly")), 3)
            r["e2e_peak_rss_mb"] = max(r["ingest"]["peak_rss_mb"], r["nightly"]["peak_rss_mb"])
            r["ratio"] = round(e2e / r["floor"]["wall_s"], 2) if r["floor"]["wall_s"] else None
            r["calls_per_s"] = round(n / e2e) if e2e else None
            r["floor_calls_per_s"] = round(n / r["floor"]["wall_s"]) if r["floor"]["wall_s"] else None
            res["formats"][fmt] = r
            empty_homes[fmt] = home
            self.say(f" {fmt}: e2e {e2e:.1f}s vs floor {r['floor']['wall_s']:.1f}s -> {r['ratio']}x")

        if not empty_homes:
            return res
        first = next(iter(empty_homes))
        home = empty_homes[first]
        env = {"DAGSTER_HOME": str(home / "dagster_home")}
        self.say(" Dagster overhead: the same day built directly, and per-model profile")
        res["direct"] = self.phase("direct", {"home": str(home), "day": day.isoformat()}, env)
        if self.args.profile:
            res["profile_build"] = self.phase("profile_build", {"home": str(home), "day": day.isoformat()}, env)
        null_home = self.home(sdir / "home-null")
        res["empty_run"] = self.phase(
            "nightly",
            {"home": str(null_home), "dagster_home": str(null_home / "dagster_home"),
             "start": day.isoformat(), "end": day.isoformat()},
            {"DAGSTER_HOME": str(null_home / "dagster_home")},
        )
        shutil.rmtree(null_home, ignore_errors=True)

        if history > 0:
            res["incrementality"] = self.history(sdir, n, history, day, raw, first, res["formats"][first])

        if not self.args.keep:
            shutil.rmtree(sdir, ignore_errors=True)
        return res

    def history(self, sdir: Path, n: int, history: int, day: date, raw_day: Path, fmt: str,
                empty: dict[str, Any]) -> dict[str, Any]:
        """Land and build H earlier days, then the same nightly of day D as in the empty warehouse."""
        home = self.home(sdir / "home-history")
        env = {"DAGSTER_HOME": str(home / "dagster_home")}
        dh = str(home / "dagster_home")
        out: dict[str, Any] = {"history_days": history, "format": fmt, "generate": [], "ingest": []}
        keep_raw = n * history * BYTES_PER_CALL[fmt] < self.args.keep_history_bytes
        out["history_files_kept_in_landing"] = keep_raw
        self.say(f" history: {history} days of {label(n)} ({'kept' if keep_raw else 'deleted'} in landing/ after landing)")
        for k in range(history, 0, -1):
            d = day - timedelta(days=k)
            raw = sdir / "raw" / d.isoformat()
            g = self.generate_day(raw, n, d, self.args.seed + k, [fmt])
            files = self.files_for(raw, fmt)
            i = self.phase("ingest", {"home": str(home), "files": files, "root": str(raw), "prefix": d.isoformat()}, env)
            out["generate"].append({k: g[k] for k in ("wall_s", "peak_rss_mb")})
            out["ingest"].append({k: i[k] for k in ("wall_s", "peak_rss_mb")})
            if not keep_raw:
                shutil.rmtree(raw, ignore_errors=True)
                shutil.rmtree(home / "landing" / d.isoformat(), ignore_errors=True)
        self.say(" history: backfill build of the history days (one run)")
        out["backfill"] = self.phase("nightly", {"home": str(home), "dagster_home": dh, "start": (day - timedelta(days=history)).isoformat(),
                                                 "end": (day - timedelta(days=1)).isoformat()}, env)
        self.say(" history: day D ingest + nightly with history")
        files = self.files_for(raw_day, fmt)
        out["ingest_day"] = self.phase("ingest", {"home": str(home), "files": files, "root": str(raw_day),
                                                  "prefix": day.isoformat()}, env)
        out["nightly"] = self.phase("nightly", {"home": str(home), "dagster_home": dh, "start": day.isoformat(),
                                                "end": day.isoformat()}, env)
        out["nightly_empty_s"] = empty["nightly"]["wall_s"]
        out["nightly_history_s"] = out["nightly"]["wall_s"]
        out["ratio"] = round(out["nightly_history_s"] / out["nightly_empty_s"], 2)
        out["ingest_ratio"] = round(out["ingest_day"]["wall_s"] / empty["ingest"]["wall_s"], 2)
        out["backfill_days_per_min"] = round(history / out["backfill"]["wall_s"] * 60, 2)
        self.say(f" history: nightly {out['nightly_history_s']:.1f}s vs {out['nightly_empty_s']:.1f}s empty -> {out['ratio']}x")
        return out

    def run(self) -> dict[str, Any]:
        self.work.mkdir(parents=True, exist_ok=True)
        sizes = self.args.sizes_parsed
        for n, h in sizes:
            try:
                self.doc["sizes"].append(self.run_size(n, h))
            except PhaseFailed as e:
                self.say(f"size {label(n)} failed: {e}")
                self.doc["sizes"].append({"calls_per_day": n, "label": label(n), "history_days": h, "error": str(e)[-3000:]})
            self.write()
        if not self.args.no_validation_cost:
            self.say("validation cost (benchmarks/validation_cost.py)")
            self.doc["validation_cost"] = validation_cost(min(n for n, _ in sizes))
        self.doc["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.write()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        return self.doc

    def write(self) -> None:
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        stamp = self.doc["started"].replace(":", "").replace("-", "")[:15]
        text = json.dumps(self.doc, indent=1, default=str)
        md = markdown(self.doc)
        for name in (f"bench-{stamp}", "latest") if not self.args.no_latest else (f"bench-{stamp}",):
            (out / f"{name}.json").write_text(text)
            (out / f"{name}.md").write_text(md)


def unrecognised(files: list[str]) -> list[str]:
    """Input files no registered format recognises (e.g. OTLP before its parser is registered)."""
    from pipelines.ingest.formats.base import InputError
    from pipelines.ingest.registry import detect

    out = []
    for f in files:
        try:
            detect(Path(f))
        except InputError:
            out.append(f)
    return out


def validation_cost(rows: int) -> dict[str, Any] | None:
    """Figures from benchmarks/validation_cost.py (another engineer's), when it exists, at ``rows`` calls."""
    try:
        from benchmarks import validation_cost as vc  # type: ignore[attr-defined]
    except ImportError:
        return None
    main = getattr(vc, "main", None)
    if main is None:
        return None
    try:
        return {"rows": rows, "result": main(["--rows", str(min(rows, 1_000_000))])}
    except SystemExit as e:  # a main() written for the command line
        return {"exit": str(e)}
    except Exception as e:  # noqa: BLE001 - its failure must not lose our figures
        return {"error": f"{type(e).__name__}: {e}"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1M:30,10M:1",
                   help="comma-separated calls per day, each optionally :history-days (default 1M:30,10M:1)")
    p.add_argument("--calls-per-day", type=str, help="one size (overrides --sizes)")
    p.add_argument("--history-days", type=int, help="days already in the warehouse before the measured day "
                   "(for sizes that do not say; 0 skips the incrementality measurement)")
    p.add_argument("--formats", default="canonical,otlp", help="call-log formats: canonical, otlp")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results"), help="where results are written")
    p.add_argument("--work", help="scratch folder for generated data (default benchmarks/work/)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep generated data and homes")
    p.add_argument("--memory-limit", help="duckdb_memory_limit for tokenbooks' homes (default: the config's)")
    p.add_argument("--profile", action="store_true", help="also time build_day's models one by one")
    p.add_argument("--no-validation-cost", action="store_true", help="skip benchmarks/validation_cost.py")
    p.add_argument("--no-latest", action="store_true", help="do not overwrite <out>/latest.*")
    p.add_argument("--keep-history-bytes", type=float, default=25e9,
                   help="keep history raw files in landing/ (as a real install would) up to this many bytes")
    args = p.parse_args(argv)
    default_history = args.history_days if args.history_days is not None else 30
    spec = args.calls_per_day or args.sizes
    args.sizes_parsed = [parse_size(s, default_history) for s in spec.split(",") if s.strip()]
    if args.calls_per_day and args.history_days is not None:
        args.sizes_parsed = [(n, args.history_days) for n, _ in args.sizes_parsed]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    started = time.perf_counter()
    doc = bench.run()
    print()
    print(markdown(doc))
    print(f"results: {args.out} ({time.perf_counter() - started:.0f}s)")
    failed = [s for s in doc["sizes"] if "error" in s]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
