"""Each provider fact counts once, through the SQL models: a revised complete delivery retires the lines it no
longer lists, a page set cut short never overrides a complete one, the same usage through two channels counts
once (the best-ranked channel stands, the other is visible in fct_usage_channels), and a Bedrock application
inference profile ARN is resolved to its model from the CUR's own lines.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.settings import Settings, load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish

D = Decimal
DAY = date(2026, 11, 10)
START = 1794268800  # 2026-11-10T00:00:00Z


def land(settings: Settings, path: Path) -> None:
    result = land_file(path, settings)
    assert result.error is None, result.error


def warehouse(settings: Settings) -> duckdb.DuckDBPyConnection:
    build_day(DAY, settings)
    publish(settings)
    return open_warehouse(settings)


def costs_page(path: Path, lines: list[tuple[str, str, str]], has_more: bool = False) -> Path:
    """An OpenAI Costs API page for DAY: (project_id, line_item, amount as a decimal string)."""
    results = [{"object": "organization.costs.result", "amount": {"value": amount, "currency": "usd"},
                "line_item": item, "project_id": project} for project, item, amount in lines]
    page = {"object": "page", "data": [{"object": "bucket", "start_time": START, "end_time": START + 86400,
                                        "results": results}],
            "has_more": has_more, "next_page": "page_2" if has_more else None}
    path.write_text(json.dumps(page))
    return path


ORIGINAL = [
    ("proj_a", "gpt-4o-mini-2024-07-18, input", "0.13224400"),
    ("proj_a", "gpt-4o-mini-2024-07-18, output", "0.20126374"),
    ("proj_b", "gpt-4o-mini-2024-07-18, input", "0.02000000"),
]
# The provider revised the day: the largest line moved from proj_a to proj_b, nothing else changed.
REVISED = [
    ("proj_a", "gpt-4o-mini-2024-07-18, input", "0.13224400"),
    ("proj_b", "gpt-4o-mini-2024-07-18, output", "0.20126374"),
    ("proj_b", "gpt-4o-mini-2024-07-18, input", "0.02000000"),
]


def test_a_revised_bill_that_moves_a_line_replaces_the_day(home: Settings, tmp_path: Path) -> None:
    """The issue's repro: before, the moved line counted under both projects (0.55451148 for 0.35350774)."""
    land(home, costs_page(tmp_path / "costs-1.json", ORIGINAL))
    con = warehouse(home)
    # 0.132244 + 0.20126374 + 0.02 = 0.35350774
    assert con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0] == D("0.35350774")
    con.close()
    land(home, costs_page(tmp_path / "costs-2.json", REVISED))
    con = warehouse(home)
    assert con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0] == D("0.35350774")
    assert con.execute(
        "select project_id, sum(billed_cost_usd) from fct_provider_costs group by all order by 1").fetchall() == [
        ("proj_a", D("0.13224400")), ("proj_b", D("0.22126374"))]  # 0.20126374 + 0.02
    assert con.execute("select sum(attributed_cost_usd + unattributed_cost_usd) from fct_reconciliation").fetchone()[0] \
        == D("0.35350774")


def test_a_page_set_cut_short_never_overrides_a_complete_one(home: Settings, tmp_path: Path) -> None:
    land(home, costs_page(tmp_path / "costs-1.json", ORIGINAL))
    # An interrupted re-pull: page 1 of 2 of a revision that halves one line.
    land(home, costs_page(tmp_path / "costs-2.json", [("proj_a", "gpt-4o-mini-2024-07-18, input", "0.066122")],
                          has_more=True))
    con = warehouse(home)
    assert con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0] == D("0.35350774")


def test_partial_deliveries_add_up_where_no_complete_one_covers_the_day(home: Settings, tmp_path: Path) -> None:
    land(home, costs_page(tmp_path / "p1.json", ORIGINAL[:2], has_more=True))
    land(home, costs_page(tmp_path / "p2.json", ORIGINAL[2:], has_more=True))
    con = warehouse(home)
    assert con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0] == D("0.35350774")


def usage_page(path: Path, rows: list[dict]) -> Path:
    results = [{"object": "organization.usage.completions.result", "input_cached_tokens": 0,
                "num_model_requests": 1, "user_id": None, "batch": False, **r} for r in rows]
    path.write_text(json.dumps({"object": "page", "data": [{"object": "bucket", "start_time": START,
                                                             "end_time": START + 86400, "results": results}],
                                "has_more": False, "next_page": None}))
    return path


def test_usage_through_api_and_dashboard_grouped_differently_counts_once(home: Settings, tmp_path: Path) -> None:
    """The Usage API grouped by project and key, the dashboard's CSV by project only: different line keys, one
    set of facts. The complete delivery landed last stands; the tokens are never doubled."""
    usage_page(tmp_path / "usage.json", [
        {"model": "gpt-4o-mini-2024-07-18", "project_id": "proj_a", "api_key_id": "key_1",
         "input_tokens": 1000, "output_tokens": 100},
        {"model": "gpt-4o-mini-2024-07-18", "project_id": "proj_a", "api_key_id": "key_2",
         "input_tokens": 3000, "output_tokens": 300},
    ])
    csv = tmp_path / "usage.csv"
    csv.write_text(
        "start_time,end_time,start_time_iso,end_time_iso,project_id,num_model_requests,user_id,api_key_id,model,"
        "batch,service_tier,input_tokens,output_tokens,input_cached_tokens\n"
        f"{START},{START + 86400},2026-11-10T00:00:00+00:00,2026-11-11T00:00:00+00:00,proj_a,2.0,,,"
        "gpt-4o-mini-2024-07-18,FALSE,default,4000.0,400.0,0.0\n")
    land(home, tmp_path / "usage.json")
    land(home, csv)
    con = warehouse(home)
    assert con.execute("select sum(input_tokens), sum(output_tokens) from fct_provider_usage").fetchone() == (4000, 400)
    assert con.execute("select source_format from fct_provider_usage").fetchall() == [("openai_usage_csv",)]


