"""Reconciliation and attribution on a day computed by hand: every gap reason, the cache traps, per-project
spreads, owners mapped to apps, model tiers, and the bill adding up to the cent.

genai-prices list prices (USD per million tokens) on 2026-11-10:

- gpt-4.1: input 2, cached 0.5, output 8.     gpt-4o-mini: input 0.15, output 0.60; batch input 0.075, output 0.30.
- o4-mini: input 1.1, output 4.4 (reasoning tokens are output tokens).
- claude-sonnet-4-5: input 3, cache read 0.30, 5-minute cache write 3.75, 1-hour cache write 6, output 15;
  over 200k input tokens a request pays 6 / 22.5.

| group (owner)               | logged calls                              | provider usage             | billed | reason            |
|-----------------------------|-------------------------------------------|----------------------------|--------|-------------------|
| gpt-4.1 proj_m              | m1 1M in + 100k out = 2.80                | the same                   | 2.80   | matched           |
| gpt-4.1 proj_p              | p1 1M in + 100k out = 2.80                | the same                   | 2.52   | price_difference  |
| gpt-4o-mini proj_l          | l1, l2 1M in + 100k out = 0.21 each       | one call's worth           | 0.21   | logged_not_billed |
| gpt-4o-mini proj_b (batch)  | b1 2M in + 1M out at batch = 0.45         | the same                   | 0.45   | matched           |
| gpt-4o-mini proj_batch      | none (a batch job)                        | 2M batch in                | 0.15   | no_call_logs      |
| o4-mini proj_r              | r1 100k in + 50k out (40k reasoning)=0.33 | twice that (retries)       | 0.66   | billed_not_logged |
| claude-sonnet-4-5 wrkspc_a  | a1 (cache traps) 0.528, a2 (long) 1.8225  | none yet                   | none   | no_bill_yet       |
| gemini-2.5-flash tag search | none                                      | 1M in                      | 0.30   | no_call_logs      |

a1 = 150k input of which 60k cache reads and 60k cache writes (20k of them 1-hour) + 10k output:
30k × 3 + 60k × 0.30 + 40k × 3.75 + 20k × 6 + 10k × 15 = 0.09 + 0.018 + 0.15 + 0.12 + 0.15 = $0.528
(cache reads counted once, inside input; 1-hour writes not priced as 5-minute ones).
a2 = 300k input + 1k output over the long-context threshold: 300k × 6 + 1k × 22.5 = $1.8225.
"""

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import dagster as dg
import polars as pl
import pytest
from genai_prices import Usage, calc_price

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.pricing.prices import price_table
from pipelines.resources import TokenbooksResource
from pipelines.settings import Settings
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import warehouse_checks
from tests.conftest import call, write_jsonl

D = Decimal
DAY = "2026-11-10"
START = int(datetime(2026, 11, 10, tzinfo=timezone.utc).timestamp())
MINI, GPT41, O4 = "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "o4-mini-2025-04-16"

CONFIG = """
owners:
  project:proj_batch: {app: docs-search, team: search}
  tag:team=search: {app: search-api, team: search}
model_tiers:
  openai/o4-mini: small
"""


def page(results: list[dict]) -> dict:
    bucket = {"object": "bucket", "start_time": START, "end_time": START + 86400, "results": results}
    return {"object": "page", "data": [bucket], "has_more": False, "next_page": None}


def usage(project: str, model: str, inp: int, out: int, requests: int, batch: bool = False) -> dict:
    return {"object": "organization.usage.completions.result", "input_tokens": inp, "output_tokens": out,
            "input_cached_tokens": 0, "num_model_requests": requests, "project_id": project, "user_id": None,
            "api_key_id": None, "model": model, "batch": batch}


def cost(project: str, line_item: str, value: str) -> dict:
    return {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
            "line_item": line_item, "project_id": project}


def openai_call(call_id: str, model: str, project: str, feature: str, inp: int, out: int, **kw) -> dict:
    return call(call_id=call_id, model=model, project_id=project, feature=feature, input_tokens=inp, output_tokens=out,
                occurred_at=f"{DAY}T12:00:00Z", **kw)


def gemini_billing_row() -> dict:
    return {"service": {"description": "Vertex AI"}, "sku": {"description": "Gemini 2.5 Flash Text Input - Predictions"},
            "usage_start_time": f"{DAY} 10:00:00 UTC", "project": {"id": "search-prod"},
            "labels": [{"key": "team", "value": "search"}], "cost": "0.30", "currency": "USD",
            "usage": {"amount": 1000000, "unit": "count"}, "credits": []}


