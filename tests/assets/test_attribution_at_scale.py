"""Attribution at realistic magnitudes, worked by hand: two projects of a few thousand dollars a day, rates that
are not round, cache reads in the provider's usage, and bills and usage that the provider revised after a first
delivery (the newest version of each billed fact counts, through the SQL models).

gpt-4.1 on 2026-11-10 (genai-prices, USD per million tokens): input 2, cached input 0.50, output 8.

proj_a — 1,000 calls, fully explained (the provider's usage is what the calls logged):
- 600 calls of 1M input + 100k output: 2 + 0.8 = $2.80 each, $1,680;
- 400 calls of 2M input + 500k output: 4 + 4 = $8.00 each, $3,200; list $4,880.
- Billed $2,519.87 input + $1,802.00 output = $4,321.87 (a first delivery said $4,000.00: superseded).
- Explained share 4,880 / 4,880 = 1, so attributed = $4,321.87 and the rate is 4,321.87 / 4,880 =
  0.88562909836065573770… (4,880 × 0.8856 = 4,321.728; 0.142 / 4,880 = 0.0000290983606557…).
  A small call: 2.80 × 0.885629098360655737… = 2.479761475409836065…; a large one: 8 × … = 7.085032786885245901…
  (600 × 2.479761475409836 + 400 × 7.085032786885246 = 1,487.8568852459 + 2,834.0131147541 = 4,321.87).

proj_b — 500 calls of 2M input (1M of it cache reads) + 100k output: 1M × 2 + 1M × 0.50 + 100k × 8 =
2 + 0.5 + 0.8 = $3.30 each, list $1,650.
- The provider's usage (revised: the first delivery matched the logs) is 1,200M input of which 500M cache reads,
  plus 60M output: 700M × 2 + 500M × 0.50 + 60M × 8 = 1,400 + 250 + 480 = $2,130 (billed retries no call logged).
- Explained share 1,650 / 2,130 = 55/71 = 0.7746478873239436…; billed $1,874.43.
- Attributed 1,874.43 × 55 / 71 = 103,093.65 / 71 = 1,452.0232394366197…; unattributed 1,874.43 − that =
  422.4067605633802…; each call 1,452.0232394366197 / 500 = 2.9040464788732394…
"""

import json
from datetime import datetime, timezone
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import warehouse_checks
from tests.conftest import call, write_jsonl

D = Decimal
DAY = "2026-11-10"
START = int(datetime(2026, 11, 10, tzinfo=timezone.utc).timestamp())
MODEL = "gpt-4.1-2025-04-14"
# The product rounds a group's explained share and its rate to 15 decimals: a few 1e-12 on thousands of dollars.
NEAR = D("1e-9")


def page(results: list[dict]) -> dict:
    bucket = {"object": "bucket", "start_time": START, "end_time": START + 86400, "results": results}
    return {"object": "page", "data": [bucket], "has_more": False, "next_page": None}


def usage(project: str, inp: int, cached: int, out: int) -> dict:
    return {"object": "organization.usage.completions.result", "input_tokens": inp, "input_cached_tokens": cached,
            "output_tokens": out, "num_model_requests": 1, "project_id": project, "model": MODEL, "batch": False}


def cost(project: str, piece: str, value: str) -> dict:
    return {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
            "line_item": f"{MODEL}, {piece}", "project_id": project}


def calls() -> list[dict]:
    def one(call_id, project, inp, out, cached=0):
        return call(call_id=call_id, occurred_at=f"{DAY}T12:00:00Z", model=MODEL, project_id=project,
                    input_tokens=inp, cached_input_tokens=cached, output_tokens=out)

    return ([one(f"a-small-{i}", "proj_a", 1_000_000, 100_000) for i in range(600)]
            + [one(f"a-large-{i}", "proj_a", 2_000_000, 500_000) for i in range(400)]
            + [one(f"b-{i}", "proj_b", 2_000_000, 100_000, cached=1_000_000) for i in range(500)])


FIRST_USAGE = [usage("proj_a", 1_400_000_000, 0, 260_000_000), usage("proj_b", 1_000_000_000, 500_000_000, 50_000_000)]
REVISED_USAGE = [usage("proj_a", 1_400_000_000, 0, 260_000_000), usage("proj_b", 1_200_000_000, 500_000_000, 60_000_000)]
FIRST_COSTS = [cost("proj_a", "input", "2400.00"), cost("proj_a", "output", "1600.00"),
               cost("proj_b", "input", "1000.00"), cost("proj_b", "cached input", "250.00"),
               cost("proj_b", "output", "624.43")]
