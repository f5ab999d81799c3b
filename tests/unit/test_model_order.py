"""The build order comes from the models' own SQL: every model runs after each model it reads, and a loop or a
name that is no model is refused, naming the models."""

import pytest

from pipelines.contracts import contracts
from pipelines.warehouse.models import (
    MODELS, PUBLISHED, ModelOrderError, build_order, dropped_after, inlined, model_sql, reads, views,
)


def test_every_model_runs_after_each_model_it_reads():
    position = {name: i for i, (_, name) in enumerate(MODELS)}
    for _, name in MODELS:
        for read in reads(model_sql(name)) - {name}:
            assert position[read] < position[name], f"{name} runs before {read}, which it reads"
    # read through a macro: current_facts (models/macros/current_facts.sql) reads stg_model_aliases
    assert position["stg_model_aliases"] < position["stg_provider_costs"]


def test_published_marts_are_the_warehouse_contracts_and_views_follow_them():
    assert set(PUBLISHED) == {name for layer, name in MODELS if layer == "marts"}
    assert set(PUBLISHED) <= set(contracts("warehouse"))
    assert list(views()) == ["mart_finetunes", "mart_unit_economics_weekly"]


def test_a_model_named_in_a_comment_is_not_read():
    sql = "-- int_b: one row per call; mart_x reads it\nselect * from stg_a /* not fct_y either */"
    assert reads(sql) == {"stg_a"}


def test_a_cycle_is_refused_with_both_models_named():
    deps = {
        "int_a": reads("select * from int_b"),
        "int_b": reads("select * from stg_c join int_a using (id)"),
        "stg_c": reads("select 1"),
    }
    with pytest.raises(ModelOrderError, match="cycle") as e:
        build_order(deps)
    assert "int_a" in str(e.value) and "int_b" in str(e.value)


def test_a_model_that_reads_no_model_is_refused():
    with pytest.raises(ModelOrderError, match=r"model int_a reads int_typo, which is no model"):
        build_order({"int_a": reads("select * from int_typo")})


def test_ties_keep_the_rank_order():
    deps = {"mart_z": {"stg_b"}, "stg_b": set(), "stg_a": set(), "int_m": {"stg_a"}}
    rank = {"stg_a": (0,), "stg_b": (0,), "int_m": (1,), "mart_z": (2,)}
    assert build_order(deps, rank) == ["stg_a", "stg_b", "int_m", "mart_z"]


def test_a_models_header_says_how_it_is_built():
    # the day's call records and calls are read where they are used, not copied into tables of gigabytes;
    # the merge of calls seen more than once is computed once
    assert {"stg_calls", "int_calls_merged", "int_calls_priced"} <= inlined()
    assert {"int_call_merges", "int_call_totals"}.isdisjoint(inlined())


def test_no_table_is_dropped_before_a_model_that_reads_it():
    order = [name for _, name in MODELS]
    dropped_at = {t: order.index(m) for m, tables in dropped_after().items() for t in tables}

    def needs(name):  # what a model reads, through the views it reads
        out = set()
        for read in reads(model_sql(name)) - {name}:
            out |= {read} | (needs(read) if read in inlined() else set())
        return out

    for i, name in enumerate(order):
        for table in needs(name) & dropped_at.keys():
            assert dropped_at[table] >= i, f"{table} is dropped before {name}, which reads it"
    # every table of the day is dropped once read, and the call totals before the marts that read only marts
    tables = {n for n in order if n not in inlined() and n not in PUBLISHED}
    assert dropped_at.keys() == tables
    assert dropped_at["int_call_totals"] < order.index("mart_sessions")