CALLS = [
    openai_call("m1", GPT41, "proj_m", "answer", 1_000_000, 100_000, user_id="u1"),
    openai_call("p1", GPT41, "proj_p", "answer", 1_000_000, 100_000, user_id="u2"),
    openai_call("l1", MINI, "proj_l", "summarise", 1_000_000, 100_000),
    openai_call("l2", MINI, "proj_l", "summarise", 1_000_000, 100_000),
    openai_call("b1", MINI, "proj_b", "nightly-tagging", 2_000_000, 1_000_000, is_batch=True),
    openai_call("r1", O4, "proj_r", "plan", 100_000, 50_000, reasoning_tokens=40_000),
    call(call_id="a1", provider="anthropic", model="claude-sonnet-4-5-20250929", workspace_id="wrkspc_a", feature="draft",
         occurred_at=f"{DAY}T09:00:00Z", input_tokens=150_000, cached_input_tokens=60_000, cache_write_tokens=60_000,
         cache_write_1h_tokens=20_000, output_tokens=10_000),
    call(call_id="a2", provider="anthropic", model="claude-sonnet-4-5-20250929", workspace_id="wrkspc_a", feature="draft",
         occurred_at=f"{DAY}T09:30:00Z", input_tokens=300_000, output_tokens=1_000),
]
USAGE = [
    usage("proj_m", GPT41, 1_000_000, 100_000, 1),
    usage("proj_p", GPT41, 1_000_000, 100_000, 1),
    usage("proj_l", MINI, 1_000_000, 100_000, 1),
    usage("proj_b", MINI, 2_000_000, 1_000_000, 1, batch=True),
    usage("proj_batch", MINI, 2_000_000, 0, 40, batch=True),
    usage("proj_r", O4, 200_000, 100_000, 2),
]
COSTS = [
    cost("proj_m", f"{GPT41}, input", "2.00"), cost("proj_m", f"{GPT41}, output", "0.80"),
    cost("proj_p", f"{GPT41}, input", "1.80"), cost("proj_p", f"{GPT41}, output", "0.72"),
    cost("proj_l", f"{MINI}, input", "0.15"), cost("proj_l", f"{MINI}, output", "0.06"),
    cost("proj_b", f"batch | {MINI}, input", "0.15"), cost("proj_b", f"batch | {MINI}, output", "0.30"),
    cost("proj_batch", f"batch | {MINI}, input", "0.15"),
    cost("proj_r", f"{O4}, input", "0.22"), cost("proj_r", f"{O4}, output", "0.44"),
]
BILLED = D("2.80") + D("2.52") + D("0.21") + D("0.45") + D("0.15") + D("0.66") + D("0.30")


@pytest.fixture
def warehouse(home: Settings, tmp_path):
    (home.home / "tokenbooks.yaml").write_text(CONFIG)
    landing = tmp_path / "in"
    write_jsonl(landing / "calls.jsonl", CALLS)
    (landing / "usage.json").write_text(json.dumps(page(USAGE)))
    (landing / "costs.json").write_text(json.dumps(page(COSTS)))
    write_jsonl(landing / "gcp_billing.jsonl", [gemini_billing_row()])
    for name in ("calls.jsonl", "usage.json", "costs.json", "gcp_billing.jsonl"):
        result = land_file(landing / name, home)
        assert result.error is None and result.quarantined == 0, (name, result)
    outcome = dg.materialize(
        [warehouse_day, warehouse_checks],
        partition_key=DAY,
        instance=dg.DagsterInstance.ephemeral(),
        resources={"tokenbooks": TokenbooksResource(home=str(home.home), config_path=str(home.home / "tokenbooks.yaml"))},
    )
    assert outcome.success
    con = open_warehouse(home)
    yield con, outcome
    con.close()


def by_call(con, column: str) -> dict:
    return dict(con.execute(f"select call_id, {column} from fct_llm_calls").fetchall())


