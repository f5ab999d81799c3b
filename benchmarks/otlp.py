"""Benchmark: one large OTLP/JSON file of GenAI spans landed, against DuckDB reading it once.

    python -m benchmarks.otlp                 # a 1 GB file (issue 4: "lands in well under a minute on 2 cores")
    python -m benchmarks.otlp --mb 25         # a quick run

The file is the sample generator's (``pipelines/sample/otlp.py``): the Collector file exporter's
shape, one ``TracesData`` per line of 1,000 spans, current GenAI attributes, int64 values as
strings. Then, each in its own child process (wall, CPU, peak RSS of that process):

* **floor** — DuckDB alone converts the file to Parquet once (``copy (select * from read_json(f))``);
* **land** — ``land_file``: detect, parse the spans (in pieces of ``pieces.PIECE_BYTES``), map the
  attributes, validate, write the lake.

Results go to ``benchmarks/results/otlp-<timestamp>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, timezone
from pathlib import Path

from benchmarks.measure import REPO, machine, run_phase

DAY = date(2026, 11, 22)
BYTES_PER_SPAN = 1277  # the generator's OTLP, measured: sizes the file
TARGET_S_PER_GB = 60.0


def write_otlp(mb: int, folder: Path) -> Path:
    """An OTLP file of about ``mb`` MB from the sample generator (kept and reused between runs)."""
    out = folder / f"otlp-{mb}mb"
    path = out / "app-logs" / f"otlp-{DAY.isoformat()}.jsonl"
    if path.exists():
        return path
    spans = max(1000, mb * 2**20 // BYTES_PER_SPAN)
    spec = {"days": 1, "calls_per_day": spans, "seed": 7, "end_day": DAY.isoformat(), "log_formats": ["otlp"],
            "providers_exports": False, "seasonality": False, "chunk_rows": min(spans, 200_000)}
    run_phase("generate", {"out_dir": str(out), "spec": spec})
    return path


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=1024, help="size of the OTLP file (default 1024)")
    parser.add_argument("--work", default=str(REPO / "benchmarks" / "work" / "otlp"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    work = Path(args.work)
    path = write_otlp(args.mb, work / "files")
    mb = path.stat().st_size / 2**20
    floor = run_phase("floor", {"files": [str(path)], "out_dir": str(work / "floor")})
    land = run_phase("land_export", {"home": str(work / f"home-{args.mb}-{datetime.now():%H%M%S}"), "path": str(path)})
    r = land.result
    doc = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
        "file": path.name, "mb": round(mb, 1), "spans": r["records_in"], "landed": r["landed"],
        "quarantined": r["quarantined"], "floor": floor.to_dict(), "land": land.to_dict(),
        "ratio": round(land.wall_s / floor.wall_s, 2) if floor.wall_s else None,
        "land_mb_per_s": round(mb / land.wall_s, 1) if land.wall_s else None,
        "land_s_per_gb": round(land.wall_s * 1024 / mb, 1) if mb else None,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    (out / f"otlp-{stamp}.json").write_text(json.dumps(doc, indent=2, default=str))
    # Judged on a large file only: on a small one, start-up (imports, the price library) is most of the time.
    ok = None if mb < 512 else doc["land_s_per_gb"] is not None and doc["land_s_per_gb"] < TARGET_S_PER_GB
    lines = [
        f"OTLP landing, {machine().get('cores')} cores: {mb:,.0f} MB, {r['records_in']:,} spans "
        f"({r['landed']:,} landed, {r['quarantined']:,} quarantined)",
        "",
        "| MB | spans | floor s | land s | land CPU s | land / floor | land MB/s | s per GB (target < 60) | land peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {mb:,.0f} | {r['records_in']:,} | {floor.wall_s:.1f} | {land.wall_s:.1f} | "
        f"{land.user_s + land.sys_s:.1f} | {doc['ratio']} | {doc['land_mb_per_s']} | "
        f"{doc['land_s_per_gb']}{'' if ok is None else ' ✓' if ok else ' ✗'} | {land.peak_rss_mb:,.0f} |",
    ]
    (out / f"otlp-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return doc


if __name__ == "__main__":
    main()
