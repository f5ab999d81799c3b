"""mart_unit_economics per day and per ISO week, computed by hand.

gpt-4o-mini list: $0.15/M input, $0.075/M cached input, $0.60/M output; the bill equals list, so each call's
cost is its list cost. Feature support-bot/triage:

Wednesday 2026-11-11
- u1 user A: 1M in (500k cached) + 100k out = 0.075 + 0.0375 + 0.06 = $0.1725; the cache read saved 500k × 0.075/M = $0.0375
- u2 user B: 1M in + 100k out, failed (status error) = $0.21 (billed all the same: waste)
- u3 user B: its successful retry (attempt 2) = $0.21 (the work itself, not waste)
- u4 user C: served from the app's response cache: not billed, $0
Billed that day: 2.5M uncached × 0.15 + 500k × 0.075 + 300k × 0.60 = 0.375 + 0.0375 + 0.18 = $0.5925.
Outcomes: two tickets resolved (one tied to u1, one to the feature).

requests 4, active users 3, cost $0.5925, per 1k requests $148.125, per active user $0.1975, per outcome $0.29625,
cache hit rate 2/4 (u1's prompt-cache read, u4's response-cache hit), cache savings = 0.0375 + one response-cache
hit at the feature's average billed call (0.5925 / 3 = 0.1975) = $0.235, waste $0.21 (the failed call).

Thursday 2026-11-12: u5 user A again, 1M in + 100k out = $0.21, billed $0.21, no outcome.
ISO week 2026-W46: requests 5, active users 3 (A counted once), cost $0.8025, 2 outcomes, cache hits 2 of 5.
"""

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import dagster as dg

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from tests.conftest import call, write_jsonl

D = Decimal
MINI = "gpt-4o-mini-2024-07-18"


def day_start(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp())


def page(day: str, results: list[dict]) -> dict:
    start = day_start(day)
    return {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400,
                                        "results": results}], "has_more": False, "next_page": None}


def usage(inp: int, cached: int, out: int, requests: int) -> dict:
    return {"object": "organization.usage.completions.result", "input_tokens": inp, "output_tokens": out,
            "input_cached_tokens": cached, "num_model_requests": requests, "project_id": "proj_u", "user_id": None,
            "api_key_id": None, "model": MINI, "batch": False}


def cost(line_item: str, value: str) -> dict:
    return {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
            "line_item": f"{MINI}, {line_item}", "project_id": "proj_u"}


def triage(call_id: str, day: str, user: str, **kw) -> dict:
    base = dict(call_id=call_id, occurred_at=f"{day}T10:00:00Z", model=MINI, project_id="proj_u", user_id=user,
                input_tokens=1_000_000, output_tokens=100_000)
    base.update(kw)
    return call(**base)


def test_unit_economics_daily_and_by_iso_week(home, tmp_path):
    d1, d2 = "2026-11-11", "2026-11-12"
    landing = tmp_path / "in"
    write_jsonl(landing / "calls.jsonl", [
        triage("u1", d1, "A", cached_input_tokens=500_000),
        triage("u2", d1, "B", status="error"),
        triage("u3", d1, "B", attempt=2),
        triage("u4", d1, "C", response_cache_hit=True),
        triage("u5", d2, "A"),
    ])
    write_jsonl(landing / "outcomes.jsonl", [
        {"outcome_id": "o1", "occurred_at": f"{d1}T10:05:00Z", "outcome": "ticket_resolved", "call_id": "u1"},
        {"outcome_id": "o2", "occurred_at": f"{d1}T11:00:00Z", "outcome": "ticket_resolved", "app": "support-bot",
         "feature": "triage"},
    ])
    (landing / "usage.jsonl").write_text(
        json.dumps(page(d1, [usage(3_000_000, 500_000, 300_000, 3)])) + "\n"
        + json.dumps(page(d2, [usage(1_000_000, 0, 100_000, 1)])) + "\n"
    )
    (landing / "costs.jsonl").write_text(
        json.dumps(page(d1, [cost("input", "0.375"), cost("cached input", "0.0375"), cost("output", "0.18")])) + "\n"
        + json.dumps(page(d2, [cost("input", "0.15"), cost("output", "0.06")])) + "\n"
    )
    for name in ("calls.jsonl", "outcomes.jsonl", "usage.jsonl", "costs.jsonl"):
        result = land_file(landing / name, home)
        assert result.error is None and result.quarantined == 0, (name, result)
    resources = {"tokenbooks": TokenbooksResource(home=str(home.home), config_path="")}
    for day in (d1, d2):
        assert dg.materialize([warehouse_day], partition_key=day, resources=resources,
                              instance=dg.DagsterInstance.ephemeral()).success

    con = open_warehouse(home)
    daily = con.execute(
        "select requests, active_users, cost_usd, cost_per_1k_requests_usd, cost_per_active_user_usd, outcomes, "
        "cost_per_outcome_usd, cache_hits, cache_hit_rate, cache_savings_usd, waste_usd "
        "from mart_unit_economics where day = $d and app = 'support-bot' and feature = 'triage'",
        {"d": date.fromisoformat(d1)},
    ).fetchall()
    assert daily == [(4, 3, D("0.5925"), D("148.125"), D("0.1975"), 2, D("0.29625"), 2, 0.5, D("0.235"), D("0.21"))]
    assert con.execute("select call_id, attributed_cost_usd from fct_llm_calls where day = $d order by call_id",
                       {"d": date.fromisoformat(d1)}).fetchall() == [
        ("u1", D("0.1725")), ("u2", D("0.21")), ("u3", D("0.21")), ("u4", D("0"))]

    weekly = con.execute(
        "select iso_week, week, requests, active_users, cost_usd, cost_per_1k_requests_usd, cost_per_active_user_usd, "
        "outcomes, cost_per_outcome_usd, cache_hit_rate, cache_savings_usd, waste_usd "
        "from mart_unit_economics_weekly where feature = 'triage'"
    ).fetchall()
    assert weekly == [("2026-W46", date(2026, 11, 9), 5, 3, D("0.8025"), D("160.5"), D("0.2675"), 2, D("0.40125"), 0.4,
                       D("0.235"), D("0.21"))]
    # What-if prompt caching: u1 read half its input from the cache; the billed misses u2 and u3 (2M uncached input)
    # would read as much: 1M moves to the cache-read rate. 1.5M × 0.15 + 1.5M × 0.075 + 300k × 0.60 = $0.5175.
    cache = con.execute("select day, requests, current_list_cost_usd, whatif_cost_usd, saving_usd from mart_whatif "
                        "where feature = 'triage' and scenario = 'cache'").fetchall()
    assert cache == [(date(2026, 11, 11), 3, D("0.5925"), D("0.5175"), D("0.075"))]  # day 2 had no cache hits: no row
    from pipelines.reporting.whatif import reprice

    day1 = date.fromisoformat(d1)
    cli = reprice(con, "triage", "openai", "gpt-4o-mini", False, day1, day1, cache=True)
    assert (cli.requests, cli.current_list_usd, cli.whatif_usd, cli.saving_usd) == (3, D("0.5925"), D("0.5175"), D("0.075"))
    types = dict(con.execute("select column_name, column_type from (describe mart_unit_economics_weekly)").fetchall())
    assert all(types[c] == "DECIMAL(38,12)" for c in types if c.endswith("_usd"))
    con.close()