def test_list_cost_prices_cache_reads_writes_reasoning_batch_and_long_context(warehouse):
    con, _ = warehouse
    listed = by_call(con, "list_cost_usd")
    assert listed == {
        "m1": D("2.80"), "p1": D("2.80"), "l1": D("0.21"), "l2": D("0.21"),
        "b1": D("0.45"),  # batch: half the standard 0.90, never $0
        "r1": D("0.33"),  # 100k × 1.1 + 50k (reasoning included) × 4.4; without reasoning it would be 0.154
        "a1": D("0.528"),  # 0.708 if cache reads were charged again as input, 0.483 with 1h writes priced as 5m
        "a2": D("1.8225"),
    }
    # The same answers from genai-prices' own calculator, request by request.
    when = datetime(2026, 11, 10, 12, tzinfo=timezone.utc)

    def genai(model, provider, context=None, **u):
        return calc_price(Usage(**u), model, provider_id=provider, genai_request_timestamp=when, price_context=context).total_price

    assert listed["a1"] == genai("claude-sonnet-4-5", "anthropic", input_tokens=150_000, cache_read_tokens=60_000,
                                 cache_write_tokens=60_000, cache_write_1h_tokens=20_000, output_tokens=10_000)
    assert listed["a2"] == genai("claude-sonnet-4-5", "anthropic", input_tokens=300_000, output_tokens=1_000)
    assert listed["r1"] == genai("o4-mini", "openai", input_tokens=100_000, output_tokens=50_000)
    assert listed["b1"] == genai("gpt-4o-mini", "openai", {"processing": "batch"}, input_tokens=2_000_000,
                                 output_tokens=1_000_000)
    flags = con.execute("select call_id, is_long_context, cache_status, reasoning_tokens from fct_llm_calls "
                        "where provider = 'anthropic' or call_id = 'r1' order by call_id").fetchall()
    assert flags == [("a1", False, "hit", 0), ("a2", True, "miss", 0), ("r1", False, "miss", 40_000)]


def test_every_gap_reason_with_its_amounts_and_owner(warehouse):
    con, _ = warehouse
    rows = {
        (r[0], r[1], r[2]): r[3:]
        for r in con.execute(
            "select provider, model, owner, billed_cost_usd, attributed_cost_usd, unattributed_cost_usd, gap_reason, "
            "logged_calls, owner_app from fct_reconciliation"
        ).fetchall()
    }
    assert rows == {
        ("openai", "gpt-4.1", "project:proj_m"): (D("2.80"), D("2.80"), D("0"), "matched", 1, None),
        ("openai", "gpt-4.1", "project:proj_p"): (D("2.52"), D("2.52"), D("0"), "price_difference", 1, None),
        ("openai", "gpt-4o-mini", "project:proj_l"): (D("0.21"), D("0.21"), D("0"), "logged_not_billed", 2, None),
        ("openai", "gpt-4o-mini", "project:proj_b"): (D("0.45"), D("0.45"), D("0"), "matched", 1, None),
        ("openai", "gpt-4o-mini", "project:proj_batch"): (D("0.15"), D("0"), D("0.15"), "no_call_logs", 0, "docs-search"),
        ("openai", "o4-mini", "project:proj_r"): (D("0.66"), D("0.33"), D("0.33"), "billed_not_logged", 1, None),
        ("anthropic", "claude-sonnet-4-5", "workspace:wrkspc_a"): (D("0"), D("0"), D("0"), "no_bill_yet", 2, None),
        # The GCP line names its project and its team label: the label maps it to an app (tokenbooks.yaml owners).
        ("google", "gemini-2.5-flash", "project:search-prod"): (D("0.30"), D("0"), D("0.30"), "no_call_logs", 0, "search-api"),
    }


def test_the_spread_respects_per_project_bills(warehouse):
    """m1 and p1 are the same model and the same usage, in two projects billed differently: each call gets its own
    project's bill (2.80 and 2.52), not the model's average (2.66 each)."""
    con, _ = warehouse
    attributed = by_call(con, "attributed_cost_usd")
    assert attributed == {
        "m1": D("2.80"), "p1": D("2.52"), "l1": D("0.105"), "l2": D("0.105"), "b1": D("0.45"), "r1": D("0.33"),
        "a1": D("0"), "a2": D("0"),
    }
    # No bill yet for Anthropic: the calls cost their list price until it arrives.
    assert con.execute("select call_id, cost_usd, cost_basis from fct_llm_calls where provider = 'anthropic' "
                       "order by call_id").fetchall() == [("a1", D("0.528"), "list"), ("a2", D("1.8225"), "list")]


def test_the_bill_adds_up_to_the_cent_and_the_blocking_check_says_so(warehouse):
    con, outcome = warehouse
    a, u, b = con.execute("select sum(attributed_cost_usd), sum(unattributed_cost_usd), sum(billed_cost_usd) "
                          "from fct_reconciliation").fetchone()
    assert a + u == b == BILLED == con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0]
    assert con.execute("select sum(attributed_cost_usd) from fct_llm_calls").fetchone()[0] == a
    evals = {e.check_name: e for e in outcome.get_asset_check_evaluations()}
    assert evals["reconciles_to_bill"].passed and evals["reconciles_to_bill"].blocking
    assert evals["attribution_matches_reconciliation"].passed and evals["adds_up_to_spend"].passed


