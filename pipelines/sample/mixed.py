"""The mixed organisation's files: each day's call logs by source, and the bills of its other channels.

``DayLogs`` writes one day's calls, chunk by chunk, through every log source that sees them
(``mixed_logs``) and keeps what the truth needs of them (record counts, id-less pairs, decoys).
``MixedRun`` adds the bills only the mixed organisation has (Azure, AWS CUR, OpenAI dashboard
exports and a restated Costs page) and assembles the ``mixed`` part of the ground truth.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sample.exports import Ledger, OpenAIDay
from pipelines.sample.exports_cloud import azure_csv, azure_rows, cur_csv, cur_rows
from pipelines.sample.endpoints import EndpointDay, endpoint_day, summary
from pipelines.sample.exports_dashboard import Dashboard, restate
from pipelines.sample.finetune import add_training
from pipelines.sample.finetune import day_truth as finetune_day
from pipelines.sample.frames import CALL_COLUMNS
from pipelines.sample.levers import LEVER_COLUMNS
from pipelines.sample.log_bedrock import write_invocations
from pipelines.sample.log_langfuse import LangfusePages, observations
from pipelines.sample.log_litellm import float_prices, write_litellm
from pipelines.sample.mixed_logs import CANONICAL, LANGFUSE, LITELLM, OTLP, TRACED, observe, pairs, seen_by
from pipelines.sample.otlp import write_otlp
from pipelines.sample.spec import Gap, SampleSpec
from pipelines.sample.tables import Tables
from pipelines.sample.truth_mixed import app_billed, mixed_summary, usage_truth


class DayLogs:
    def __init__(self, out: Path, day: date, T: Tables):
        self.out, self.day, self.T = out, day, T
        self.paths = {"calls": out / "app-logs" / f"calls-{day}.jsonl", "otlp": out / "app-logs" / f"otlp-{day}.jsonl",
                      "litellm": out / "litellm" / f"spend-logs-{day}.csv",
                      "bedrock": out / "aws" / "bedrock-invocations" / f"invocations-{day}.jsonl"}
        self.handles: dict = {}
        self.langfuse = LangfusePages(out / "langfuse", day)
        self.prices = float_prices(day)
        self.counts = {"canonical": 0, "otel_spans": 0, "litellm_rows": 0, "otel_only": 0, "litellm_only": 0,
                       "bedrock_invocations": 0}
        self.shared, self.idless, self.decoys = 0, [], []

    def _handle(self, key: str):
        if key not in self.handles:
            self.paths[key].parent.mkdir(parents=True, exist_ok=True)
            self.handles[key] = open(self.paths[key], "wb")
        return self.handles[key]

    def write(self, chunk, rng: np.random.Generator) -> pl.DataFrame:
        """Write a chunk's calls to their sources; return its outcome events, linked to canonical call ids only."""
        calls = observe(chunk.calls, self.T, rng)
        canonical = seen_by(calls, CANONICAL)
        if canonical.height:
            canonical.select(CALL_COLUMNS + LEVER_COLUMNS).write_ndjson(self._handle("calls"))
        spans = seen_by(calls, OTLP)
        if spans.height:
            write_otlp(spans, rng, self._handle("otlp"), call_id=False)
        proxied = seen_by(calls, LITELLM)
        if proxied.height:
            first = "litellm" not in self.handles
            write_litellm(proxied, self.prices, self._handle("litellm"), header=first)
        langfuse = seen_by(calls, LANGFUSE)
        if langfuse.height:
            self.langfuse.add(observations(langfuse, self.prices, rng))
        bedrock = calls.filter((pl.col("provider").cast(pl.String) == "aws") & (pl.col("input_tokens") > 0))
        if bedrock.height:
            self.counts["bedrock_invocations"] += write_invocations(bedrock, rng, self._handle("bedrock"))
        self.counts["canonical"] += canonical.height
        self.counts["otel_spans"] += spans.height
        self.counts["litellm_rows"] += proxied.height
        self.counts["otel_only"] += calls.filter(pl.col("_seen") == OTLP).height
        self.counts["litellm_only"] += calls.filter(pl.col("_seen") == LITELLM).height
        shared, idless = pairs(calls)
        self.shared += shared
        self.idless.append(idless)
        if chunk.decoys is not None and chunk.decoys.height:
            self.decoys.append(_decoys(chunk.decoys, calls))
        linked = pl.col("call_id").is_in(canonical["call_id"].implode())
        return chunk.outcomes.with_columns(pl.when(linked).then(pl.col("call_id")).otherwise(None).alias("call_id"))

    def write_lines(self, rows: list[dict]) -> None:
        """Canonical call lines written apart from the chunks (the endpoints' calls)."""
        if rows:
            self._handle("calls").write("".join(json.dumps(r) + "\n" for r in rows).encode())
            self.counts["canonical"] += len(rows)

    def close(self) -> list[Path]:
        for h in self.handles.values():
            h.close()
        return [self.paths[k] for k in self.handles] + self.langfuse.close()

    def records(self) -> dict:
        idless = pl.concat(self.idless) if self.idless else pl.DataFrame()
        c = self.counts
        return {"log_records": {"canonical": c["canonical"], "otel_spans": c["otel_spans"],
                                "litellm_rows": c["litellm_rows"], "langfuse_observations": self.langfuse.count},
                "single_source": {"otel_only": c["otel_only"], "litellm_only": c["litellm_only"]},
                "bedrock_invocation_lines": c["bedrock_invocations"],
                "shared_id_pairs": self.shared, "idless": idless,
                "decoys": [d for part in self.decoys for d in part]}


