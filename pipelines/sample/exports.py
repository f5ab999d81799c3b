"""Provider usage and cost exports for one day, in the providers' own API/export shapes.

Input is the day's billed usage (logged calls plus planted unlogged usage), already
aggregated per hour × model × owner × batch × long context. Amounts are list prices
(``listprice``) of that usage, exact ``Decimal``. Each writer books what it billed in a
``Ledger`` (per provider, canonical model and batch, and per owner), so the ground truth sums
the files' own numbers. Google is in ``exports_google.py``, Azure and AWS in ``exports_cloud.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipelines.sample.listprice import kind_costs, token_kinds
from pipelines.sample.orgs import ALL_MODELS, ALL_OWNERS

ZERO_AMOUNT = "0E-6176"  # how the OpenAI Costs API writes some zero amounts
SUMS = ["requests", "input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "output_tokens", "reasoning_tokens"]
Billed = dict[tuple[str, str, bool], Decimal]


@dataclass
class Ledger:
    """What the exports billed: per (provider, canonical model, is_batch), and per (provider, model, owner index)."""

    billed: Billed = field(default_factory=dict)
    by_owner: dict[tuple[str, str, int], Decimal] = field(default_factory=dict)  # gross, credits apart
    credits: dict[tuple[str, str, int], Decimal] = field(default_factory=dict)  # GCP credits (negative)

    def add(self, provider: str, model: str, is_batch: bool, owner: int, amount: Decimal) -> None:
        self.billed[(provider, model, is_batch)] = self.billed.get((provider, model, is_batch), Decimal(0)) + amount
        key = (provider, model, owner)
        self.by_owner[key] = self.by_owner.get(key, Decimal(0)) + amount

    def credit(self, provider: str, model: str, owner: int, amount: Decimal) -> None:
        self.credits[(provider, model, owner)] = self.credits.get((provider, model, owner), Decimal(0)) + amount


def _day_bounds(day: date) -> tuple[int, int]:
    start = int(datetime.combine(day, time(0), tzinfo=timezone.utc).timestamp())
    return start, start + 86_400


def _iso(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _dump(path: Path, obj: dict, write: bool) -> None:
    if not write:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n", encoding="utf-8")


def _rows(billed: pl.DataFrame, provider: str, keys: list[str]) -> list[dict]:
    """Billed usage of one provider, summed on ``keys`` (model/owner codes), in a stable order."""
    codes = [i for i, m in enumerate(ALL_MODELS) if m.provider == provider]
    part = billed.filter(pl.col("model").is_in(codes))
    return part.group_by(keys).agg(pl.col(SUMS).sum()).sort(keys).to_dicts()


def _kinds(r: dict) -> dict[str, int]:
    return token_kinds(r["input_tokens"], r["cached_input_tokens"], r["cache_write_tokens"],
                       r["cache_write_1h_tokens"], r["output_tokens"])


@dataclass
class OpenAIDay:
    """A day's Usage and Costs API results, for the other channels that deliver the same facts."""

    completions: list[dict]
    embeddings: list[dict]
    costs: list[dict]


def write_openai(out: Path, day: date, billed: pl.DataFrame, acc: Ledger,
                 write: bool = True) -> tuple[list[Path], OpenAIDay]:
    start, end = _day_bounds(day)
    completions, embeddings, costs = [], [], []
    for r in _rows(billed, "openai", ["model", "owner", "is_batch"]):
        m, o = ALL_MODELS[r["model"]], ALL_OWNERS[r["owner"]]
        usage = {"input_tokens": r["input_tokens"]}
        if m.operation == "embeddings":
            embeddings.append({"object": "organization.usage.embeddings.result", **usage,
                               "num_model_requests": r["requests"], "project_id": o.project_id, "user_id": None,
                               "api_key_id": o.api_key_id, "model": m.billed_as})
        else:
            completions.append({"object": "organization.usage.completions.result", **usage,
                                "output_tokens": r["output_tokens"], "input_cached_tokens": r["cached_input_tokens"],
                                "input_audio_tokens": 0, "output_audio_tokens": 0,
                                "num_model_requests": r["requests"], "project_id": o.project_id, "user_id": None,
                                "api_key_id": o.api_key_id, "model": m.billed_as, "batch": r["is_batch"]})
        cost = kind_costs("openai", m.priced_as, day, r["is_batch"], False, _kinds(r))
        prefix = "batch | " if r["is_batch"] else ""
        lines = [("input", cost["input"])]
        if m.operation != "embeddings":
            lines += [("cached input", cost["cache_read"]), ("output", cost["output"])]
        for label, amount in lines:
            if amount == 0 and label != "cached input":
                continue
            value = format(amount, "f") if amount else ZERO_AMOUNT
            costs.append({"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
                          "line_item": f"{prefix}{m.billed_as}, {label}", "project_id": o.project_id})
            acc.add("openai", m.name, r["is_batch"], r["owner"], amount)
    costs.sort(key=lambda c: (c["project_id"], c["line_item"]))
    paths = []
    for name, results in (("usage-completions", completions), ("usage-embeddings", embeddings), ("costs", costs)):
        path = out / "openai" / f"{name}-{day.isoformat()}.json"
        _dump(path, {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": end,
                                                  "results": results}], "has_more": False, "next_page": None},
              write)
        paths.append(path)
    return paths, OpenAIDay(completions, embeddings, costs)


