"""Fine-tuned models by hand: their calls priced at the fine-tuned rate, the base model's list price for the same
tokens, the training lines of the bill, and the months the training takes to pay back.

November 2026 (30 days), OpenAI, every figure worked out below:
  ft:gpt-4o-mini-2024-07-18:acme::abc123 — genai-prices lists fine-tuned gpt-4o-mini at 2× the base
    ($0.30 / $1.20 per 1M against $0.15 / $0.60). c1 (Nov 2): 1,000,000 in + 100,000 out = $0.30 + $0.12 = $0.42,
    base $0.15 + $0.06 = $0.21; c2 (Nov 3): half of it, $0.21 and $0.105. Training "ft-gpt-4o-mini-2024-07-18
    training" $25. Same tokens cost more than on the base: no payback, and the row says why.
  ft:gpt-4.1-mini-2025-04-14:acme::def456 — no fine-tuned price in genai-prices: price_overrides gives $0.10 / $0.40
    (a contracted rate). c3 (Nov 2): 1,000,000 in + 100,000 out = $0.10 + $0.04 = $0.14; base gpt-4.1-mini
    ($0.40 / $1.60) $0.40 + $0.16 = $0.56: $0.42 saved in one day with calls -> $12.60 a 30-day month; training
    $30 -> 30 / 12.60 = 2.38 months.
  "ft-gpt-4o-2024-08-06 training" $50: no fine-tuned gpt-4o called this month -> a row of its own, no model.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.db import open_warehouse
from pipelines.settings import load_settings
from tests.conftest import land_and_build

NOV2, NOV3 = date(2026, 11, 2), date(2026, 11, 3)
FT_MINI, FT_41 = "ft:gpt-4o-mini-2024-07-18:acme::abc123", "ft:gpt-4.1-mini-2025-04-14:acme::def456"
CONFIG = f"""
price_overrides:
  - {{provider: openai, model: "{FT_41}", input_usd_per_mtok: 0.1, output_usd_per_mtok: 0.4}}
"""


def costs(path: Path) -> None:
    start = 1793577600  # 2026-11-02T00:00:00Z
    results = [{"object": "organization.costs.result", "amount": {"value": v, "currency": "usd"}, "line_item": item,
                "project_id": "proj_a"} for item, v in (("ft-gpt-4o-mini-2024-07-18 training", "25.00"),
                                                         ("ft-gpt-4.1-mini-2025-04-14 training", "30.00"),
                                                         ("ft-gpt-4o-2024-08-06 training", "50.00"))]
    page = {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400,
                                        "results": results}], "has_more": False, "next_page": None}
    path.write_text(json.dumps(page))


def calls(path: Path) -> None:
    def call(i: int, day: date, model: str, inp: int, out: int) -> dict:
        return {"call_id": f"c{i}", "occurred_at": f"{day}T10:00:00Z", "provider": "openai", "model": model,
                "app": "support-bot", "feature": "triage", "input_tokens": inp, "output_tokens": out, "status": "ok",
                "project_id": "proj_a"}
    rows = [call(1, NOV2, FT_MINI, 1_000_000, 100_000), call(2, NOV3, FT_MINI, 500_000, 50_000),
            call(3, NOV2, FT_41, 1_000_000, 100_000)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("finetunes") / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text(CONFIG)
    settings = load_settings(home=home)
    costs(home / "costs.json")
    calls(home / "calls.jsonl")
    land_and_build(settings, [home / "costs.json", home / "calls.jsonl"], (NOV2, NOV3))
    con = open_warehouse(settings)
    yield con
    con.close()


def test_fine_tuned_calls_priced_at_the_fine_tuned_rate_beside_the_base(built) -> None:
    got = {(d, m): r for d, m, *r in built.execute(
        "select day, fine_tuned_model, base_model, calls, list_cost_usd, base_list_cost_usd from mart_finetune_calls"
    ).fetchall()}
    assert got == {
        (NOV2, FT_MINI): ["gpt-4o-mini-2024-07-18", 1, Decimal("0.42"), Decimal("0.21")],
        (NOV3, FT_MINI): ["gpt-4o-mini-2024-07-18", 1, Decimal("0.21"), Decimal("0.105")],
        (NOV2, FT_41): ["gpt-4.1-mini-2025-04-14", 1, Decimal("0.14"), Decimal("0.56")],
    }


def test_training_and_payback_per_month(built) -> None:
    got = {m: r for m, *r in built.execute("""
        select fine_tuned_model, month, calls, training_cost_usd, inference_list_cost_usd, base_list_cost_usd,
               monthly_saving_usd, payback_months, payback_note
        from mart_finetunes""").fetchall()}
    assert got[FT_41] == ["2026-11", 1, Decimal("30"), Decimal("0.14"), Decimal("0.56"), Decimal("12.6"), 2.38, None]
    assert got[FT_MINI][:7] == ["2026-11", 2, Decimal("25"), Decimal("0.63"), Decimal("0.315"), Decimal("-4.725"),
                                None]
    assert got[FT_MINI][7].startswith("costs more than the base model")
    assert got[None][:3] == ["2026-11", 0, Decimal("50")]
    assert got[None][7].startswith("trained: no fine-tuned model")
    # inference at what the books say the calls cost
    assert built.execute("select sum(inference_cost_usd) from mart_finetunes").fetchone()[0] == built.execute(
        "select sum(cost_usd) from fct_llm_calls").fetchone()[0]
