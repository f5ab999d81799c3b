"""The mixed organisation's fine-tuned model: support-bot's ``ticket_tag`` calls a gpt-4o-mini tuned for it, and the
OpenAI Costs page of the period's first day carries the tuning job ("ft-gpt-4o-mini-2024-07-18 training").

The model is routed like any other (``org_mixed.ticket_tag``), so its usage and cost lines are in the Usage and Costs
pages at genai-prices' fine-tuned price (2× the base); the training line is added to the first day's Costs page
(and so to the dashboard's cost export), billed to support-bot's project, owned by no call.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipelines.sample.exports import OpenAIDay, _kinds, _rows
from pipelines.sample.listprice import kind_costs
from pipelines.sample.org_mixed import FT_BASE, FT_MODEL
from pipelines.sample.orgs import ALL_MODELS, ALL_OWNERS

# 6.3M training tokens at OpenAI's $3.00 per 1M for gpt-4o-mini
TRAINING_USD = Decimal("18.90")
TRAINING_LINE = f"ft-{FT_BASE} training"
PROJECT = next(o.project_id for o in ALL_OWNERS if o.key == "support-bot/openai")


def add_training(out: Path, day: date, openai: OpenAIDay, write: bool) -> Decimal:
    """Add the training line to the day's Costs page (already written) and to what the dashboard export reads."""
    line = {"object": "organization.costs.result", "amount": {"value": format(TRAINING_USD, "f"), "currency": "usd"},
            "line_item": TRAINING_LINE, "project_id": PROJECT}
    openai.costs.append(line)
    if write:
        path = out / "openai" / f"costs-{day.isoformat()}.json"
        page = json.loads(path.read_text())
        page["data"][0]["results"].append(line)
        path.write_text(json.dumps(page))
    return TRAINING_USD


def day_truth(day: date, billed: pl.DataFrame) -> dict:
    """The fine-tuned model's billed tokens that day at its own list price and at the base model's."""
    own = base = Decimal(0)
    for r in _rows(billed, "openai", ["model", "is_batch"]):
        if ALL_MODELS[r["model"]].name != FT_MODEL:
            continue
        kinds = _kinds(r)
        own += sum(kind_costs("openai", FT_MODEL, day, r["is_batch"], False, kinds).values(), Decimal(0))
        base += sum(kind_costs("openai", FT_BASE, day, r["is_batch"], False, kinds).values(), Decimal(0))
    return {"day": day.isoformat(), "model": FT_MODEL, "list_cost_usd": own, "base_list_cost_usd": base}