_TOKEN_TYPES = (  # cost report token_type, our kind, description suffix
    ("uncached_input_tokens", "input", "Input Tokens"),
    ("cache_read_input_tokens", "cache_read", "Cache Read Input Tokens"),
    ("cache_creation.ephemeral_5m_input_tokens", "cache_write_5m", "5m Cache Write Input Tokens"),
    ("cache_creation.ephemeral_1h_input_tokens", "cache_write_1h", "1h Cache Write Input Tokens"),
    ("output_tokens", "output", "Output Tokens"),
)


def _claude_name(model: str) -> str:
    parts = model.split("-")  # claude-sonnet-4-5 -> Claude Sonnet 4.5
    return f"Claude {parts[1].title()} {'.'.join(parts[2:])}"


def write_anthropic(out: Path, day: date, billed: pl.DataFrame, acc: Ledger, write: bool = True) -> list[Path]:
    usage, costs = [], {}
    for r in _rows(billed, "anthropic", ["model", "owner", "is_batch", "long_context"]):
        m, o = ALL_MODELS[r["model"]], ALL_OWNERS[r["owner"]]
        kinds = _kinds(r)
        tier = "batch" if r["is_batch"] else "standard"
        window = "200k-1M" if r["long_context"] else "0-200k"
        usage.append({"uncached_input_tokens": kinds["input"], "cache_read_input_tokens": kinds["cache_read"],
                      "cache_creation": {"ephemeral_5m_input_tokens": kinds["cache_write_5m"],
                                         "ephemeral_1h_input_tokens": kinds["cache_write_1h"]},
                      "output_tokens": kinds["output"], "server_tool_use": {"web_search_requests": 0},
                      "api_key_id": o.api_key_id, "workspace_id": o.workspace_id, "model": m.billed_as,
                      "service_tier": tier, "context_window": window})
        amounts = kind_costs("anthropic", m.priced_as, day, r["is_batch"], r["long_context"], kinds)
        for token_type, kind, label in _TOKEN_TYPES:
            if amounts[kind] == 0:
                continue
            key = (o.workspace_id or "", m.billed_as, tier, window, token_type)
            if key not in costs:
                desc = f"{_claude_name(m.name)} {'Batch ' if r['is_batch'] else ''}Usage - {label}"
                desc += " (Long Context)" if r["long_context"] else ""
                costs[key] = {"workspace_id": o.workspace_id, "description": desc, "model": m.billed_as,
                              "service_tier": tier, "context_window": window, "token_type": token_type,
                              "cents": Decimal(0)}
            costs[key]["cents"] += amounts[kind] * 100
            acc.add("anthropic", m.name, r["is_batch"], r["owner"], amounts[kind])
    cost_rows = [{"currency": "USD", "amount": format(c.pop("cents"), "f"), "workspace_id": c["workspace_id"],
                  "description": c["description"], "cost_type": "tokens", "context_window": c["context_window"],
                  "model": c["model"], "service_tier": c["service_tier"], "token_type": c["token_type"]}
                 for _, c in sorted(costs.items())]
    bucket = {"starting_at": _iso(day), "ending_at": _iso(day + timedelta(days=1))}
    paths = [out / "anthropic" / f"usage-report-{day.isoformat()}.json",
             out / "anthropic" / f"cost-report-{day.isoformat()}.json"]
    _dump(paths[0], {"data": [{**bucket, "results": usage}], "has_more": False, "next_page": None}, write)
    _dump(paths[1], {"data": [{**bucket, "results": cost_rows}], "has_more": False, "next_page": None}, write)
    return paths