def test_mart_cost_daily_by_every_dimension_and_tier(warehouse):
    con, _ = warehouse
    tiers = dict(con.execute("select distinct model, model_tier from mart_cost_daily").fetchall())
    # defaults by list output price; o4-mini (4.4/M, "mid" by default) set to small in tokenbooks.yaml
    assert tiers == {"gpt-4.1": "frontier", "gpt-4o-mini": "small", "o4-mini": "small", "claude-sonnet-4-5": "frontier",
                     "gemini-2.5-flash": "mid"}
    by_feature = dict(con.execute("select feature, sum(cost_usd) from mart_cost_daily group by all").fetchall())
    assert by_feature == {
        "answer": D("5.32"), "summarise": D("0.21"), "nightly-tagging": D("0.45"), "plan": D("0.33"),
        "draft": D("0.528") + D("1.8225"), "(unattributed)": D("0.15") + D("0.33") + D("0.30"),
    }
    unattributed = dict(con.execute(
        "select coalesce(app, '?'), sum(cost_usd) from mart_cost_daily where feature = '(unattributed)' group by all"
    ).fetchall())
    assert unattributed == {"docs-search": D("0.15"), "search-api": D("0.30"), "?": D("0.33")}
    dims = {"day", "app", "feature", "user_id", "tenant_id", "model", "model_tier", "prompt_version", "cache_status"}
    assert dims <= {r[0] for r in con.execute("describe mart_cost_daily").fetchall()}
    assert con.execute("select sum(cost_usd) from mart_cost_daily").fetchone()[0] == BILLED + D("0.528") + D("1.8225")


def test_batch_is_discounted_on_days_before_the_price_library_tracked_batch_prices():
    """genai-prices dates its batch prices from 2026-10-14; batch usage before that was half price all the same."""
    pairs = pl.DataFrame({"provider": ["openai", "anthropic"], "model": ["gpt-4o-mini", "claude-sonnet-4-5"]})
    table = price_table(pairs, [date(2025, 6, 1)], Settings(home=None))
    p = {(r["model"], r["is_batch"]): r for r in table.iter_rows(named=True)}
    assert p[("gpt-4o-mini", True)]["input_usd_per_mtok"] == p[("gpt-4o-mini", False)]["input_usd_per_mtok"] / 2
    assert p[("gpt-4o-mini", True)]["output_usd_per_mtok"] == D("0.30")
    sonnet, sonnet_batch = p[("claude-sonnet-4-5", False)], p[("claude-sonnet-4-5", True)]
    for key in ("input", "cached_input", "cache_write_5m", "cache_write_1h", "output"):
        assert sonnet_batch[f"{key}_usd_per_mtok"] == sonnet[f"{key}_usd_per_mtok"] / 2, key
        assert sonnet_batch[f"{key}_usd_per_mtok"] > 0


def test_whatif_cli_and_mart_reprice_a_feature(warehouse, home, capsys):
    """Feature "answer" (m1 + p1 on gpt-4.1: 2M in + 200k out = $5.60 at list) on gpt-4o-mini: 2M × 0.15 + 200k × 0.60
    = $0.42, a saving of $5.18; through gpt-4.1's batch API: 2M × 1 + 200k × 4 = $2.80."""
    from pipelines.cli import main

    con, _ = warehouse
    assert main(["--home", str(home.home), "whatif", "--feature", "answer", "--model", "openai/gpt-4o-mini",
                 "--from", DAY, "--to", DAY]) == 0
    out = capsys.readouterr().out
    assert "$5.60" in out and "on openai/gpt-4o-mini: $0.42" in out and "saves $5.18 (92.5 %)" in out
    assert main(["--home", str(home.home), "whatif", "--feature", "answer", "--model", "openai/gpt-4.1", "--batch"]) == 0
    assert "saves $2.80 (50.0 %)" in capsys.readouterr().out
    scenarios = dict(con.execute(
        "select scenario, saving_usd from mart_whatif where feature = 'answer' and scenario in "
        "('model:openai/gpt-4o-mini', 'batch')").fetchall())
    assert scenarios == {"model:openai/gpt-4o-mini": D("5.18"), "batch": D("2.80")}
