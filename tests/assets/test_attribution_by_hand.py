"""The bill is spread over logged calls in proportion to list cost; what no call explains stays unattributed.

A tiny day computed by hand (gpt-4o-mini list: $0.15/M input, $0.075/M cached input, $0.60/M output; batch half):

- project proj_app logs two calls: c1 = 1M in + 100k out -> $0.21 list; c2 = 3M in (1M cached) + 300k out -> $0.555.
- The provider saw more in proj_app (billed retries the app never logged): 8M in (1M cached) + 800k out -> $1.605 list,
  billed at a negotiated 10 % off: $1.4445. The calls explain 0.765 / 1.605 of it: $0.6885 attributed
  (c1 $0.189, c2 $0.4995), $0.756 unattributed.
- project proj_batch ran a batch job with no call logs: 2M batch input, billed $0.15, all unattributed, owned by the project.
"""

import json
from datetime import date
from decimal import Decimal

import dagster as dg

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from tests.conftest import call, write_jsonl

DAY = "2026-11-10"
START = 1794268800  # 2026-11-10T00:00:00Z


def usage_page(results):
    return {
        "object": "page",
        "data": [{"object": "bucket", "start_time": START, "end_time": START + 86400, "results": results}],
        "has_more": False,
        "next_page": None,
    }


def usage(project, batch, input_tokens, cached, output, requests):
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "output_tokens": output,
        "input_cached_tokens": cached,
        "input_audio_tokens": 0,
        "output_audio_tokens": 0,
        "num_model_requests": requests,
        "project_id": project,
        "user_id": None,
        "api_key_id": None,
        "model": "gpt-4o-mini-2024-07-18",
        "batch": batch,
    }


def cost(project, line_item, value):
    return {
        "object": "organization.costs.result",
        "amount": {"value": value, "currency": "usd"},
        "line_item": line_item,
        "project_id": project,
    }


def test_hand_computed_attribution(home, tmp_path):
    (home.home / "tokenbooks.yaml").write_text("owners:\n  project:proj_batch: {app: docs-search, team: search}\n")
    landing = tmp_path / "in"
    write_jsonl(
        landing / "calls.jsonl",
        [
            call(call_id="c1", input_tokens=1_000_000, output_tokens=100_000, project_id="proj_app"),
            call(call_id="c2", input_tokens=3_000_000, cached_input_tokens=1_000_000, output_tokens=300_000,
                 project_id="proj_app"),
        ],
    )
    (landing / "usage.json").write_text(json.dumps(usage_page([
        usage("proj_app", False, 8_000_000, 1_000_000, 800_000, 9),
        usage("proj_batch", True, 2_000_000, 0, 0, 40),
    ])))
    (landing / "costs.json").write_text(json.dumps(usage_page([
        cost("proj_app", "gpt-4o-mini-2024-07-18, input", "0.945"),
        cost("proj_app", "gpt-4o-mini-2024-07-18, cached input", "0.0675"),
        cost("proj_app", "gpt-4o-mini-2024-07-18, output", "0.432"),
        cost("proj_batch", "batch | gpt-4o-mini-2024-07-18, input", "0.15"),
    ])))
    for name in ("calls.jsonl", "usage.json", "costs.json"):
        result = land_file(landing / name, home)
        assert result.error is None, result.error
        assert result.quarantined == 0

    outcome = dg.materialize(
        [warehouse_day],
        partition_key=DAY,
        resources={"tokenbooks": TokenbooksResource(home=str(home.home), config_path=str(home.home / "tokenbooks.yaml"))},
    )
    assert outcome.success

    con = open_warehouse(home)
    calls = dict(con.execute("select call_id, attributed_cost_usd from fct_llm_calls order by call_id").fetchall())
    assert calls == {"c1": Decimal("0.189"), "c2": Decimal("0.4995")}
    list_costs = dict(con.execute("select call_id, list_cost_usd from fct_llm_calls").fetchall())
    assert list_costs == {"c1": Decimal("0.21"), "c2": Decimal("0.555")}

    recon = {
        r[0]: r[1:]
        for r in con.execute(
            "select owner, billed_cost_usd, attributed_cost_usd, unattributed_cost_usd, gap_reason, unattributed_owner "
            "from fct_reconciliation"
        ).fetchall()
    }
    assert recon["project:proj_app"] == (
        Decimal("1.4445"), Decimal("0.6885"), Decimal("0.756"), "billed_not_logged", "project:proj_app"
    )
    assert recon["project:proj_batch"] == (
        Decimal("0.15"), Decimal("0"), Decimal("0.15"), "no_call_logs", "project:proj_batch"
    )

    # The invariant, for the day, to the cent (here: exactly).
    attributed, unattributed, billed = con.execute(
        "select sum(attributed_cost_usd), sum(unattributed_cost_usd), sum(billed_cost_usd) from fct_reconciliation"
    ).fetchone()
    assert attributed + unattributed == billed == con.execute(
        "select sum(billed_cost_usd) from fct_provider_costs"
    ).fetchone()[0]
    # mart_cost_daily adds up to the bill: attributed calls plus the (unattributed) rows.
    assert con.execute("select sum(cost_usd) from mart_cost_daily").fetchone()[0] == billed
    assert con.execute("select typeof(cost_usd) from mart_cost_daily limit 1").fetchone()[0] == "DECIMAL(38,12)"
    # The batch job's project belongs to docs-search (tokenbooks.yaml owners): its spend is that app's.
    assert con.execute(
        "select app, sum(cost_usd) from mart_cost_daily where feature = '(unattributed)' and app is not null group by all"
    ).fetchall() == [("docs-search", Decimal("0.15"))]
