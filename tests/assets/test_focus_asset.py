"""The focus_billing asset: a built day's FOCUS rows land in lake/focus/day=D/, checked against their contract."""

from datetime import date

import dagster as dg
import duckdb

from pipelines.exports.assets import focus_billing
from pipelines.exports.focus import focus_file
from pipelines.resources import TokenbooksResource
from tests.quality.days import build, land_all, write_day

DAY = date(2026, 11, 10)


def materialize(home, day: date) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [focus_billing],
        partition_key=day.isoformat(),
        resources={"tokenbooks": TokenbooksResource(home=str(home.home))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_a_built_day_is_written_to_the_lake_as_focus(home, tmp_path):
    land_all(home, write_day(tmp_path / "in", DAY, n_calls=12))
    build(home, [DAY])
    result = materialize(home, DAY)
    assert result.success
    path = focus_file(home, DAY)
    assert path == home.lake / "focus" / f"day={DAY}" / "focus_billing.parquet"
    con = duckdb.connect()
    rows, billed = con.execute("select count(*), sum(x_BilledCostUsd) from read_parquet($p)",
                               {"p": str(path)}).fetchone()
    meta = result.asset_materializations_for_node("focus_billing")[0].metadata
    assert meta["rows"].value == rows > 0
    # The day's bill, whole: the file's total is fct_provider_costs' (the day's usage, a discount, a web search line).
    costs = next((home.lake / "fct_provider_costs" / f"day={DAY}").glob("*.parquet"))
    total = con.execute("select sum(billed_cost_usd) from read_parquet($f)", {"f": str(costs)}).fetchone()[0]
    assert billed == total
    # Materialising again replaces the file, it does not add to it.
    assert materialize(home, DAY).success
    assert con.execute("select count(*) from read_parquet($p)", {"p": str(path)}).fetchone()[0] == rows


def test_a_day_not_built_fails_with_the_reason(home):
    result = materialize(home, DAY)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert f"{DAY} is not built" in str(failure.step_failure_data.error.message)
    assert not focus_file(home, DAY).exists()
