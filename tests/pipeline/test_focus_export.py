"""The FOCUS export of a small sample organisation (OpenAI, Anthropic, Google) plus the AWS CUR (Claude on Bedrock,
a credit, a tax and a refund), Azure (billed in EUR) and OpenRouter bills: through `tokenbooks export focus`, it
reproduces the reconciliation to the cent, passes the FinOps Foundation's validator and its own contract, and says
who sold, published and invoiced what.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.db import open_warehouse
from pipelines.cli import main
from pipelines.exports.focus import contract_problems
from pipelines.ingest.land import land_file
from pipelines.ingest.pending import land_pending
from pipelines.sample import SampleSpec, generate
from pipelines.settings import load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish
from tests.pipeline.focus_validator import validate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SPEC = SampleSpec(days=2, calls_per_day=300, seed=11, users=200, tenants=20)
CENT = Decimal("0.01")
DISCOUNT = Decimal("0.85")  # tokenbooks.yaml: gpt-4.1 at 15 % off list


def cur_with_refund(folder: Path) -> Path:
    """The CUR fixture plus a refund of two cents on 2025-06-02 (a copy of its credit line)."""
    lines = (FIXTURES / "aws/cur2_bedrock.csv").read_text(encoding="utf-8").splitlines()
    credit = next(line for line in lines if ",Credit," in line)
    refund = credit.replace("li0009", "li0099").replace(",Credit,", ",Refund,").replace("Credit USE1", "Refund USE1")
    path = folder / "cur-with-refund.csv"
    path.write_text("\n".join([*lines, refund.replace(",-0.01,", ",-0.02,")]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    root = tmp_path_factory.mktemp("focus")
    home = root / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text("price_overrides:\n  - {provider: openai, model: gpt-4.1, discount_pct: 15}\n")
    settings = load_settings(home=home)
    settings.ensure_dirs()
    generate(settings.landing, SPEC)
    days = {date.fromisoformat(d) for r in land_pending(settings) for d in r.days}
    for path in (cur_with_refund(root), FIXTURES / "azure/cost_details_mca.csv", FIXTURES / "openrouter/activity.json"):
        result = land_file(path, settings)
        assert result.error is None, result.error
        days |= {date.fromisoformat(d) for d in result.days}
    for day in sorted(days):
        build_day(day, settings)
    publish(settings)
    out = {}
    for fmt in ("parquet", "csv"):
        out[fmt] = root / f"focus.{fmt}"
        args = ["--home", str(home), "export", "focus", "--from", str(min(days)), "--to", str(max(days)),
                "--format", fmt, "--out", str(out[fmt])]
        assert main(args) == 0
    con = open_warehouse(settings)
    con.execute(f"create temp view focus as select * from read_parquet('{out['parquet']}')")
    yield settings, out, con
    con.close()


def per_day_and_provider(con, sql: str) -> dict:
    return {(d, p): rest for d, p, *rest in con.execute(sql).fetchall()}


def one(con, sql: str):
    return con.execute(sql).fetchall()[0][0]


def test_round_trip_reproduces_the_reconciliation_to_the_cent(org):
    _, _, con = org
    recon = per_day_and_provider(con, """
        select day, provider, sum(billed_cost_usd), sum(attributed_cost_usd), sum(unattributed_cost_usd)
        from fct_reconciliation group by all""")
    export = per_day_and_provider(con, """
        select ChargePeriodStart::date, x_Provider, sum(x_BilledCostUsd),
               coalesce(sum(x_BilledCostUsd) filter (where x_Attribution = 'attributed'), 0),
               coalesce(sum(x_BilledCostUsd) filter (where x_Attribution = 'unattributed'), 0)
        from focus group by all""")
    assert export.keys() <= recon.keys()
    assert {p for _, p in export} == {"openai", "anthropic", "google", "aws", "azure", "openrouter"}
    for key, (billed, attributed, unattributed) in recon.items():
        got = export.get(key, (0, 0, 0))  # a day and provider with calls but no bill yet has no FOCUS rows
        assert got[0] == billed, key  # the bill, exactly
        assert abs(got[1] - attributed) < CENT and abs(got[2] - unattributed) < CENT, key
    # As billed, per currency: the provider's own amounts, exactly (EUR for Azure).
    billed = per_day_and_provider(
        con, "select day, provider, currency, sum(billed_amount) from fct_provider_costs group by all")
    as_billed = per_day_and_provider(
        con, "select ChargePeriodStart::date, x_Provider, BillingCurrency, sum(BilledCost) from focus group by all")
    assert as_billed == billed
    # Every line splits whole: its rows' ratios add up to one.
    assert one(con, """select count(*) from (select x_LineKey from focus group by all
                       having abs(sum(x_AllocatedRatio) - 1) > 1e-9)""") == 0


def test_the_focus_validator_passes_the_csv(org, tmp_path):
    _, out, _ = org
    checks, failed = validate(out["csv"], tmp_path / "report.xml")
    assert checks > 100  # the whole 1.0 rule set ran
    assert failed == []


def test_the_export_matches_its_contract_in_both_formats(org):
    _, out, con = org
    assert contract_problems(duckdb.connect(), {date(2026, 11, 21): [str(out["parquet"])]}) == []
    parquet = con.execute("select count(*), sum(BilledCost), sum(x_BilledCostUsd) from focus").fetchone()
    money = {"BilledCost": "DECIMAL(38,12)", "x_BilledCostUsd": "DECIMAL(38,12)"}
    csv = con.execute("select count(*), sum(BilledCost), sum(x_BilledCostUsd) from read_csv($f, types = $t)",
                      {"f": str(out["csv"]), "t": money}).fetchone()
    assert csv == parquet


def test_who_sold_published_and_invoiced_what(org):
    _, _, con = org
    rows = {r[0]: r[1:] for r in con.execute("""
        select x_Provider || '/' || x_ModelId, ProviderName, PublisherName, InvoiceIssuerName, ServiceProviderName,
               HostProviderName, ServiceName, json_extract_string(SkuPriceDetails, '$.ModelDeveloper')
        from focus where x_ModelId in ('claude-sonnet-4-6', 'gemini-2.5-flash', 'gpt-4o-mini', 'gpt-4.1')
        group by all""").fetchall()}
    aws = "Amazon Web Services"
    assert rows["aws/claude-sonnet-4-6"] == (aws, "Anthropic", aws, aws, aws, "Amazon Bedrock", "Anthropic")
    assert rows["openrouter/gemini-2.5-flash"] == ("OpenRouter", "Google", "OpenRouter", "OpenRouter", "OpenRouter",
                                                  "OpenRouter", "Google")
    assert rows["openai/gpt-4o-mini"] == ("OpenAI", "OpenAI", "OpenAI", "OpenAI", "OpenAI", "OpenAI API", "OpenAI")
    assert rows["azure/gpt-4o-mini"][:3] == ("Microsoft", "OpenAI", "Microsoft")
    assert con.execute("select distinct ServiceCategory, ServiceSubcategory from focus").fetchall() == [
        ("AI and Machine Learning", "Generative AI")]


def test_charge_categories_of_usage_credits_taxes_and_refunds(org):
    _, _, con = org
    kinds = {r[0]: r[1:] for r in con.execute("""
        select x_CostType, ChargeCategory, ChargeClass, sum(BilledCost), count(PricingQuantity)
        from focus where x_Provider = 'aws' and ChargePeriodStart::date between '2025-06-01' and '2025-06-02'
        group by all""").fetchall()}
    assert kinds["credit"][:3] == ("Credit", None, Decimal("-0.01"))
    assert kinds["tax"][:3] == ("Tax", None, Decimal("0.33")) and kinds["tax"][3] == 0  # no quantity on a tax
    assert kinds["refund"][:3] == ("Usage", "Correction", Decimal("-0.02"))  # FOCUS: a refund corrects usage
    assert kinds["tokens"][:2] == ("Usage", None)


def test_billed_in_eur_with_the_usd_view_kept(org):
    _, _, con = org
    eur, usd, view, currency = con.execute("""
        select sum(BilledCost), sum(x_BilledCostUsd), sum(PricingCurrencyEffectiveCost), any_value(BillingCurrency)
        from focus where x_Provider = 'azure' and ChargePeriodStart::date = '2025-06-01'""").fetchone()
    assert (currency, eur, usd, view) == ("EUR", Decimal("0.414069"), Decimal("0.450075"), Decimal("0.450075"))
    # List prices are USD in the price book: converted at the line's own rate for ListCost, kept in USD beside it.
    unit, usd_unit, rate = con.execute("""
        select ListUnitPrice, PricingCurrencyListUnitPrice, BilledCost / x_BilledCostUsd from focus
        where x_Provider = 'azure' and x_TokenType = 'input' and ChargePeriodStart::date = '2025-06-01'""").fetchone()
    assert abs(unit - usd_unit * Decimal(str(rate))) < Decimal("0.000001")


def test_allocation_says_how_each_share_was_computed_and_whose_the_rest_is(org):
    _, _, con = org
    share = con.execute("""
        select AllocatedMethodId, AllocatedResourceId, AllocatedTags, AllocatedMethodDetails, x_App, x_Feature,
               x_TenantId, x_PromptVersion, x_CacheStatus, x_AllocatedRatio
        from focus where x_Attribution = 'attributed' order by x_BilledCostUsd desc limit 1""").fetchone()
    method, resource, tags, details, app, feature, tenant, prompt, cache, ratio = share
    assert method == "tokenbooks-list-cost-proportional"
    assert json.loads(tags) == {"tokenbooks/app": app, "tokenbooks/feature": feature, "tokenbooks/tenant_id": tenant,
                                "tokenbooks/prompt_version": prompt, "tokenbooks/cache_status": cache}
    assert resource == f"{app}/{feature}/{tenant}/{prompt}/{cache}"
    assert Decimal(str(json.loads(details)["Elements"][0]["AllocatedRatio"])) == ratio
    # The planted gaps stay visible with their owners: the playground workspace, the batch job's project.
    owners = {r[0] for r in con.execute("""
        select json_extract_string(AllocatedTags, '$."tokenbooks/owner"') from focus
        where x_Attribution = 'unattributed' and AllocatedResourceId is null""").fetchall()}
    assert {"workspace:wrkspc_playground", "project:proj_DataEnrich5Tx"} <= owners
    # Calls are counted once per share: the export's calls are the billed calls of the day.
    calls = one(con, "select sum(x_Calls) from focus where x_Provider = 'openai'")
    assert calls == one(con, "select count(*) from fct_llm_calls where provider = 'openai' and attributed_cost_usd <> 0")


def test_tokens_list_and_contracted_cost(org):
    _, _, con = org
    # The tokens of a day's lines are the provider's usage export, split with the money.
    usage = per_day_and_provider(con, """select day, provider, sum(input_tokens + output_tokens) from fct_provider_usage
                                         where provider in ('openai', 'google') group by all""")
    tokens = per_day_and_provider(con, """select ChargePeriodStart::date, x_Provider, sum(ConsumedQuantity) from focus
                                          where x_Provider in ('openai', 'google') group by all""")
    assert {k: [round(v[0])] for k, v in tokens.items()} == usage
    units = con.execute("select distinct PricingUnit, ConsumedUnit from focus where ConsumedQuantity is not null")
    assert units.fetchall() == [("1000000 Tokens", "Tokens")]
    # List cost from the price book; the negotiated 15 % on gpt-4.1 is the contracted cost, and only there.
    list_, contracted, unit = con.execute("""
        select sum(ListCost), sum(ContractedCost), any_value(ListUnitPrice)
        from focus
        where x_Provider = 'openai' and x_ModelId = 'gpt-4.1' and x_TokenType = 'input' and not x_IsBatch""").fetchone()
    assert unit == Decimal("2")  # gpt-4.1 input, USD per million tokens
    assert abs(contracted - list_ * DISCOUNT) < CENT / 100
    assert one(con, """select count(*) from focus where (x_Provider, x_ModelId) <> ('openai', 'gpt-4.1')
                       and ChargeCategory = 'Usage' and ContractedCost <> ListCost""") == 0


def test_export_of_days_never_built_is_a_clear_error(org, capsys):
    settings, _, _ = org
    assert main(["--home", str(settings.home), "export", "focus", "--from", "2020-01-01"]) == 2
    assert "no built day between 2020-01-01 and 2020-01-01" in capsys.readouterr().err
