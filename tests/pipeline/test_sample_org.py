"""The whole pipeline on a small generated organisation: sample -> landing -> Dagster build -> warehouse.

The money adds up against the generator's ground truth (computed independently with genai-prices'
calc_price), the bill reconciles per day to the cent, and the reconciliation finds exactly the gaps the
generator planted — the batch job, the playground workspace, the unlogged retries — with their owners and
amounts, and nothing else.
"""

from datetime import date
from decimal import Decimal

import pytest

from pipelines.contracts import contracts
from pipelines.sample import SampleSpec
from tests.pipeline.orgs import built_org

CENT = Decimal("0.01")
SPEC = SampleSpec(days=8, calls_per_day=500, seed=11)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    with built_org(tmp_path_factory.mktemp("org"), SPEC) as built:
        yield built


def test_every_file_lands_whole(org):
    _, truth, landed, _ = org
    assert not [r.error for r in landed if r.error]
    assert sum(r.quarantined for r in landed) == 0


def test_list_cost_and_call_counts_equal_the_ground_truth(org):
    _, truth, _, con = org
    for day in truth.days:
        listed, calls = con.execute(
            "select sum(list_cost_usd), count(*) from fct_llm_calls where day = $d", {"d": day.day}
        ).fetchone()
        assert calls == day.logged_calls
        assert abs(listed - day.logged_list_cost_usd) < CENT, day.day


def test_billed_per_day_equals_the_exports_and_reconciles_to_the_cent(org):
    _, truth, _, con = org
    for day in truth.days:
        billed = con.execute("select sum(billed_cost_usd) from fct_provider_costs where day = $d", {"d": day.day}).fetchone()[0]
        assert abs(billed - (day.billed_total_usd + day.credits_usd)) < CENT
        a, u, b = con.execute(
            "select sum(attributed_cost_usd), sum(unattributed_cost_usd), sum(billed_cost_usd) "
            "from fct_reconciliation where day = $d",
            {"d": day.day},
        ).fetchone()
        assert a + u == b == billed
        calls_attributed = con.execute(
            "select sum(attributed_cost_usd) from fct_llm_calls where day = $d", {"d": day.day}
        ).fetchone()[0]
        assert abs(calls_attributed - a) < CENT


def test_reconciliation_finds_exactly_the_planted_gaps(org):
    _, truth, _, con = org
    rows = {
        (str(r[0]), r[1], r[2], r[3]): r[4:]
        for r in con.execute(
            "select day, provider, model, owner, unattributed_cost_usd, gap_reason, unattributed_owner from fct_reconciliation"
        ).fetchall()
    }
    expected_reason = {"batch_job": "no_call_logs", "outside_app": "no_call_logs", "unlogged_retries": "billed_not_logged"}
    planted = set()
    assert {g.kind for g in truth.gaps} == set(expected_reason)
    for gap in truth.gaps:
        key = (gap.day, gap.provider, gap.model, gap.owner)
        assert key in rows, f"planted {gap.kind} not found: {key}"
        unattributed, reason, owner = rows[key]
        assert reason == expected_reason[gap.kind], key
        assert owner == gap.owner
        assert abs(unattributed - gap.amount_usd) < CENT, (key, unattributed, gap.amount_usd)
        planted.add(key)
    others = {k: v for k, v in rows.items() if k not in planted and abs(v[0]) >= CENT}
    assert others == {}, f"unattributed spend the generator did not plant: {others}"


def test_every_money_column_is_decimal_and_every_grain_is_unique(org):
    _, _, _, con = org
    for name, c in contracts("warehouse").items():
        types = dict(con.execute(f"select column_name, column_type from (describe {name})").fetchall())
        for col in c.columns:
            if col.name.endswith("_usd"):
                assert types[col.name] == "DECIMAL(38,12)", (name, col.name)
        if c.key:
            keys = ", ".join(c.key)
            dupes = con.execute(
                f"select count(*) from (select {keys} from {name} group by all having count(*) > 1)"
            ).fetchone()[0]
            assert dupes == 0, f"{name}: grain ({keys}) not unique"


def test_the_digest_is_written_for_each_day(org):
    settings, truth, _, _ = org
    last = SPEC.end_day.isoformat()
    html = (settings.outbox / f"digest-{last}.html").read_text()
    assert "support-bot" in html and "(unattributed)" in html


def test_whatif_reprices_the_drifting_feature(org):
    _, truth, _, con = org
    from pipelines.reporting.whatif import reprice

    result = reprice(con, truth.drift.feature, "openai", "gpt-4o-mini", False, SPEC.first_day, SPEC.end_day)
    assert result.requests > 0 and Decimal(0) < result.whatif_usd < result.current_list_usd
    cheaper = con.execute(
        "select sum(saving_usd) from mart_whatif where feature = $f and scenario = 'model:openai/gpt-4o-mini'",
        {"f": truth.drift.feature},
    ).fetchone()[0]
    assert abs(cheaper - result.saving_usd) < CENT
    # A negotiated discount in tokenbooks.yaml's price_overrides is what the target would really cost.
    discounted = reprice(con, truth.drift.feature, "openai", "gpt-4o-mini", False, SPEC.first_day, SPEC.end_day,
                         overrides=[{"provider": "openai", "model": "gpt-4o-mini", "discount_pct": 40}])
    assert discounted.whatif_usd == result.whatif_usd * Decimal("0.6")


def test_the_readme_queries_run_and_answer(org):
    """Every SQL block in the README runs on the warehouse and returns rows."""
    import re

    from pipelines.settings import PROJECT_ROOT

    _, truth, _, con = org
    readme = (PROJECT_ROOT / "README.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", readme, flags=re.S)
    # Queries on the warehouse; those on an exported file (the FOCUS example) are the export tests' business.
    queries = [q.strip() for block in blocks for q in block.split(";") if "select" in q and "read_parquet(" not in q]
    assert len(queries) >= 5
    # The README speaks of "this week"/"last month" relative to today; pin today to the sample's last day + 1.
    pinned = SPEC.end_day.isoformat()
    for q in queries:
        sql = q.replace("current_date", f"(date '{pinned}' + 1)")
        sql = sql.replace("date_trunc('month', (date '" + pinned + "' + 1)) - interval 1 month",
                          f"date_trunc('month', date '{pinned}')")
        sql = sql.replace("date_trunc('month', (date '" + pinned + "' + 1))", f"(date '{pinned}' + 1)")
        rows = con.execute(sql).fetchall()
        assert rows, f"README query returned nothing:\n{q}"
