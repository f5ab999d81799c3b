"""Serving endpoints by hand: a self-hosted endpoint on one GPU instance and a Bedrock provisioned-throughput
commitment, their lines from a CUR and their calls from a canonical log, every figure worked out below.

llama-chat (g5.12xlarge, tagged endpoint=llama-chat, $120 a day, capacity 100,000 tokens per instance-hour):
  Monday: 3 calls, 480,000 tokens; capacity 24 h × 100,000 = 2,400,000 -> utilisation 0.2, the calls carry
  $120 × 0.2 = $24 in proportion to their tokens ($12, $9, $3), $96 idle; $250 per 1M tokens; at gpt-4o-mini
  ($0.15 / $0.60 per 1M) the same tokens cost 400,000 × 0.15e-6 + 80,000 × 0.60e-6 = $0.108, break-even
  120 × 480,000 / 0.108 = 533,333,333 tokens a day.
  Sunday: no calls: all $120 idle, owned by the endpoint.
haiku-pt (provisioned throughput, mapped by resource id, $1,008 for 24 model-unit hours, 1,000,000 tokens per
  model-unit hour): 2 calls logged with the provisioned model's ARN, 6,000,000 tokens of 24,000,000 -> $252
  carried, $756 idle.
An untagged p4d instance is no endpoint's: it stays the bill's, unattributed, as before.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.db import open_warehouse
from pipelines.reporting.digest import load_digest, render
from pipelines.reporting.doctor import diagnose
from pipelines.settings import Recipient, load_settings
from pipelines.warehouse.build import build_day
from tests.conftest import land_and_build
from tests.quality.days import committed_problems

MONDAY, SUNDAY = date(2026, 6, 1), date(2026, 5, 31)
PT_ARN = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/pt0abc"
EC2 = {"product_name": "Amazon Elastic Compute Cloud", "servicecode": "AmazonEC2"}
BEDROCK = {"product_name": "Amazon Bedrock", "servicecode": "AmazonBedrock"}
CONFIG = f"""
endpoints:
  llama-chat:
    models: [llama-3.1-70b]
    capacity_tokens_per_hour: 100000
    reference_model: openai/gpt-4o-mini
    app: support-bot
  haiku-pt:
    provider: aws
    resources: ["{PT_ARN}"]
    models: ["{PT_ARN}"]
    capacity_tokens_per_hour: 1000000
