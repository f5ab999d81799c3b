"""Check a table's daily partitions against its contract: GX suite plus exact counts in DuckDB.

For the days one run built:

- column types are compared with the contract on each day's files, as an analyst's
  DuckDB reads them;
- every row-level rule is counted exactly over each whole day in DuckDB (one scan
  per day, plus one pass per unique key; :mod:`pipelines.quality.scans`) — these
  counts decide each partition's verdict;
- the GX suite runs once over the run's days together (GX costs ~15 ms of Python per
  expectation per validation whatever the rows, so one validation per table per run,
  not per day), on every row up to ``sample_rows`` and above that on a deterministic
  sample (evenly spread row groups of each file, thinned by key hash). A row-level rule GX finds broken though no
  day's exact count does (the two disagree) fails every day of the run; aggregate
  rules (from ``checks:``) take GX's verdict over the run's days.
- files are read with ``hive_partitioning = false``: DuckDB would otherwise take
  ``day`` from the ``day=D`` folder name and hide a row written to the wrong day.
- a failed rule brings back a few violating rows of the day (key and rule columns).

The cost is measured by ``benchmarks/validation_cost.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from pipelines.contracts import Contract
from pipelines.quality.rules import ERROR, UNIQUE, Rule, contract_rules, quote, violation_sql
from pipelines.quality.scans import SCAN, duplicate_rows, exact_counts, sample_frame
from pipelines.quality.suites import GxOutcome, run_suite

SAMPLE_ROWS = 50_000
EXAMPLE_ROWS = 5
TYPES_RULE = Rule("expect_column_types_to_match_contract", {}, ERROR, why="types as an analyst's DuckDB reads them")


@dataclass
class RuleResult:
    rule: Rule
    passed: bool
    unexpected: int | None = None  # violating rows in the whole partition (row-level rules)
    examples: list[Any] = field(default_factory=list)  # violating values GX saw
    detail: str = ""

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule.name, "severity": self.rule.severity, "expectation": self.rule.expectation}
        if self.unexpected is not None:
            out["unexpected_rows"] = self.unexpected
        if self.examples:
            out["examples"] = self.examples[:EXAMPLE_ROWS]
        if self.detail:
            out["detail"] = self.detail
        if self.rule.why:
            out["why"] = self.rule.why
        return out


@dataclass
class TableReport:
    table: str
    day: date
    rows: int = 0
    validated_rows: int = 0  # rows of this day GX validated
    results: list[RuleResult] = field(default_factory=list)
    failing_rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sampled(self) -> bool:
        return self.validated_rows < self.rows

    def failed(self, severity: str | None = None) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and (severity is None or r.rule.severity == severity)]

    def evaluated(self, severity: str) -> list[RuleResult]:
        return [r for r in self.results if r.rule.severity == severity]


def check_table(
    con: duckdb.DuckDBPyConnection, contract: Contract, files: dict[date, list[str]], sample_rows: int = SAMPLE_ROWS
) -> dict[date, TableReport]:
    """Validate the given days of a table (``files``: each day's committed files); one report per day."""
    started = time.perf_counter()
    reports = {day: TableReport(table=contract.table, day=day) for day in files}
    built = {day: f for day, f in files.items() if f}
    for day in files.keys() - built.keys():
        reports[day].results = [
            RuleResult(Rule("committed_build", {}, ERROR), passed=False, detail=f"no committed build of {contract.table} for {day}")
        ]
    if not built:
        return reports
    schemas = {day: dict(_schema(con, f)) for day, f in built.items()}
    exact = {day: _exact_counts(con, f, contract_rules(contract, [day]), schemas[day]) for day, f in built.items()}
    all_files = [f for day in sorted(built) for f in built[day]]
    union_schema = dict(_schema(con, all_files))
    run_rules = contract_rules(contract, sorted(built))
    total = sum(rows for rows, _ in exact.values())
    gx_rules = [r for r in run_rules if _usable(r, union_schema)]
    if total == 0:
        # No rows: a row-level rule's exact count (0 violations) is its whole verdict and the column set is the
        # files' schema. GX, whose cost is per expectation whatever the rows (and ~5 s to import), is not started:
        # an empty day's checks were most of a night's fixed cost.
        outcomes = {id(r): _schema_outcome(r, union_schema) for r in gx_rules if not r.is_row_level}
        validated = {}
    else:
        frame = sample_frame(con, all_files, contract, union_schema, total, sample_rows)
        outcomes = dict(zip(map(id, gx_rules), run_suite(contract.table, gx_rules, frame)))
        validated = frame[contract.partition].value_counts().to_dict() if contract.partition in frame.columns else {}
    # Row-level rules GX found broken though no day's exact count did (a disagreement, never hidden).
    unexplained = {
        position
        for position in range(len(run_rules))
        if not outcomes.get(id(run_rules[position]), GxOutcome(success=True)).success
        and not any(counts.get(position, (0, 0))[0] for _, counts in exact.values())
    }
    for day in built:
        report = reports[day]
        report.rows, counts = exact[day]
        report.validated_rows = int(validated.get(day.isoformat(), 0)) if validated else (report.rows if total <= sample_rows else 0)
        report.results.append(_types(contract, schemas[day]))
        day_rules = contract_rules(contract, [day])
        for position, (run_rule, day_rule) in enumerate(zip(run_rules, day_rules)):
            gx = outcomes.get(id(run_rule))
            report.results.append(_verdict(day_rule, gx, counts.get(position), schemas[day], report, position in unexplained))
        failed = [r.rule for r in report.failed() if r.rule.is_row_level and _usable(r.rule, schemas[day])]
        report.failing_rows = _failing_rows(con, built[day], contract, failed)
    seconds = (time.perf_counter() - started) / len(reports)
    for report in reports.values():
        report.seconds = seconds
    return reports


def _schema_outcome(rule: Rule, schema: dict[str, str]) -> GxOutcome:
    """A table-level rule on a table with no rows: only the column set has anything to say."""
    if rule.expectation != "expect_table_columns_to_match_set":
        raise ValueError(f"no verdict without rows for {rule.expectation}")  # a new table-level rule: say how
    expected = list(rule.kwargs["column_set"])
    missing = [c for c in expected if c not in schema]
    extra = [c for c in schema if c not in expected] if rule.kwargs.get("exact_match") else []
    return GxOutcome(success=not missing and not extra, examples=missing + extra)


def _usable(rule: Rule, schema: dict[str, str]) -> bool:
    return all(c in schema for c in rule.columns)


def _verdict(
    rule: Rule, gx: GxOutcome | None, count: tuple[int, int] | None, schema: dict[str, str], report: TableReport,
    unexplained: bool,
) -> RuleResult:
    if not _usable(rule, schema):
        missing = ", ".join(c for c in rule.columns if c not in schema)
        return RuleResult(rule, passed=False, detail=f"column missing: {missing}")
    gx = gx or GxOutcome(success=True)
    if count is None:  # not countable in SQL: GX's verdict over the run's days stands for each
        return RuleResult(rule, passed=gx.success, examples=gx.examples, detail=gx.error or "")
    unexpected, nonnull = count
    passed = _within_mostly(rule, unexpected, nonnull)
    detail = f"{unexpected:,} of {report.rows:,} rows" if unexpected else ""
    if gx.error:
        passed, detail = False, f"great expectations raised: {gx.error}"
    elif unexplained and rule.mostly >= 1.0:
        passed, detail = False, f"great expectations: {gx.unexpected} unexpected rows in the run's sample, not in the exact counts"
    return RuleResult(rule, passed=passed, unexpected=unexpected, examples=gx.examples if unexpected else [], detail=detail)


def _schema(con: duckdb.DuckDBPyConnection, files: list[str]) -> list[tuple[str, str]]:
    rows = con.sql(f"describe select * from {SCAN}", params={"files": files}).fetchall()
    return [(r[0], r[1]) for r in rows]


def _norm(t: str) -> str:
    return t.upper().replace(" ", "")


def _types(contract: Contract, schema: dict[str, str]) -> RuleResult:
    wrong = [
        f"{c.name}: {schema[c.name]} (contract {c.type})"
        for c in contract.columns
        if c.name in schema and _norm(schema[c.name]) != _norm(c.type)
    ]
    return RuleResult(TYPES_RULE, passed=not wrong, unexpected=len(wrong) or None, detail="; ".join(wrong))


def _exact_counts(con, files: list[str], rules: list[Rule], schema: dict[str, str]) -> tuple[int, dict[int, tuple[int, int]]]:
    """(rows, {rule position: (violating rows, non-null rows of its column)}) over a whole day."""
    usable = {i: r for i, r in enumerate(rules) if r.is_row_level and _usable(r, schema)}
    rows, out = exact_counts(con, files, {i: r for i, r in usable.items() if r.expectation not in UNIQUE})
    for i, rule in usable.items():
        if rule.expectation in UNIQUE:
            out[i] = (duplicate_rows(con, files, rule.columns), rows)
    return rows, out


def _within_mostly(rule: Rule, count: int, nonnull: int | None) -> bool:
    if rule.mostly >= 1.0 or not nonnull:
        return count == 0
    return count / nonnull <= 1.0 - rule.mostly


def _failing_rows(con, files: list[str], contract: Contract, rules: list[Rule]) -> list[dict[str, Any]]:
    """A few violating rows per failed row-level rule, from the whole day."""
    out: list[dict[str, Any]] = []
    for rule in rules:
        cols = list(dict.fromkeys([*contract.key, *rule.columns]))
        select = ", ".join(quote(c) for c in cols)
        params: dict[str, Any] = {"files": files, "limit": EXAMPLE_ROWS}
        if rule.expectation in UNIQUE:
            part = ", ".join(quote(c) for c in rule.columns)
            sql = (
                f"select {select} from {SCAN}"
                f" qualify count(*) over (partition by {part}) > 1 order by {part} limit $limit"
            )
        else:
            where = violation_sql(rule, "p", params)
            sql = f"select {select} from {SCAN} where {where} limit $limit"
        rel = con.sql(sql, params=params)
        names = rel.columns
        for values in rel.fetchall():
            out.append({"rule": rule.name, **{n: _cell(v) for n, v in zip(names, values)}})
    return out


def _cell(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