REVISED_COSTS = [cost("proj_a", "input", "2519.87"), cost("proj_a", "output", "1802.00"),
                 cost("proj_b", "input", "1000.00"), cost("proj_b", "cached input", "250.00"),
                 cost("proj_b", "output", "624.43")]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from pipelines.settings import load_settings

    root = tmp_path_factory.mktemp("scale")
    settings = load_settings(home=root / "tb")
    settings.ensure_dirs()
    landing = root / "in"
    write_jsonl(landing / "calls.jsonl", calls())
    # Landed in this order: the first deliveries, then the provider's revisions of the same facts.
    files = [("usage-1.json", FIRST_USAGE), ("costs-1.json", FIRST_COSTS), ("usage-2.json", REVISED_USAGE),
             ("costs-2.json", REVISED_COSTS)]
    for name, results in files:
        (landing / name).write_text(json.dumps(page(results)))
    for name in ["calls.jsonl"] + [n for n, _ in files]:
        result = land_file(landing / name, settings)
        assert result.error is None and result.quarantined == 0, (name, result)
    outcome = dg.materialize(
        [warehouse_day, warehouse_checks], partition_key=DAY, instance=dg.DagsterInstance.ephemeral(),
        resources={"tokenbooks": TokenbooksResource(home=str(settings.home), config_path="")},
    )
    con = open_warehouse(settings)
    yield con, outcome
    con.close()


def near(actual, expected: str) -> bool:
    return abs(actual - D(expected)) <= NEAR


def test_each_call_gets_its_share_of_a_non_round_rate(warehouse):
    con, _ = warehouse
    shares = con.execute("select regexp_replace(call_id, '-[0-9]+$', '') as kind, min(attributed_cost_usd), "
                         "max(attributed_cost_usd), count(*) from fct_llm_calls group by all order by 1").fetchall()
    assert [(k, n) for k, _, _, n in shares] == [("a-large", 400), ("a-small", 600), ("b", 500)]
    expected = {"a-large": "7.085032786885", "a-small": "2.479761475410", "b": "2.904046478873"}
    for kind, low, high, _ in shares:
        assert near(low, expected[kind]) and near(high, expected[kind]), (kind, low, high)


def test_each_group_reconciles_to_its_bill_at_thousands_of_dollars(warehouse):
    con, outcome = warehouse
    rows = {r[0]: r[1:] for r in con.execute(
        "select owner, billed_cost_usd, list_cost_usd, provider_list_cost_usd, attributed_cost_usd, "
        "unattributed_cost_usd from fct_reconciliation").fetchall()}
    a, b = rows["project:proj_a"], rows["project:proj_b"]
    assert a == (D("4321.87"), D("4880"), D("4880"), D("4321.87"), D("0"))
    assert b[:3] == (D("1874.43"), D("1650"), D("2130"))
    assert near(b[3], "1452.023239436620") and near(b[4], "422.406760563380")
    assert b[3] + b[4] == D("1874.43")  # attributed + unattributed = billed, exactly
    # The calls' shares add up to their group's attributed dollars (to well under a cent).
    spread = dict(con.execute("select 'project:' || project_id, sum(attributed_cost_usd) from fct_llm_calls "
                              "group by all").fetchall())
    assert abs(spread["project:proj_a"] - D("4321.87")) < D("1e-6")
    assert abs(spread["project:proj_b"] - b[3]) < D("1e-6")
    evals = {e.check_name: e.passed for e in outcome.get_asset_check_evaluations()}
    assert evals["reconciles_to_bill"] and evals["attribution_matches_reconciliation"]


def test_the_revised_delivery_replaces_the_first(warehouse):
    con, _ = warehouse
    assert con.execute("select sum(billed_cost_usd), count(*) from fct_provider_costs").fetchone() == (
        D("6196.30"), 5)  # 4,321.87 + 1,874.43, each line once
    assert con.execute("select project_id, input_tokens, cached_input_tokens, output_tokens from fct_provider_usage "
                       "order by 1").fetchall() == [
        ("proj_a", 1_400_000_000, 0, 260_000_000), ("proj_b", 1_200_000_000, 500_000_000, 60_000_000)]
