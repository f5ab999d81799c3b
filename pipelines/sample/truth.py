"""The ground truth of a generated sample: what the logs cost at list price, what was billed, what is missing."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl

from pipelines.sample.frames import TOKEN_COLUMNS
from pipelines.sample.exports import Billed
from pipelines.sample.listprice import list_cost
from pipelines.sample.org import DRIFT_FEATURE, DRIFT_PROMPT, GAPS
from pipelines.sample.orgs import ALL_MODELS, ALL_OWNERS, OWNER_INDEX, Org
from pipelines.sample.spec import DayTruth, Drift, Gap, SampleSpec
from pipelines.sample.tables import prompt_of

GAP_OWNERS = {"unlogged_retries": "support-bot/anthropic", "batch_job": "nightly-batch/openai",
              "outside_app": "playground/anthropic"}
GAP_TEXT = {
    "unlogged_retries": "SDK-level retries during a provider incident: billed, never logged by the app",
    "batch_job": "nightly Batch API job (data enrichment) in its own project: no call logs",
    "outside_app": "playground workspace used by people outside any app: no call logs",
}


def _by_model(usage: pl.DataFrame) -> pl.DataFrame:
    return usage.group_by("model", "is_batch", "long_context").agg(pl.col("requests", *TOKEN_COLUMNS).sum()).sort(
        "model", "is_batch", "long_context")


def _cost(day: date, r: dict[str, Any]) -> Decimal:
    m = ALL_MODELS[r["model"]]
    return list_cost(m.provider, m.priced_as, day, r["is_batch"], r["long_context"], r["input_tokens"],
                     r["cached_input_tokens"], r["cache_write_tokens"], r["cache_write_1h_tokens"], r["output_tokens"])


def day_truth(day: date, logged_calls: int, outcomes: int, usage: pl.DataFrame, billed_all: pl.DataFrame,
              billed: Billed, credits: Decimal, gaps: list[Gap], providers: tuple[str, ...]) -> DayTruth:
    """``usage``: billed usage of logged calls; ``billed_all``: everything the providers billed."""
    by_provider = {p: Decimal(0) for p in providers}
    models: dict[tuple[str, str, bool], dict[str, Any]] = {}
    for frame, side in ((usage, "logged"), (billed_all, "provider")):
        for r in _by_model(frame).iter_rows(named=True):
            m = ALL_MODELS[r["model"]]
            row = models.setdefault((m.provider, m.name, r["is_batch"]), {
                "provider": m.provider, "model": m.name, "is_batch": r["is_batch"], "logged_requests": 0,
                "logged_input_tokens": 0, "logged_output_tokens": 0, "logged_list_cost_usd": Decimal(0),
                "provider_requests": 0, "provider_input_tokens": 0, "provider_output_tokens": 0,
                "billed_usd": billed.get((m.provider, m.name, r["is_batch"]), Decimal(0)),
            })
            row[f"{side}_requests"] += r["requests"]
            row[f"{side}_input_tokens"] += r["input_tokens"]
            row[f"{side}_output_tokens"] += r["output_tokens"]
            if side == "logged":
                cost = _cost(day, r)
                row["logged_list_cost_usd"] += cost
                by_provider[m.provider] += cost
    billed_by_provider = {p: Decimal(0) for p in by_provider}
    for (provider, _, _), amount in billed.items():
        billed_by_provider[provider] += amount
    return DayTruth(
        day=day.isoformat(), logged_calls=logged_calls, billed_calls=int(usage["requests"].sum() or 0),
        outcomes=outcomes, logged_list_cost_usd=sum(by_provider.values(), Decimal(0)),
        logged_list_cost_by_provider=by_provider, billed_usd=billed_by_provider,
        billed_total_usd=sum(billed_by_provider.values(), Decimal(0)), credits_usd=credits,
        unlogged_usd=sum((g.amount_usd for g in gaps), Decimal(0)),
        by_model=[models[k] for k in sorted(models)],
    )


def gap_records(kind: str, day: date, usage: pl.DataFrame) -> list[Gap]:
    out = []
    grouped = usage.group_by("model", "owner", "is_batch", "long_context").agg(pl.col("requests", *TOKEN_COLUMNS).sum())
    merged: dict[tuple[int, int, bool], Gap] = {}
    for r in grouped.sort("model", "owner", "is_batch", "long_context").iter_rows(named=True):
        if not r["requests"]:
            continue
        m, o = ALL_MODELS[r["model"]], ALL_OWNERS[r["owner"]]
        key = (r["model"], r["owner"], r["is_batch"])
        gap = merged.get(key)
        if gap is None:
            gap = merged[key] = Gap(kind=kind, day=day.isoformat(), provider=m.provider, model=m.name,
                                    is_batch=r["is_batch"], owner=o.label, project_id=o.project_id,
                                    workspace_id=o.workspace_id, api_key_id=o.api_key_id, requests=0,
                                    input_tokens=0, output_tokens=0, amount_usd=Decimal(0),
                                    description=GAP_TEXT[kind])
            out.append(gap)
        gap.requests += r["requests"]
        gap.input_tokens += r["input_tokens"]
        gap.output_tokens += r["output_tokens"]
        gap.amount_usd += _cost(day, r)
    return out


def drift(spec: SampleSpec, org: Org, before: tuple[int, int], after: tuple[int, int]) -> Drift:
    feature = org.features[org.feature_index(DRIFT_FEATURE)]
    new = next(p for p in feature.prompts if p.version == DRIFT_PROMPT)
    old = [p for p in feature.prompts if p.start < new.start][-1]
    first = spec.index_at(new.start)
    return Drift(
        app=feature.app, feature=feature.name, model=feature.routes[0].model, prompt_version=new.version,
        previous_prompt_version=old.version, first_day=spec.day(first).isoformat(),
        input_tokens_change_pct=round((new.input_mult / old.input_mult - 1) * 100, 2),
        mean_input_tokens_before=round(before[0] / before[1], 1) if before[1] else None,
        mean_input_tokens_after=round(after[0] / after[1], 1) if after[1] else None,
    )


def org_summary(spec: SampleSpec, org: Org, incident_days: list[int]) -> dict[str, Any]:
    apps: dict[str, list[str]] = {}
    for f in org.features:
        apps.setdefault(f.app, []).append(f.name)
    prompts = {}
    for f in org.features:
        changes = {}
        for i in range(spec.days):
            version = prompt_of(spec, f, i)[0]
            if version and version not in changes:
                changes[version] = spec.day(i).isoformat()
        prompts[f.name] = changes
    return {
        "apps": apps,
        "models": [_model(org, m) for m in ALL_MODELS[:org.models]],
        "owners": [{**asdict(o), "owner": o.label} for o in ALL_OWNERS[:org.owners]],
        "gap_owners": {kind: _owner(key) for kind, key in GAP_OWNERS.items()},
        "retry_feature": GAPS.retry_feature,
        "incident_days": [spec.day(i).isoformat() for i in incident_days],
        "prompt_versions_first_day": prompts,
        "users": spec.users, "tenants": spec.tenants,
    }


def _model(org: Org, m) -> dict[str, Any]:
    out = {"provider": m.provider, "model": m.name, "billed_as": m.billed_as, "tier": m.tier,
           "logged_as": sorted({raw for f in org.features for r in f.routes if r.model == m.ref for raw, _ in r.raw})}
    if m.key:  # the mixed organisation's models: the same model reached another way
        out.update(ref=m.ref, priced_as=m.priced_as, via=m.via or None)
    return out


def _owner(key: str) -> dict[str, Any]:
    o = ALL_OWNERS[OWNER_INDEX[key]]
    return {"owner": o.label, "project_id": o.project_id, "workspace_id": o.workspace_id, "api_key_id": o.api_key_id}
