"""A call id its log source repeats with different content is never collapsed: both records stay visible
(fct_call_conflicts), neither reaches fct_llm_calls, and a warn-level check reports them with sample rows.
Identical repeats (the same line twice, a file landed again) stay one call."""

from datetime import date

import dagster as dg
import duckdb

from pipelines.ingest.land import land_file
from pipelines.lake.store import committed_files
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day
from pipelines.warehouse.checks import warehouse_checks
from tests.quality.days import land_all, write_day
from tests.conftest import write_jsonl

DAY = date(2026, 11, 10)


def _call(call_id: str, input_tokens: int, **more) -> dict:
    return {"call_id": call_id, "occurred_at": "2026-11-10T09:00:00Z", "provider": "openai", "model": "gpt-4o-mini-2024-07-18",
            "app": "support-bot", "feature": "triage", "input_tokens": input_tokens, "output_tokens": 50, **more}


def _build(settings):
    resources = {"tokenbooks": TokenbooksResource(home=str(settings.home), config_path=str(settings.config_path or ""))}
    return dg.materialize([warehouse_day, warehouse_checks], instance=dg.DagsterInstance.ephemeral(), resources=resources,
                          partition_key=DAY.isoformat(), raise_on_error=False)


def _rows(settings, table: str, sql: str) -> list[tuple]:
    files = committed_files(settings, table, since=DAY, until=DAY)
    return duckdb.sql(sql.replace("{t}", "read_parquet($f)"), params={"f": files}).fetchall()


def test_a_call_id_repeated_with_different_content_is_kept_out_and_reported(home, tmp_path):
    land_all(home, write_day(tmp_path / "day", DAY))  # a clean day: its calls, usage and bill
    first = write_jsonl(tmp_path / "app-a.jsonl", [
        _call("dup-in-file", 1000), _call("dup-in-file", 2000),  # one file, two contents
        _call("same-twice", 700), _call("same-twice", 700),  # one line written twice: one call
        _call("across-files", 300),
    ])
    second = write_jsonl(tmp_path / "app-b.jsonl", [_call("across-files", 900), _call("same-twice", 700)])
    for path in (first, second):
        assert land_file(path, home).error is None

    result = _build(home)

    assert result.success  # a warning, not a blocked run
    calls = dict(_rows(home, "fct_llm_calls", "select call_id, input_tokens from {t} where call_id in "
                                               "('dup-in-file', 'same-twice', 'across-files')"))
    assert calls == {"same-twice": 700}
    conflicts = _rows(home, "fct_call_conflicts", "select call_id, input_tokens, records, source_file, source_line "
                                                   "from {t} order by all")
    assert conflicts == [
        ("across-files", 300, 2, str(first), 5), ("across-files", 900, 2, str(second), 1),
        ("dup-in-file", 1000, 2, str(first), 1), ("dup-in-file", 2000, 2, str(first), 2),
    ]
    check = next(e for e in result.get_asset_check_evaluations()
                 if e.asset_key.to_user_string() == "fct_call_conflicts" and e.check_name == "no_anomalies")
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["failing_rows_total"].value == 4
    sample = check.metadata["failing_rows_sample"].value
    assert sample.count("| dup-in-file |") == 2 and sample.count("| across-files |") == 2
    others = [e for e in result.get_asset_check_evaluations() if not e.passed and e is not check]
    assert not others, [(e.asset_key, e.check_name, e.description) for e in others]


def test_a_day_without_conflicts_passes_the_check(home, tmp_path):
    land_all(home, write_day(tmp_path / "day", DAY))
    path = write_jsonl(tmp_path / "app.jsonl", [_call("once", 10), _call("once", 10)])
    land_file(path, home)
    land_file(path, home, force=True)  # the same file landed again changes nothing

    result = _build(home)

    check = next(e for e in result.get_asset_check_evaluations()
                 if e.asset_key.to_user_string() == "fct_call_conflicts" and e.check_name == "no_anomalies")
    assert check.passed
    assert _rows(home, "fct_llm_calls", "select input_tokens from {t} where call_id = 'once'") == [(10,)]