"""


def cur(path: Path) -> None:
    header = ["line_item_usage_start_date", "line_item_line_item_type", "line_item_product_code", "line_item_usage_type",
              "line_item_usage_amount", "line_item_unblended_cost", "line_item_currency_code", "line_item_resource_id",
              "pricing_unit", "product", "resource_tags"]
    rows = [
        (f"{day}T00:00:00Z", "Usage", "AmazonEC2", "USE1-BoxUsage:g5.12xlarge", "24", "120", "USD", "i-0gpu1", "Hrs",
         json.dumps(EC2), json.dumps({"user_endpoint": "llama-chat"}))
        for day in (SUNDAY, MONDAY)
    ] + [
        (f"{MONDAY}T00:00:00Z", "Usage", "AmazonEC2", "USE1-BoxUsage:p4d.24xlarge", "1", "32.77", "USD", "i-0gpu2",
         "Hrs", json.dumps(EC2), "{}"),
        (f"{MONDAY}T00:00:00Z", "Usage", "AmazonBedrock", "USE1-ProvisionedThroughput-NoCommit-ModelUnits", "24", "1008",
         "USD", PT_ARN, "Hrs", json.dumps(BEDROCK), "{}"),
    ]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def calls(path: Path) -> None:
    def call(i: int, at: str, provider: str, model: str, inp: int, out: int) -> dict:
        return {"call_id": f"c{i}", "occurred_at": f"{MONDAY}T{at}Z", "provider": provider, "model": model,
                "app": "support-bot", "feature": "reply", "input_tokens": inp, "output_tokens": out, "status": "ok"}
    rows = [
        call(1, "10:00:00", "self_hosted", "llama-3.1-70b", 200_000, 40_000),
        call(2, "11:00:00", "self_hosted", "llama-3.1-70b", 150_000, 30_000),
        call(3, "11:30:00", "self_hosted", "llama-3.1-70b", 50_000, 10_000),
        call(4, "12:00:00", "aws", PT_ARN, 2_500_000, 500_000),
        call(5, "13:00:00", "aws", PT_ARN, 2_500_000, 500_000),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("endpoints") / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text(CONFIG)
    settings = load_settings(home=home)
    cur(home / "cur.csv")
    calls(home / "calls.jsonl")
    land_and_build(settings, [home / "cur.csv", home / "calls.jsonl"], (SUNDAY, MONDAY))
    return settings


def rows(settings, sql: str) -> list[tuple]:
    con = open_warehouse(settings)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_mart_endpoints(built) -> None:
    got = {
        (d, e): r for d, e, *r in rows(built, """
            select day, endpoint, endpoint_kind, provider, billed_by, usage_hours, cost_usd, calls, tokens_served,
                   cost_per_mtok_usd, capacity_tokens, utilisation, attributed_cost_usd, idle_cost_usd, idle_share,
                   reference_cost_usd, breakeven_tokens_per_day
            from mart_endpoints""")
    }
    assert set(got) == {(MONDAY, "llama-chat"), (SUNDAY, "llama-chat"), (MONDAY, "haiku-pt")}
    assert got[(MONDAY, "llama-chat")] == [
        "compute", "self_hosted", "aws", Decimal("24"), Decimal("120"), 3, 480_000, Decimal("250"), Decimal("2400000"),
        0.2, Decimal("24"), Decimal("96"), 0.8, Decimal("0.108"), 533_333_333]
    assert got[(SUNDAY, "llama-chat")][4:12] == [
        Decimal("120"), 0, 0, None, Decimal("2400000"), 0.0, Decimal("0"), Decimal("120")]
    assert got[(MONDAY, "haiku-pt")][:14] == [
        "provisioned", "aws", "aws", Decimal("24"), Decimal("1008"), 2, 6_000_000, Decimal("168"), Decimal("24000000"),
        0.25, Decimal("252"), Decimal("756"), 0.75, None]


def test_calls_carry_their_tokens_share_and_the_idle_rest_is_the_endpoints(built) -> None:
    attributed = dict(rows(built, "select call_id, attributed_cost_usd from fct_llm_calls"))
    assert attributed == {"c1": Decimal("12"), "c2": Decimal("9"), "c3": Decimal("3"),
                          "c4": Decimal("126"), "c5": Decimal("126")}
    assert dict(rows(built, "select call_id, endpoint from fct_llm_calls")) == {
        "c1": "llama-chat", "c2": "llama-chat", "c3": "llama-chat", "c4": "haiku-pt", "c5": "haiku-pt"}
    recon = {(d, p, m): r for d, p, m, *r in rows(built, """
        select day, provider, model, unattributed_owner, owner_app, billed_cost_usd, attributed_cost_usd,
               unattributed_cost_usd, gap_reason
        from fct_reconciliation""")}
    assert recon[(SUNDAY, "self_hosted", "llama-chat")] == [
        "endpoint:llama-chat", "support-bot", Decimal("120"), Decimal("0"), Decimal("120"), "idle_capacity"]
    assert recon[(MONDAY, "self_hosted", "llama-chat")][2:] == [Decimal("120"), Decimal("24"), Decimal("96"), "idle_capacity"]
    assert recon[(MONDAY, "aws", "haiku-pt")][0] == "endpoint:haiku-pt"
    # The untagged GPU instance is nobody's endpoint: the bill's, unattributed, as any line no call explains.
    assert recon[(MONDAY, "aws", "(non-model)")][2:4] == [Decimal("32.77"), Decimal("0")]


def test_the_books_still_balance(built) -> None:
    """attributed + unattributed = billed per day and provider, the calls add up to it: every invariant holds."""
    assert committed_problems(built) == []


def test_digest_always_on_section(built) -> None:
    """Monday's digest: haiku-pt idle $756 of $1,008 (25 % used, $168 per 1M tokens) before llama-chat $96 of $120
    (20 %, $250); the week to Monday adds Sunday's idle llama-chat: $216 of $240, 480,000 of 4,800,000 tokens
    (10 %), $500 per 1M, one idle day. A recipient whose apps own no endpoint does not see the section."""
    day = load_digest(built, MONDAY)
    got = [(e["endpoint"], e["cost_usd"], e["idle_cost_usd"], e["utilisation"], e["cost_per_mtok_usd"], e["idle_days"])
           for e in day.always_on]
    assert got == [("haiku-pt", Decimal("1008"), Decimal("756"), 0.25, Decimal("168"), 0),
                   ("llama-chat", Decimal("120"), Decimal("96"), 0.2, Decimal("250"), 0)]
    week = {e["endpoint"]: e for e in load_digest(built, MONDAY, weekly=True).always_on}["llama-chat"]
    assert (week["cost_usd"], week["idle_cost_usd"], week["utilisation"], week["cost_per_mtok_usd"],
            week["idle_days"], week["app"]) == (Decimal("240"), Decimal("216"), 0.1, Decimal("500"), 1, "support-bot")
    text, html = render(day, "digest.txt.j2"), render(day)
    assert "Always-on capacity" in text and "idle $756.00 of $1,008.00, 25 % used, $168.00 per 1M tokens" in text
    assert "Always-on capacity" in html and "llama-chat" in html
    other = load_digest(built, MONDAY, recipient=Recipient("sally@example.com", apps=("sales-copilot",)))
    assert other.always_on == [] and "Always-on" not in render(other, "digest.txt.j2") + render(other)


def test_an_endpoints_calls_are_not_unpriced_models(built) -> None:
    """They carry the endpoint's hourly cost, not a list price: doctor does not ask for an alias or a price for
    them, the digest does not count them as unpriced, the build does not warn of them."""
    assert build_day(MONDAY, built).unpriced_models == []
    con = open_warehouse(built)
    try:
        assert diagnose(con, SUNDAY, MONDAY).unresolved_models == []
    finally:
        con.close()
    assert load_digest(built, MONDAY).unpriced_calls == 0