def _decoys(decoys: pl.DataFrame, calls: pl.DataFrame) -> list[dict]:
    """The planted twins as each source shows them."""
    ids = calls.select("call_id", "_span", "_litellm_id", "_ms", "_litellm_ms", "input_tokens", "_seen")
    out = []
    for a, b in decoys.iter_rows():
        ra = ids.filter(pl.col("call_id") == a).row(0, named=True)
        rb = ids.filter(pl.col("call_id") == b).row(0, named=True)
        if ra["_seen"] != TRACED or rb["_seen"] != TRACED:
            continue
        out.append({"call_ids": [a, b], "otel_span_ids": [ra["_span"], rb["_span"]],
                    "litellm_request_ids": [ra["_litellm_id"], rb["_litellm_id"]], "input_tokens": ra["input_tokens"],
                    "start_gap_ms": rb["_ms"] - ra["_ms"]})
    return out


def _by_provider(items) -> dict:
    out: dict = {}
    for provider, amount in items:
        out[provider] = out.get(provider, 0) + amount
    return out


class MixedRun:
    def __init__(self, out: Path, spec: SampleSpec, T: Tables):
        self.out, self.spec, self.T = out, spec, T
        self.dashboard = Dashboard()
        self.cur: dict[str, list[dict]] = {}
        self.restate_day = spec.day(min(1, spec.days - 1))
        self.days: list[dict] = []
        self.merge_pairs: list[dict] = []
        self.decoys: list[dict] = []
        self.restatement: dict = {}
        self.endpoints: list[dict] = []
        self.training = Decimal(0)  # the fine-tuning job billed today (the period's first day)

    def endpoint_day(self, day: date, logs: DayLogs) -> EndpointDay:
        """The always-on endpoints' day: their calls into the canonical log, their hours into the CUR."""
        ep = endpoint_day(self.spec, day)
        logs.write_lines(ep.calls)
        self.cur.setdefault(day.strftime("%Y-%m"), []).extend(ep.cur)
        self.endpoints += ep.truth
        return ep

    def day_logs(self, day: date) -> DayLogs:
        return DayLogs(self.out, day, self.T)

    def exports(self, day: date, billed: pl.DataFrame, ledger: Ledger, openai: OpenAIDay) -> list[Path]:
        """Book (and, if the spec writes exports, write) the day's Azure and AWS bills and OpenAI's other channels."""
        azure = azure_rows(day, billed, ledger)
        self.cur.setdefault(day.strftime("%Y-%m"), []).extend(cur_rows(day, billed, ledger))
        self.training = add_training(self.out, day, openai, self.spec.providers_exports) \
            if day == self.spec.first_day else Decimal(0)
        if not self.spec.providers_exports:
            return []
        self.dashboard.add(day, openai)
        path = self.out / "azure" / f"cost-details-{day.isoformat()}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(azure_csv(azure))
        written = [path]
        if day == self.restate_day:
            self.restatement = restate(self.out, day)
            if self.restatement:
                written.append(self.out / self.restatement["restated_file"])
        return written

    def add_day(self, day: date, logs: DayLogs, n: int, billed: pl.DataFrame, usage: pl.DataFrame, ledger: Ledger,
                gaps: list[Gap], ep: EndpointDay) -> None:
        rec = logs.records()
        apps = app_billed(ledger, gaps, self.T.features)
        idle: dict = {}
        for t in ep.truth:  # the calls carry the utilised share of an endpoint's cost, its app the idle rest
            entry = apps["support-bot"]
            entry["total_usd"] += t["attributed_cost_usd"]
            p, key = t["provider"], f"{t['provider']}/{t['endpoint']}"
            entry["by_provider"][p] = entry["by_provider"].get(p, 0) + t["attributed_cost_usd"]
            entry["by_model"][key] = entry["by_model"].get(key, 0) + t["attributed_cost_usd"]
            idle[p] = idle.get(p, 0) + t["idle_cost_usd"]
        idless = rec["idless"]
        if idless.height:
            self.merge_pairs += [{"day": day.isoformat(), **r} for r in idless.iter_rows(named=True)]
        self.decoys += [{"day": day.isoformat(), **d} for d in rec["decoys"]]
        self.days.append({
            "day": day.isoformat(), "logical_calls": n + len(ep.calls),
            "billed_logical_calls": int(usage["requests"].sum() or 0),
            "log_records": rec["log_records"], "single_source": rec["single_source"],
            "bedrock_invocation_lines": rec["bedrock_invocation_lines"],
            "shared_id_pairs": rec["shared_id_pairs"], "idless_pairs": idless.height,
            "idless_pairs_by_kind": dict(sorted(idless.group_by("kind").len().iter_rows())) if idless.height else {},
            "decoy_pairs": len(rec["decoys"]),
            "app_billed_usd": apps, "idle_usd": idle,
            "fine_tuning_usd": {"openai": self.training} if self.training else {},
            "finetune": finetune_day(day, billed),
            "unlogged_usd": _by_provider((g.provider, g.amount_usd) for g in gaps),
            "usage": usage_truth(billed),
        })

    def finish(self) -> list[Path]:
        if not self.spec.providers_exports:
            return []
        paths = self.dashboard.write(self.out, self.spec.first_day, self.spec.end_day)
        for period, rows in sorted(self.cur.items()):
            path = self.out / "aws" / "cur" / "data" / f"BILLING_PERIOD={period}" / "tokenbooks-cur-00001.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(cur_csv(rows))
            paths.append(path)
        return paths

    def truth(self) -> dict:
        return {**mixed_summary(self.days, self.merge_pairs, self.decoys, self.restatement),
                "endpoints": summary(self.spec, self.endpoints)}
