"""Data-quality rules, derived once from a table's contract (``schemas/``).

A :class:`Rule` is one Great Expectations expectation (its type and arguments)
plus a severity: ``error`` is a contract violation (blocks what is downstream),
``warn`` is an anomaly (reported, never blocks). Every rule is derived from the
contract — columns present, the row promises landing validates too
(:func:`pipelines.contracts.row_rules`: non-null, lower bounds, allowed values,
token parts never above their whole), unique key, days inside the partition — or
read from the contract's optional ``checks:`` list
(cross-column rules and anomalies, written as expectations):

    checks:
      - {expectation: expect_column_values_to_be_between, column: cache_hit_rate, min_value: 0, max_value: 1}
      - {expectation: expect_column_values_to_be_in_set, column: is_priced, value_set: [true], mostly: 0.99,
         severity: warn, why: "calls of models with no known list price attract no share of the bill"}

The same rule renders as a GX expectation (:mod:`pipelines.quality.suites`) and as a
SQL predicate that is true for a violating row (:func:`violation_sql`), so exact
counts over a whole day and GX's validation never disagree on what a rule means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipelines.contracts import Contract, row_rules

ERROR, WARN = "error", "warn"
UNIQUE = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
_RULE_KEYS = {"expectation", "severity", "why"}


@dataclass
class Rule:
    expectation: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = ERROR
    why: str = ""

    @property
    def columns(self) -> list[str]:
        kw = self.kwargs
        if "column_list" in kw:
            return list(kw["column_list"])
        if "column_A" in kw:
            return [kw["column_A"], kw["column_B"]]
        return [kw["column"]] if "column" in kw else []

    @property
    def name(self) -> str:
        short = self.expectation.removeprefix("expect_").removeprefix("column_values_to_").removeprefix("column_")
        return f"{short}({', '.join(self.columns)})" if self.columns else short

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))

    @property
    def is_row_level(self) -> bool:
        """Counts violating rows (so an exact count over the whole day exists)."""
        if self.expectation == NO_ROWS:  # "no rows at all": every row violates it; other counts are aggregate
            return self.kwargs.get("value") == 0
        return self.expectation in SQL_RENDERERS or self.expectation in UNIQUE


def contract_rules(contract: Contract, days: list[date] | None = None) -> list[Rule]:
    """Every rule the contract implies; rows must lie in ``days`` (the partitions checked) when given.

    The list has the same rules in the same order whatever ``days`` is, so results for one day
    and for several can be matched by position.
    """
    rules = [
        Rule(
            "expect_table_columns_to_match_set",
            {"column_set": contract.names, "exact_match": False},
            why="every contract column is present (more are welcome)",
        )
    ]
    promised = [r for r in row_rules(contract) if not r.landing_only]
    for r in promised:
        why = contract.column(r.column).description
        if r.kind == "not_null":
            rules.append(Rule("expect_column_values_to_not_be_null", {"column": r.column}, why=why))
        elif r.kind == "min":
            rules.append(Rule("expect_column_values_to_be_between", {"column": r.column, "min_value": r.value}, why=why))
        elif r.kind == "allowed":
            rules.append(Rule("expect_column_values_to_be_in_set", {"column": r.column, "value_set": list(r.value)}))
    if len(contract.key) == 1:
        rules.append(Rule("expect_column_values_to_be_unique", {"column": contract.key[0]}, why=f"grain: {contract.grain}"))
    elif contract.key:
        rules.append(
            Rule("expect_compound_columns_to_be_unique", {"column_list": list(contract.key)}, why=f"grain: {contract.grain}")
        )
    for r in promised:
        if r.kind == "part_of":
            rules.append(
                Rule(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    {"column_A": r.value, "column_B": r.column, "or_equal": True},
                    why=f"{r.column} is a part of {r.value}",
                )
            )
    if days is not None and contract.partition:
        rules.append(
            Rule(
                "expect_column_values_to_be_in_set",
                {"column": contract.partition, "value_set": sorted(days)},
                why="every row belongs to the partition it is stored in",
            )
        )
    for extra in contract.checks:
        rules.append(
            Rule(
                extra["expectation"],
                {k: v for k, v in extra.items() if k not in _RULE_KEYS},
                severity=extra.get("severity", ERROR),
                why=extra.get("why", ""),
            )
        )
    return rules


# ---- SQL: a predicate true for a violating row; identifiers are contract constants, values bound ----


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _between(kw: dict[str, Any], p: str, params: dict[str, Any]) -> str:
    c, parts = quote(kw["column"]), []
    if kw.get("min_value") is not None:
        params[p + "_min"] = kw["min_value"]
        parts.append(f"{c} {'<=' if kw.get('strict_min') else '<'} ${p}_min")
    if kw.get("max_value") is not None:
        params[p + "_max"] = kw["max_value"]
        parts.append(f"{c} {'>=' if kw.get('strict_max') else '>'} ${p}_max")
    return " or ".join(parts) or "false"


def _in_set(kw: dict[str, Any], p: str, params: dict[str, Any]) -> str:
    params[p] = list(kw["value_set"])
    return f"not list_contains(${p}, {quote(kw['column'])})"


def _pair(kw: dict[str, Any], p: str, params: dict[str, Any]) -> str:
    op = "<" if kw.get("or_equal") else "<="
    return f"{quote(kw['column_A'])} {op} {quote(kw['column_B'])}"


# A table that should stay empty (fct_call_conflicts): with value 0 each of its rows is a violation, counted
# and shown like any row-level rule's.
NO_ROWS = "expect_table_row_count_to_equal"

SQL_RENDERERS = {
    NO_ROWS: lambda kw, p, params: "true",
    "expect_column_values_to_not_be_null": lambda kw, p, params: f"{quote(kw['column'])} is null",
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair,
}


def violation_sql(rule: Rule, p: str, params: dict[str, Any]) -> str:
    """SQL predicate true for a row that breaks ``rule`` (null-safe like GX: a null is not a violation
    except for not-null). Parameters it needs are added to ``params`` under names starting with ``p``."""
    return SQL_RENDERERS[rule.expectation](rule.kwargs, p, params)
