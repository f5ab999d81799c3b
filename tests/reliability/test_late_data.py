"""Late and revised data: a re-landed export for a past day replaces that day's rows, never adds to them, and the
nightly restatement window picks it up.

The runs are the nightly schedule's own run requests (its partition range), executed with the real warehouse
asset and its checks.
"""

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import dagster as dg

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.nightly import nightly_schedule_factory
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import warehouse_checks
from tests.quality.days import build, cost_line, land_all, page, write_day

DAY = date(2026, 11, 20)


def nightly(settings, night: datetime, instance=None):
    """What the schedule starts at ``night``: its restatement range, built (and checked, given an instance)."""
    resources = {"tokenbooks": TokenbooksResource(home=str(settings.home))}
    request = nightly_schedule_factory()(dg.build_schedule_context(scheduled_execution_time=night, resources=resources))
    if instance is None:  # the same days through the functions the asset calls, without the checks' cost
        first = date.fromisoformat(request.tags["dagster/asset_partition_range_start"])
        last = date.fromisoformat(request.tags["dagster/asset_partition_range_end"])
        build(settings, [first + timedelta(days=i) for i in range((last - first).days + 1)])
        return None
    result = dg.materialize([warehouse_day, warehouse_checks], instance=instance, resources=resources, tags=request.tags)
    assert result.success
    failed = [(e.check_name, e.severity) for e in result.get_asset_check_evaluations() if not e.passed]
    assert all(severity == dg.AssetCheckSeverity.WARN for _, severity in failed), failed  # days without exports warn
    return result


def day_costs(settings, day: date) -> tuple[int, Decimal, Decimal]:
    con = open_warehouse(settings)
    try:
        lines, billed = con.sql(
            "select count(*), sum(billed_cost_usd) from fct_provider_costs where day = $d", params={"d": day}
        ).fetchall()[0]
        recon = con.sql("select sum(billed_cost_usd) from fct_reconciliation where day = $d", params={"d": day}).fetchall()[0][0]
        return lines, billed, recon
    finally:
        con.close()


def file_total(path) -> Decimal:
    doc = json.loads(path.read_text())
    return sum(Decimal(str(r["amount"]["value"])) for b in doc["data"] for r in b["results"])


def test_a_revised_cost_export_replaces_the_day_in_the_next_nightly_run(home, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    calls, usage, costs = write_day(tmp_path / "first", DAY, discount="0.9")
    land_all(home, [calls, usage, costs])
    nightly(home, datetime(2026, 11, 21, 3, tzinfo=timezone.utc), instance)
    lines, billed, recon = day_costs(home, DAY)
    assert (lines, billed, recon) == (7, file_total(costs), file_total(costs))

    # Two days later OpenAI's costs for DAY are revised: new amounts, and a line that was missing.
    revised = tmp_path / "revised" / "costs.json"
    revised.parent.mkdir()
    doc = json.loads(costs.read_text())
    results = doc["data"][0]["results"]
    for r in results:
        r["amount"]["value"] = str((Decimal(str(r["amount"]["value"])) * Decimal("0.8")).quantize(Decimal("0.000001")))
    results.append(cost_line("code interpreter sessions", "0.03"))
    revised.write_text(json.dumps(page(DAY, results)))
    result = land_file(revised, home)
    assert result.error is None and result.days == [DAY.isoformat()] and result.landed == 8

    nightly(home, datetime(2026, 11, 23, 3, tzinfo=timezone.utc), instance)  # restates 11-19 .. 11-22
    lines, billed, recon = day_costs(home, DAY)
    assert (lines, billed, recon) == (8, file_total(revised), file_total(revised))  # replaced, not added
    assert billed != file_total(costs)

    assert land_file(revised, home).already_landed  # the same export again changes nothing
    nightly(home, datetime(2026, 11, 23, 3, tzinfo=timezone.utc))
    assert day_costs(home, DAY) == (lines, billed, recon)


def test_a_bill_that_arrives_late_is_picked_up_by_the_restatement(home, tmp_path):
    calls, usage, costs = write_day(tmp_path / "in", DAY)
    land_all(home, [calls, usage])
    nightly(home, datetime(2026, 11, 21, 3, tzinfo=timezone.utc))
    con = open_warehouse(home)
    assert con.sql("select distinct cost_basis from fct_llm_calls").fetchall() == [("list",)]
    con.close()

    land_all(home, [costs])
    nightly(home, datetime(2026, 11, 22, 3, tzinfo=timezone.utc))
    con = open_warehouse(home)
    assert con.sql("select distinct cost_basis from fct_llm_calls").fetchall() == [("billed",)]
    billed = con.sql("select sum(billed_cost_usd) from fct_reconciliation where day = $d", params={"d": DAY}).fetchall()[0][0]
    con.close()
    assert billed == file_total(costs)
