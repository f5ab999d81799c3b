"""The build order comes from the models' own SQL: every model runs after each model it reads, and a loop or a
name that is no model is refused, naming the models."""

import pytest

from pipelines.contracts import contracts
from pipelines.warehouse.models import MODELS, PUBLISHED, ModelOrderError, build_order, model_sql, reads, views


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
