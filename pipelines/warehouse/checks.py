"""Asset checks of the warehouse tables, on every daily partition a run builds.

Per table (generated from its contract, see ``pipelines/quality``):

- ``matches_contract`` — the Great Expectations suite (types, not-null, unique key,
  allowed values, lower bounds, token parts within their whole, days inside the
  partition) plus exact counts over the whole day. Blocking, severity ERROR: a
  violation stops the assets downstream (drift, budgets, digest) for the run.
- ``no_anomalies`` — the contract's ``severity: warn`` checks. Warns, never blocks.

Cross-table invariants (``pipelines/quality/invariants.py``) are checks of the
table they are about: the bill adds up (blocking), usage and cost exports cover the
same providers (warns).

The warehouse multi-asset builds all tables of a day in one step, so the checks
run in one step after it and read each day's committed files. A range run (the
nightly run restates several days) reports one evaluation per check per day:
``AssetCheckResult`` cannot name a partition, so the op yields
``AssetCheckEvaluation``s with ``partition`` set, then one output per check.
Metadata shows the failing counts, the failing expectations and a few failing rows.

``table_checks`` is also how the monitoring layer checks its tables (``pipelines/monitoring/checks.py``).
"""

import warnings
from datetime import date

import dagster as dg

from pipelines.contracts import contract, contracts
from pipelines.db import connect
from pipelines.lake.store import committed_days, committed_files
from pipelines.partitions import daily
from pipelines.quality.invariants import INVARIANTS, InvariantResult, check_invariant
from pipelines.quality.report import markdown_table
from pipelines.quality.rules import ERROR, WARN, contract_rules
from pipelines.quality.tables import TableReport, check_table
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.models import PUBLISHED

CHECKED = [t for t in PUBLISHED if t in contracts("warehouse")]
CHECKED_INVARIANTS = [i for i in INVARIANTS if i.table in CHECKED and set(i.reads) <= set(CHECKED)]
SEVERITY = {ERROR: dg.AssetCheckSeverity.ERROR, WARN: dg.AssetCheckSeverity.WARN}


def _warned(tables: list[str]) -> list[str]:
    return [t for t in tables if any(r.severity == WARN for r in contract_rules(contract(t)))]


def _specs(tables: list[str], warned: list[str], invariants: list) -> list[dg.AssetCheckSpec]:
    specs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # partitioned check specs are a preview feature in Dagster 1.13
        for table in tables:
            specs.append(
                dg.AssetCheckSpec(
                    "matches_contract",
                    asset=table,
                    blocking=True,
                    partitions_def=daily,
                    description=f"Every row matches schemas/warehouse/{table}.yaml (generated GX suite + exact counts).",
                )
            )
            if table in warned:
                specs.append(
                    dg.AssetCheckSpec(
                        "no_anomalies",
                        asset=table,
                        partitions_def=daily,
                        description=f"The warn-level checks of schemas/warehouse/{table}.yaml.",
                    )
                )
        for inv in invariants:
            specs.append(
                dg.AssetCheckSpec(
                    inv.name,
                    asset=inv.table,
                    blocking=inv.severity == ERROR,
                    partitions_def=daily,
                    description=inv.description,
                    additional_deps=[t for t in inv.reads if t != inv.table],
                )
            )
    return specs


def table_checks(name: str, tables: list[str], invariants: list) -> dg.AssetChecksDefinition:
    """One step that checks each day of the run for ``tables``: their contracts and the ``invariants``."""
    warned = _warned(tables)
    specs = _specs(tables, warned, invariants)

    @dg.multi_asset_check(specs=specs, name=name, compute_kind="great_expectations")
    def _checks(context: dg.AssetCheckExecutionContext, tokenbooks: TokenbooksResource):
        settings = tokenbooks.settings
        days = committed_days(settings)
        con = connect(settings)  # the build's memory limit: a 10M-call day is checked within it
        try:
            run_days = [date.fromisoformat(k) for k in context.op_execution_context.partition_keys]
            files = {
                day: {t: committed_files(settings, t, days, since=day, until=day) for t in tables} for day in run_days
            }
            for table in tables:
                reports = check_table(con, contract(table), {day: files[day][table] for day in run_days})
                for day, report in reports.items():
                    yield table_evaluation(report, "matches_contract", ERROR, day.isoformat())
                    if table in warned:
                        yield table_evaluation(report, "no_anomalies", WARN, day.isoformat())
            for day in run_days:
                for inv in invariants:
                    yield invariant_evaluation(check_invariant(con, inv, files[day], day), day.isoformat())
        finally:
            con.close()
        for spec in specs:
            yield dg.Output(None, output_name=spec.get_python_identifier())

    return _checks


# Validates each built day of every warehouse table against its contract and the cross-table invariants.
warehouse_checks = table_checks("warehouse_checks", CHECKED, CHECKED_INVARIANTS)
CHECK_SPECS = list(warehouse_checks.check_specs)


def table_evaluation(report: TableReport, check_name: str, severity: str, partition: str) -> dg.AssetCheckEvaluation:
    rules = report.evaluated(severity)
    failed = report.failed(severity)
    if failed:
        description = f"{len(failed)} of {len(rules)} expectations failed: " + "; ".join(
            f"{r.rule.name}" + (f" ({r.unexpected} rows)" if r.unexpected else "") for r in failed[:5]
        )
    else:
        description = f"{len(rules)} expectations passed on {report.rows:,} rows"
    failing_names = {r.rule.name for r in failed}
    rows = [r for r in report.failing_rows if r["rule"] in failing_names]
    metadata = {
        "rows": dg.MetadataValue.int(report.rows),
        "validated_rows": dg.MetadataValue.int(report.validated_rows),
        "sampled": dg.MetadataValue.bool(report.sampled),
        "expectations": dg.MetadataValue.int(len(rules)),
        "failed_expectations": dg.MetadataValue.int(len(failed)),
        "failing_rows_total": dg.MetadataValue.int(sum(r.unexpected or 0 for r in failed)),
        "failures": dg.MetadataValue.json([r.summary() for r in failed[:20]]),
        "seconds": dg.MetadataValue.float(round(report.seconds, 3)),
    }
    if rows:
        metadata["failing_rows_sample"] = dg.MetadataValue.md(markdown_table(rows))
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(report.table),
        check_name=check_name,
        passed=not failed,
        severity=SEVERITY[severity],
        blocking=severity == ERROR,
        partition=partition,
        metadata=metadata,
        description=description,
    )


def invariant_evaluation(result: InvariantResult, partition: str) -> dg.AssetCheckEvaluation:
    inv = result.invariant
    failing = [r for r in result.rows if not r["passed"]]
    metadata = {
        "comparisons": dg.MetadataValue.int(len(result.rows)),
        "failing": dg.MetadataValue.int(len(failing) if result.rows else 1 - int(result.passed)),
    }
    if result.rows:
        metadata["values"] = dg.MetadataValue.md(markdown_table(result.rows))
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(inv.table),
        check_name=inv.name,
        passed=result.passed,
        severity=SEVERITY[inv.severity],
        blocking=inv.severity == ERROR,
        partition=partition,
        metadata=metadata,
        description=result.detail or inv.description,
    )