CUR_HEADER = ("bill_billing_period_start_date,line_item_usage_start_date,line_item_usage_end_date,line_item_line_item_type,"
              "line_item_product_code,product_servicecode,line_item_usage_type,line_item_operation,line_item_resource_id,"
              "line_item_usage_amount,pricing_unit,line_item_unblended_rate,line_item_unblended_cost,line_item_currency_code,"
              "product_product_family,line_item_usage_account_id,resource_tags\n")
PROFILE = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6"


def test_cur_and_invocation_logs_count_once_and_the_profile_arn_is_resolved(home: Settings, tmp_path: Path) -> None:
    """The same Bedrock calls in the CUR and in the model invocation logs: the CUR (a billing export, rank 2)
    stands before the logs (rank 3); the logs' model, the profile ARN, is the model the CUR bills it as."""
    cur = tmp_path / "cur.csv"
    rows = [
        ("USE1-Claude4.5Haiku-input-tokens", "1500", "0.0000010", "0.0015"),
        ("USE1-Claude4.5Haiku-output-tokens", "300", "0.0000050", "0.0015"),
    ]
    cur.write_text(CUR_HEADER + "".join(
        f"2026-11-01T00:00:00Z,2026-11-10T00:00:00Z,2026-11-10T01:00:00Z,Usage,AmazonBedrock,AmazonBedrock,{ut},"
        f"InvokeModelInference,{PROFILE},{amount},tokens,{rate},{cost},USD,Amazon Bedrock,111122223333,"
        "\"{\"\"user_app\"\": \"\"sales-copilot\"\"}\"\n" for ut, amount, rate, cost in rows))
    logs = tmp_path / "invocations.jsonl"
    logs.write_text("".join(json.dumps({
        "schemaType": "ModelInvocationLog", "schemaVersion": "1.0", "timestamp": f"2026-11-10T00:0{i}:00Z",
        "accountId": "111122223333", "identity": {"arn": "arn:aws:sts::111122223333:assumed-role/app/s"},
        "region": "us-east-1", "requestId": f"req-{i}", "operation": "Converse", "modelId": PROFILE,
        "input": {"inputContentType": "application/json", "inputTokenCount": 500},
        "output": {"outputContentType": "application/json", "outputTokenCount": 100}}) + "\n" for i in range(3)))
    land(home, cur)
    land(home, logs)
    con = warehouse(home)
    assert con.execute("select model, sum(input_tokens), sum(output_tokens) from fct_provider_usage group by all"
                       ).fetchall() == [("claude-haiku-4-5", 1500, 300)]
    channels = con.execute("select channel, model, input_tokens, output_tokens, stands, tokens_vs_standing "
                           "from fct_usage_channels order by channel_rank").fetchall()
    assert channels == [("aws_cur", "claude-haiku-4-5", 1500, 300, True, 0),
                        ("bedrock_invocation_logs", "claude-haiku-4-5", 1500, 300, False, 0)]


# ---- property: the newest complete delivery is the bill ------------------------------------------------------

AMOUNTS = st.decimals(min_value=D("0.000001"), max_value=D("99999.999999"), places=6)
REVISION = st.lists(st.tuples(st.sampled_from(["proj_a", "proj_b", "proj_c"]),
                              st.sampled_from(["gpt-4o-mini-2024-07-18, input", "gpt-4o-mini-2024-07-18, output"]),
                              AMOUNTS), min_size=1, max_size=4, unique_by=lambda t: (t[0], t[1]))
DELIVERY = st.tuples(REVISION, st.booleans())  # (lines, complete?)


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(deliveries=st.lists(DELIVERY, min_size=1, max_size=5).filter(lambda ds: any(c for _, c in ds)))
def test_any_sequence_of_deliveries_bills_the_newest_complete_one(tmp_path_factory, deliveries) -> None:
    """Originals, revisions, repeats and partial pages in any order of arrival: the day is billed what the newest
    complete delivery says (a repeat of content already landed is not a new delivery)."""
    root = tmp_path_factory.mktemp("deliveries")
    settings = load_settings(home=root / "tb")
    settings.ensure_dirs()
    seen, newest = set(), None
    for i, (lines, complete) in enumerate(deliveries):
        content = json.dumps([lines, complete], default=str)
        land(settings, costs_page(root / f"d{i}.json", [(p, li, str(a)) for p, li, a in lines], has_more=not complete))
        if complete and content not in seen:
            newest = lines
        seen.add(content)
    con = warehouse(settings)
    billed = con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0]
    con.close()
    assert billed == sum((a for _, _, a in newest), D(0))


def test_of_partial_deliveries_the_newest_version_of_a_line_stands(home: Settings, tmp_path: Path) -> None:
    """Two cut-short page sets of the same day (no complete one): each line once, at its newest version."""
    land(home, costs_page(tmp_path / "p1.json", ORIGINAL[:2], has_more=True))
    land(home, costs_page(tmp_path / "p2.json", [("proj_a", "gpt-4o-mini-2024-07-18, output", "0.30000000")],
                          has_more=True))
    con = warehouse(home)
    # 0.132244 (first delivery) + 0.30 (the output line's newer version, not 0.20126374 as well)
    assert con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0] == D("0.43224400")
