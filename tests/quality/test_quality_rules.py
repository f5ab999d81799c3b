"""The rules come from the contracts, once: every promise a contract makes becomes one expectation."""

from datetime import date

import pytest

from pipelines.contracts import contract, contracts
from pipelines.quality.rules import ERROR, WARN, Rule, contract_rules, violation_sql
from pipelines.quality.suites import expectation

DAY = date(2026, 11, 10)


def by_name(rules: list[Rule]) -> dict[str, Rule]:
    return {r.name: r for r in rules}


def test_column_rules_follow_the_contract_columns():
    c = contract("fct_llm_calls")
    rules = by_name(contract_rules(c, [DAY]))
    for col in c.columns:
        assert (f"not_be_null({col.name})" in rules) == (not col.nullable)
        assert (f"be_between({col.name})" in rules) == (col.min is not None)
    assert rules["be_in_set(model_tier)"].kwargs["value_set"] == ["frontier", "mid", "small", "unknown"]
    assert rules["be_between(attributed_cost_usd)"].kwargs == {"column": "attributed_cost_usd", "min_value": 0}
    assert rules["be_unique(call_id)"].severity == ERROR


def test_token_parts_day_partition_and_compound_keys():
    rules = by_name(contract_rules(contract("fct_llm_calls"), [DAY]))
    pairs = {(r.kwargs["column_A"], r.kwargs["column_B"]) for r in rules.values() if "column_A" in r.kwargs}
    assert pairs == {
        ("input_tokens", "cached_input_tokens"),
        ("input_tokens", "cache_write_tokens"),
        ("cache_write_tokens", "cache_write_1h_tokens"),
        ("output_tokens", "reasoning_tokens"),
    }
    day_rules = [r for r in contract_rules(contract("fct_llm_calls"), [DAY]) if r.kwargs.get("column") == "day"]
    assert any(r.kwargs.get("value_set") == [DAY] for r in day_rules)
    recon = by_name(contract_rules(contract("fct_reconciliation")))
    assert recon["compound_columns_to_be_unique(day, provider, model, owner)"].kwargs["column_list"] == [
        "day", "provider", "model", "owner"
    ]


def test_contract_checks_list_adds_cross_column_rules_and_warnings():
    rules = contract_rules(contract("fct_llm_calls"))
    warn = [r for r in rules if r.severity == WARN]
    assert [(r.expectation, r.kwargs["column"], r.mostly) for r in warn] == [
        ("expect_column_values_to_be_in_set", "is_priced", 0.99)
    ]
    assert "severity" not in warn[0].kwargs and "why" not in warn[0].kwargs


def test_same_rules_in_the_same_order_for_one_day_or_many():
    c = contract("mart_cost_daily")
    one, many = contract_rules(c, [DAY]), contract_rules(c, [DAY, date(2026, 11, 11)])
    assert [r.name for r in one] == [r.name for r in many]


@pytest.mark.parametrize("table", sorted({**contracts("lake"), **contracts("warehouse")}))
def test_every_contract_makes_a_valid_great_expectations_suite(table):
    """GX validates each expectation's arguments: a typo in a contract's checks: list fails here, not at night."""
    for i, rule in enumerate(contract_rules(contract(table), [DAY])):
        assert expectation(rule, i).meta["rule"] == i


def test_sql_binds_values_and_quotes_identifiers():
    params = {}
    rule = Rule("expect_column_values_to_be_in_set", {"column": 'we"ird', "value_set": ["a'; drop table x; --"]})
    sql = violation_sql(rule, "p0", params)
    assert sql == 'not list_contains($p0, "we""ird")'
    assert params == {"p0": ["a'; drop table x; --"]}
    between = violation_sql(Rule("expect_column_values_to_be_between", {"column": "c", "min_value": 0, "max_value": 1}), "p1", params)
    assert between == '"c" < $p1_min or "c" > $p1_max' and params["p1_max"] == 1
