"""Write a sample organisation's landing folder, day by day, chunk by chunk, and its ground truth."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sample.calls import ChunkPlan, generate_chunk
from pipelines.sample.frames import CALL_COLUMNS, TOKEN_COLUMNS, USAGE_KEYS
from pipelines.sample.exports import Ledger, write_anthropic, write_openai
from pipelines.sample.endpoints import patch_day
from pipelines.sample.exports_google import write_google
from pipelines.sample.org import DRIFT_FEATURE, DRIFT_PROMPT, GAPS
from pipelines.sample.levers import RUNAWAY_AT, LeverDay, runaway_steps
from pipelines.sample.mixed import MixedRun
from pipelines.sample.orgs import MIXED, org_of
from pipelines.sample.otlp import write_otlp
from pipelines.sample.planted import batch_job, playground
from pipelines.sample.spec import GroundTruth, SampleSpec
from pipelines.sample.tables import build_population, build_tables, prompt_of
from pipelines.sample.truth import day_truth, drift, gap_records, org_summary

SUM_COLUMNS = ["requests", *TOKEN_COLUMNS]
DECOYS_PER_CALL = 1 / 500  # id-less decoy twins a day in the mixed organisation (at least MIN_DECOYS)
MIN_DECOYS = 3


def incident_days(spec: SampleSpec) -> list[int]:
    first = min(spec.days - 1, int(spec.days * GAPS.incident_at))
    return sorted({first, min(spec.days - 1, first + 1)})


def _sum(parts: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat(parts).group_by(USAGE_KEYS).agg(pl.col(SUM_COLUMNS).sum()).sort(USAGE_KEYS)


def generate(out_dir: Path, spec: SampleSpec | None = None) -> GroundTruth:
    """Generate ``spec``'s landing folder under ``out_dir``; return (and write) its ground truth."""
    spec = spec or SampleSpec()
    out = Path(out_dir)
    (out / "app-logs").mkdir(parents=True, exist_ok=True)
    org = org_of(spec)
    tables, population = build_tables(org), build_population(spec)
    incidents = incident_days(spec)
    drift_day = spec.index_at(next(p.start for f in org.features for p in f.prompts if p.version == DRIFT_PROMPT))
    drift_sums = {False: [0, 0], True: [0, 0]}
    days, gaps, files = [], [], []
    mixed = MixedRun(out, spec, tables) if org is MIXED else None
    runaway_day, levers = spec.index_at(RUNAWAY_AT), []

    for i in range(spec.days):
        day = spec.day(i)
        n = spec.calls_on(day)
        prompts = tuple(prompt_of(spec, f, i) for f in org.features)
        n_chunks = math.ceil(n / spec.chunk_rows)
        paths = {"calls": out / "app-logs" / f"calls-{day}.jsonl",
                 "outcomes": out / "app-logs" / f"outcomes-{day}.jsonl",
                 "otlp": out / "app-logs" / f"otlp-{day}.jsonl"}
        wanted = {"calls": "canonical" in spec.log_formats, "outcomes": True, "otlp": "otlp" in spec.log_formats}
        handles = {k: open(p, "wb") for k, p in paths.items() if wanted[k]}
        logs = mixed.day_logs(day) if mixed else None
        lever_day = LeverDay(tables, day) if tables.levers else None
        usage_parts, hidden_parts, outcome_count = [], [], 0
        try:
            for c in range(n_chunks):
                rng = np.random.default_rng([spec.seed, day.toordinal(), c])
                decoys = max(MIN_DECOYS, round(n * DECOYS_PER_CALL)) if mixed and c == 0 else 0
                size = n * (c + 1) // n_chunks - n * c // n_chunks
                runaways = runaway_steps(size) if lever_day and i == runaway_day and c == 0 else ()
                plan = ChunkPlan(day, size, c / n_chunks, (c + 1) / n_chunks, i in incidents, prompts, decoys, runaways)
                chunk = generate_chunk(rng, tables, population, plan)
                outcomes = chunk.outcomes
                if lever_day:
                    lever_day.add(chunk.calls, chunk.runaway_sessions)
                if "calls" in handles:
                    chunk.calls.select(CALL_COLUMNS).write_ndjson(handles["calls"])
                if "otlp" in handles:
                    write_otlp(chunk.calls, np.random.default_rng([spec.seed, day.toordinal(), c, 1]), handles["otlp"])
                if logs:
                    outcomes = logs.write(chunk, np.random.default_rng([spec.seed, day.toordinal(), c, 2]))
                outcomes.write_ndjson(handles["outcomes"])
                outcome_count += chunk.outcomes.height
                summ = chunk.calls.filter((pl.col("feature") == DRIFT_FEATURE) & (pl.col("input_tokens") > 0))
                drift_sums[i >= drift_day][0] += int(summ["input_tokens"].sum() or 0)
                drift_sums[i >= drift_day][1] += summ.height
                usage_parts.append(chunk.usage)
                hidden_parts.append(chunk.hidden)
                del chunk
        finally:
            for h in handles.values():
                h.close()
        if lever_day:
            levers.append(lever_day.truth())
        files += [str(p.relative_to(out)) for k, p in paths.items() if wanted[k]]
        ep = mixed.endpoint_day(day, logs) if mixed else None
        files += [str(p.relative_to(out)) for p in logs.close()] if logs else []

        usage, hidden = _sum(usage_parts), _sum(hidden_parts)
        prng = np.random.default_rng([spec.seed, day.toordinal(), 99])
        batch, play = batch_job(prng, n), playground(prng, day, spec.calls_per_day)
        billed_all = _sum([usage, hidden, batch, play])
        day_gaps = (gap_records("unlogged_retries", day, hidden) + gap_records("batch_job", day, batch)
                    + gap_records("outside_app", day, play))
        ledger = Ledger()
        write = spec.providers_exports
        written, openai_day = write_openai(out, day, billed_all, ledger, write)
        written += write_anthropic(out, day, billed_all, ledger, write)
        google_files, credits = write_google(out, day, billed_all, ledger, prng, write)
        if mixed:
            written += mixed.exports(day, billed_all, ledger, openai_day)
        if write:
            files += [str(p.relative_to(out)) for p in written + google_files]
        days.append(day_truth(day, n, outcome_count, usage, billed_all, ledger.billed, credits, day_gaps,
                              org.providers))
        if mixed:
            days[-1] = patch_day(days[-1], ep, mixed.training)
            mixed.add_day(day, logs, n, billed_all, usage, ledger, day_gaps, ep)
        gaps += day_gaps

    if mixed:
        files += [str(p.relative_to(out)) for p in mixed.finish()]
    truth = GroundTruth(
        spec={**{k: getattr(spec, k) for k in spec.__dataclass_fields__}, "log_formats": list(spec.log_formats)},
        days=days, gaps=gaps,
        drift=drift(spec, org, tuple(drift_sums[False]), tuple(drift_sums[True])),
        org=org_summary(spec, org, incidents), files=sorted(files),
        mixed={**mixed.truth(), "levers": {"runaway_day": spec.day(runaway_day).isoformat(), "days": levers}}
        if mixed else None,
    )
    truth.write(out / "ground_truth.json")
    return truth


