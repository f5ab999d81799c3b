"""Both sides of the reconciliation priced by the same rules, where a token type is split on one side only.

Anthropic reports 1-hour and 5-minute cache writes apart; this app's log does not (cache_write_1h_tokens 0).
claude-sonnet-4-5 list prices (USD per million tokens): input 3, 5-minute write 3.75, 1-hour write 6, output 15.

Provider usage and bill, workspace wrkspc_w: 50k uncached input, 60k 5-minute writes, 40k 1-hour writes, 10k output
  = 50k × 3 + 60k × 3.75 + 40k × 6 + 10k × 15 = 0.15 + 0.225 + 0.24 + 0.15 = $0.765 (billed 76.5 cents).
The one logged call: 150k input of which 100k cache writes (no 1-hour split), 10k output
  as logged: 50k × 3 + 100k × 3.75 + 10k × 15 = 0.15 + 0.375 + 0.15 = $0.675 — 88 % of the bill, which would
  leave $0.09 unattributed though the call is the whole bill;
  calibrated: 100k writes × the provider's 1-hour share 40k / 100k = 40k at the premium 6 − 3.75 = 2.25
  → + $0.09 = $0.765: the whole bill is the call's.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.settings import Settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish

import duckdb

BUCKET = {"starting_at": "2026-11-10T00:00:00Z", "ending_at": "2026-11-11T00:00:00Z"}


def test_logs_without_the_1h_split_are_calibrated_to_the_providers(home: Settings, tmp_path) -> None:
    usage = {"uncached_input_tokens": 50_000, "cache_read_input_tokens": 0,
             "cache_creation": {"ephemeral_5m_input_tokens": 60_000, "ephemeral_1h_input_tokens": 40_000},
             "output_tokens": 10_000, "workspace_id": "wrkspc_w", "api_key_id": "apikey_w",
             "model": "claude-sonnet-4-5-20250929", "service_tier": "standard", "context_window": "0-200k"}
    (tmp_path / "usage.json").write_text(json.dumps({"data": [{**BUCKET, "results": [usage]}], "has_more": False}))
    cost = {"currency": "USD", "amount": "76.5", "workspace_id": "wrkspc_w", "description": "Claude Sonnet 4.5 Usage",
            "cost_type": "tokens", "model": "claude-sonnet-4-5-20250929", "service_tier": "standard",
            "context_window": "0-200k", "token_type": None}
    (tmp_path / "cost.json").write_text(json.dumps({"data": [{**BUCKET, "results": [cost]}], "has_more": False}))
    (tmp_path / "calls.jsonl").write_text(json.dumps({
        "call_id": "c-1", "occurred_at": "2026-11-10T12:00:00Z", "provider": "anthropic",
        "model": "claude-sonnet-4-5-20250929", "app": "support-bot", "feature": "reply_draft",
        "input_tokens": 150_000, "cached_input_tokens": 0, "cache_write_tokens": 100_000, "cache_write_1h_tokens": 0,
        "output_tokens": 10_000, "status": "ok", "workspace_id": "wrkspc_w"}) + "\n")
    for name in ("usage.json", "cost.json", "calls.jsonl"):
        assert land_file(tmp_path / name, home).error is None
    build_day(date(2026, 11, 10), home)
    publish(home)
    con = open_warehouse(home)
    assert con.execute("select list_cost_usd from fct_llm_calls").fetchone()[0] == Decimal("0.675")
    assert con.execute("select provider_list_cost_usd, billed_cost_usd, attributed_cost_usd, unattributed_cost_usd "
                       "from fct_reconciliation").fetchone() == (
        Decimal("0.765"), Decimal("0.765"), Decimal("0.765"), Decimal("0"))
    assert con.execute("select attributed_cost_usd from fct_llm_calls").fetchone()[0] == Decimal("0.765")
