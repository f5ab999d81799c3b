"""Money never passes through a float, in any provider format: an amount of 18 or more significant digits lands
to its last decimal, whether the file writes it as a JSON string, a JSON number or CSV text.

A double holds 15 to 17 significant digits: 987654.321098765432 read through one comes back as
987654.3210987655 (the issue's $98,765.432109876543 landed as …876528). Each case takes a provider fixture,
replaces one amount by a long one and checks that the landed total moves by exactly the difference, worked out
by hand in the comment."""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.settings import load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
D = Decimal


@dataclass(frozen=True)
class Case:
    fixture: str
    old: str  # the amount as the fixture writes it (with enough context to be unique)
    new: str
    delta: Decimal  # new - old, by hand, in the column's unit
    column: str = "billed_cost_usd"
    table: str = "provider_costs"


CASES = {
    # 123456.789012345678 - 0.0018 = 123456.787212345678
    "openai-page-json-number": Case("openai/costs_pages.jsonl", '"value":0.0018,', '"value":123456.789012345678,',
                                     D("123456.787212345678")),
    # 987654.321098765432 - 0.00375 = 987654.317348765432
    "openai-page-json-string": Case("openai/costs_pages.jsonl", '"value":"0.00375"', '"value":"987654.321098765432"',
                                     D("987654.317348765432")),
    # 198765.432109876543 - 0.00375 = 198765.428359876543
    "openai-dashboard-csv": Case("openai/dashboard_costs.csv", ",0.00375,", ",198765.432109876543,",
                                D("198765.428359876543")),
    # cents: 98765432109.876543210 - 123.78912 = 98765431986.087423210 cents = $987654319.8608742321
    "anthropic-cost-report-cents": Case("anthropic/cost_report.json", '"amount": "123.78912"',
                                         '"amount": "98765432109.876543210"', D("987654319.8608742321")),
    # cost 0.6 -> 123456.789012345678: + 123456.189012345678
    "gcp-billing-json-cost-number": Case("google/billing_export.jsonl", '"cost": 0.6,',
                                               '"cost": 123456.789012345678,', D("123456.189012345678")),
    # credit -0.1 -> -123456.789012345678 (net = cost + credits): -123456.689012345678
    "gcp-billing-json-credit-number": Case("google/billing_export.jsonl", '"FreeTrial", "amount": -0.1,',
                                                   '"FreeTrial", "amount": -123456.789012345678,',
                                                   D("-123456.689012345678")),
    # 31.708 -> 31708123.456789012345 JPY (billed_amount keeps the billing currency): + 31708091.748789012345
    "gcp-billing-csv-yen": Case("google/billing_export.csv", ",31.708,JPY,", ",31708123.456789012345,JPY,",
                                 D("31708091.748789012345"), column="billed_amount"),
    # 0.02469134 -> 187654.321098765432: + 187654.296407425432
    "aws-cur-csv": Case("aws/cur2_bedrock.csv", ",0.02469134,", ",187654.321098765432,", D("187654.296407425432")),
    # costInUsd 0.180075 -> 176543.210987654321: + 176543.030912654321
    "azure-cost-details-csv": Case("azure/cost_details_mca.csv", ",0.180075,0.92,", ",176543.210987654321,0.92,",
                               D("176543.030912654321")),
    # 1.2345678 -> 6543210.987654321098: + 6543209.753086521098
    "openrouter-activity-json-number": Case("openrouter/activity.json", '"usage": 1.2345678,',
                                             '"usage": 6543210.987654321098,', D("6543209.753086521098")),
}


def landed_total(path: Path, home: Path, case: Case) -> Decimal:
    settings = load_settings(home=home)
    result = land_file(path, settings)
    assert result.error is None and result.quarantined == 0, result
    frame = pl.read_parquet(sorted((settings.lake / case.table).rglob("*.parquet")))
    assert frame.schema[case.column] == pl.Decimal(38, 12)
    return frame[case.column].sum()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_long_amount_lands_to_its_last_decimal(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    text = (FIXTURES / case.fixture).read_text(encoding="utf-8-sig")
    assert text.count(case.old) == 1, f"{case.old!r} is not once in {case.fixture}"
    changed = tmp_path / ("long-" + Path(case.fixture).name)
    changed.write_text(text.replace(case.old, case.new), encoding="utf-8")
    before = landed_total(FIXTURES / case.fixture, tmp_path / "before", case)
    after = landed_total(changed, tmp_path / "after", case)
    assert after - before == case.delta
