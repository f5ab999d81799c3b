"""The benchmark's results as a short Markdown report (the JSON beside it has every figure)."""

from __future__ import annotations

from typing import Any

TARGET_RATIO = 3.0
TARGET_RSS_MB = 4096
TARGET_HISTORY = 1.3


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x / 1024:.1f} GB" if x >= 1024 else f"{x:.0f} MB"


def _n(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


def _ok(good: bool | None) -> str:
    return "" if good is None else (" ✓" if good else " ✗")


def markdown(doc: dict[str, Any]) -> str:
    m = doc.get("machine", {})
    lines = [
        f"### Benchmark — {m.get('cores')} cores, {m.get('memory_gb')} GB RAM ({m.get('cpu', '')})",
        "",
        f"`{doc.get('command', '')}` · started {doc.get('started', '')} · DuckDB {m.get('duckdb')}, "
        f"Polars {m.get('polars')}, Dagster {m.get('dagster')}, Python {m.get('python')}",
        "",
        "End to end = land the day's files (`land_pending`) + the nightly job for the day (`build_days`: warehouse, "
        "checks, drift, budgets, digest) in an empty warehouse. Floor = DuckDB alone converting the same files to "
        "Parquet once. Each phase runs in its own process; peak RSS is that process's.",
        "",
        "| calls/day | log format | input | floor s | ingest s | nightly s | end to end s | × floor (target ≤ 3) "
        "| calls/s end to end | peak RSS floor | peak RSS tokenbooks (target < 4 GB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in doc.get("sizes", []):
        if "error" in size:
            lines.append(f"| {size['label']} | failed | | | | | | | | | see JSON |")
            continue
        for fmt, r in size.get("formats", {}).items():
            if "skipped" in r:
                lines.append(f"| {size['label']} | {fmt} | skipped: {r['skipped']} | | | | | | | | |")
                continue
            ratio = r.get("ratio")
            rss = r.get("e2e_peak_rss_mb")
            lines.append(
                f"| {size['label']} | {fmt} | {r['bytes'] / 1e9:.2f} GB | {_s(r['floor']['wall_s'])} "
                f"| {_s(r['ingest']['wall_s'])} | {_s(r['nightly']['wall_s'])} | {_s(r['e2e_s'])} "
                f"| {ratio}×{_ok(ratio is not None and ratio <= TARGET_RATIO)} | {_n(r.get('calls_per_s'))} "
                f"| {_mb(r['floor']['peak_rss_mb'])} | {_mb(rss)}{_ok(rss is not None and rss < TARGET_RSS_MB)} |"
            )
    lines += _marginal(doc)
    lines += _lower_bound(doc)
    lines += _profile(doc)
    hist = [s for s in doc.get("sizes", []) if s.get("incrementality")]
    if hist:
        lines += [
            "",
            "Incrementality: the nightly job for one new day with H days already landed and built, against an "
            "empty warehouse (same day, same files).",
            "",
            "| calls/day | history days | nightly, empty s | nightly, with history s | ratio (target < 1.3) "
            "| ingest ratio | backfill of the history |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in hist:
            inc = s["incrementality"]
            lines.append(
                f"| {s['label']} | {inc['history_days']} | {_s(inc['nightly_empty_s'])} | {_s(inc['nightly_history_s'])} "
                f"| {inc['ratio']}×{_ok(inc['ratio'] < TARGET_HISTORY)} | {inc['ingest_ratio']}× "
                f"| {inc['history_days']} days in {_s(inc['backfill']['wall_s'])} s |"
            )
    dag = [s for s in doc.get("sizes", []) if s.get("direct")]
    if dag:
        lines += [
            "",
            "Dagster overhead, measured apart: process import + definitions load; run overhead = run wall − sum of "
            "step durations (run start, event log, step launch); the whole nightly job on a day with no data; and the "
            "warehouse step against `build_day` + `publish` called directly.",
            "",
            "| calls/day | import + defs s | run overhead s | steps | nightly on an empty day s "
            "| warehouse step s | build_day + publish direct s | digest step s | digest direct s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for s in dag:
            fmt = next(iter(s["formats"]))
            nightly = s["formats"][fmt]["nightly"]["result"]
            steps = {st["step"]: st["seconds"] for st in nightly.get("steps", [])}
            wh = next((v for k, v in steps.items() if "warehouse" in k), None)
            dg_step = next((v for k, v in steps.items() if "digest" in k), None)
            d = s["direct"]["result"]
            empty = s.get("empty_run", {})
            lines.append(
                f"| {s['label']} | {_s(nightly.get('import_s'))} | {_s(nightly.get('run_overhead_s'))} | {len(steps)} "
                f"| {_s(empty.get('wall_s'))} | {_s(wh)} | {_s(d['build_day_s'] + d['publish_s'])} | {_s(dg_step)} "
                f"| {_s(d.get('digest_s'))} |"
            )
        empty = dag[0].get("empty_run", {})
        er = empty.get("result") or {}
        if er:
            inside = (er.get("import_s") or 0) + (er.get("run_s") or 0)
            lines += ["", f"Fixed cost of a night (the nightly job on a day with no data, a fresh process; target ≤ 10 s): "
                          f"{_s(empty.get('wall_s'))} s = imports and definitions {_s(er.get('import_s'))} s + "
                          + ", ".join(f"`{st['step']}` {st['seconds']:.1f} s" for st in er.get("steps", []))
                          + f" + run overhead {_s(er.get('run_overhead_s'))} s + process start, instance and exit "
                          f"{_s(empty['wall_s'] - inside)} s."]
        lines += ["", "Nightly steps (first size, first format): " + ", ".join(
            f"`{st['step']}` {st['seconds']:.1f}s" for st in dag[0]["formats"][next(iter(dag[0]["formats"]))]
            ["nightly"]["result"].get("steps", []))]
    large = [(s, f, r) for s in doc.get("sizes", []) for f, r in s.get("formats", {}).items()
             if r.get("ingest", {}).get("result", {}).get("per_file")]
    if large:
        lines += ["", "Largest files landed (land_file, one process):", "",
                  "| calls/day | file | size | seconds | MB/s |", "|---|---|---|---|---|"]
        seen = set()
        for s, f, r in large:
            for pf in sorted(r["ingest"]["result"]["per_file"], key=lambda x: -x["bytes"])[:2]:
                key = (s["label"], pf["file"])
                if key in seen or pf["bytes"] < 50e6:
                    continue
                seen.add(key)
                lines.append(f"| {s['label']} | `{pf['file']}` | {pf['bytes'] / 1e9:.2f} GB | {_s(pf['seconds'])} "
                             f"| {pf['bytes'] / 1e6 / pf['seconds']:.0f} |")
    for s in doc.get("sizes", []):
        if s.get("generate"):
            g = s["generate"]
            lines.append("")
            lines.append(f"Generator, {s['label']} calls/day ({', '.join(s['formats'])}): {_s(g['wall_s'])} s, "
                         f"peak {_mb(g['peak_rss_mb'])}.")
    vc = doc.get("validation_cost")
    if vc:
        lines += ["", "Validation cost (benchmarks/validation_cost.py): `" + str(vc)[:600] + "`"]
    loads = [r[k]["load_before"] for s in doc.get("sizes", []) for r in s.get("formats", {}).values()
             for k in ("floor", "ingest", "nightly") if isinstance(r.get(k), dict) and "load_before" in r[k]]
    if loads:
        lines += ["", f"Load average before phases: {min(loads):.1f}–{max(loads):.1f} (other work on the machine "
                      "inflates wall times; CPU seconds are in the JSON)."]
    return "\n".join(lines) + "\n"


TARGET_MARGINAL = 2.5


def _marginal(doc: dict[str, Any]) -> list[str]:
    """Cost per extra million calls between the smallest and the largest size, of tokenbooks and of the floor."""
    runs: dict[str, list[tuple[int, dict]]] = {}
    for size in doc.get("sizes", []):
        for fmt, r in size.get("formats", {}).items():
            if "e2e_s" in r:
                runs.setdefault(fmt, []).append((size["calls_per_day"], r))
    out = []
    for fmt, rs in runs.items():
        if len(rs) < 2:
            continue
        (n0, a), (n1, b) = min(rs, key=lambda x: x[0]), max(rs, key=lambda x: x[0])
        per_m = (n1 - n0) / 1e6
        ours, floor = (b["e2e_s"] - a["e2e_s"]) / per_m, (b["floor"]["wall_s"] - a["floor"]["wall_s"]) / per_m
        ratio = ours / floor if floor > 0 else None
        if not out:
            out += ["", "Marginal cost per million calls, (T(large) − T(small)) / millions between them: what a bigger "
                        "day costs once the fixed cost of a night is paid.", "",
                    "| log format | sizes | tokenbooks s per 1M | floor s per 1M | ratio (target ≤ 2.5) |", "|---|---|---|---|---|"]
        out.append(f"| {fmt} | {n0:,} → {n1:,} | {ours:.1f} | {floor:.1f} | "
                   f"{'–' if ratio is None else f'{ratio:.2f}×'}{_ok(ratio is not None and ratio <= TARGET_MARGINAL)} |")
    return out


def _lower_bound(doc: dict[str, Any]) -> list[str]:
    """What 3× leaves for everything a build computes, once the two writes of the calls and the fixed cost are paid.

    Landing cannot take less than the floor (DuckDB reading the file once) and the published ``fct_llm_calls`` is a
    second full copy of the calls (``fact_copy``: that file copied once, nothing computed); the fixed cost of a night
    is the nightly job on a day with no data. What is left of 3× the floor is all the merging, pricing, attribution,
    sessions, other tables, checks and digest may take."""
    fixed = next((s.get("empty_run", {}).get("wall_s") for s in doc.get("sizes", []) if s.get("empty_run")), None)
    rows = []
    for size in doc.get("sizes", []):
        for fmt, r in size.get("formats", {}).items():
            copy = (r.get("fact_copy") or {}).get("wall_s")
            if "e2e_s" not in r or copy is None or fixed is None:
                continue
            fc = r["fact_copy"]["result"]
            floor = r["floor"]["wall_s"]
            bound = floor + fc["seconds"] + fixed
            rest_now = r["e2e_s"] - r["ingest"]["wall_s"] - fc["seconds"] - fixed
            left = TARGET_RATIO * floor - bound
            rows.append(f"| {size['label']} | {fmt} | {_s(floor)} | {_s(fc['seconds'])} ({fc['columns']} columns, "
                        f"{_mb(fc['bytes'] / 2**20)}) | {_s(fixed)} | {_s(bound)} = {bound / floor:.2f}× "
                        f"| {_s(left)} | {_s(rest_now)} |")
    if not rows:
        return []
    return ["", "Lower bound with the fact table as its own file: landing at the floor + `fct_llm_calls` copied once "
                "(DuckDB alone, nothing computed) + the fixed cost of a night; what 3× the floor then leaves for "
                "merging, pricing, attribution, sessions, the other tables, checks and digest, against what they take "
                "now (nightly − fact copy − fixed cost).", "",
            "| calls/day | log format | floor s | fact copy s | fixed s | lower bound s | left under 3× s | "
            "the rest now s |", "|---|---|---|---|---|---|---|---|", *rows]


def _profile(doc: dict[str, Any]) -> list[str]:
    """The warehouse step model by model at the largest size profiled, and whether each spilled."""
    prof = [s for s in doc.get("sizes", []) if s.get("profile_build")]
    if not prof:
        return []
    s = max(prof, key=lambda x: x["calls_per_day"])
    steps = s["profile_build"]["result"]["timings"]
    total = sum(t["seconds"] for t in steps) or 1
    out = ["", f"The warehouse step at {s['label']} calls/day, step by step (`build_day` without Dagster; a published "
               "model's time is its `write` step, where it is computed; spilled = peak size of DuckDB's temp files):", "",
           "| step | wall s | share | cpu s | spilled |", "|---|---|---|---|---|"]
    for t in sorted(steps, key=lambda x: -x["seconds"]):
        if t["seconds"] < 0.005 * total:  # steps under half a percent of the build are left out
            continue
        spill = t.get("spilled_mb")
        out.append(f"| {t['step']} | {t['seconds']:.1f} | {100 * t['seconds'] / total:.0f} % | {_s(t.get('cpu_s'))} "
                   f"| {'–' if spill is None else ('no' if not spill else f'{spill:,.0f} MB')} |")
    return out
