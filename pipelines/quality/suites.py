"""Great Expectations suites generated from the rules, run on pandas frames.

GX's SQL datasource cannot run against DuckDB (``duckdb-engine`` fails in
``resolve_metric_bundle``, great_expectations#11579), so a partition's data is
read with DuckDB into a pandas frame and validated through GX's pandas
datasource in one ephemeral context per process (a dataframe asset per table, its
batch the whole frame, ``batch.validate(suite)``). Frames are numpy-backed with
money as DOUBLE and dates as ISO text: measured faster than Arrow-backed frames
(GX hashes the whole frame for its batch markers, slowly for Arrow columns, and
maps DECIMAL objects one by one). The float copy is used only to test signs and
bounds; money itself stays DECIMAL everywhere else.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from pipelines.quality.rules import Rule

if TYPE_CHECKING:  # pandas is imported with GX, in the background (suites.warm_up)
    import pandas as pd

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass
class GxOutcome:
    success: bool
    unexpected: int | None = None
    examples: list[Any] = field(default_factory=list)
    error: str | None = None


_warm_up: threading.Thread | None = None


def warm_up() -> None:
    """Import GX and build its context in a background thread, once per process.

    Importing GX is ~5 s of Python (scipy, altair, sqlalchemy, its datasources) that every run of the checks
    pays. The warehouse step calls this first: the import then runs while DuckDB builds the day (DuckDB
    releases the GIL), instead of after it, at the start of the checks.
    """
    global _warm_up
    if _warm_up is None:
        _warm_up = threading.Thread(target=_new_context, name="gx-warm-up", daemon=True)
        _warm_up.start()


def _context():
    if _warm_up is not None and _warm_up is not threading.current_thread():
        _warm_up.join()  # one context, built once, whichever thread got there first
    return _new_context()


@cache
def _new_context():
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    ctx.data_sources.add_pandas("tokenbooks")
    return ctx


def expectation(rule: Rule, position: int):
    """The GX expectation for a rule; ``meta.rule`` maps its result back (GX reorders results)."""
    from great_expectations.expectations.registry import get_expectation_impl

    kwargs = {k: _gx_value(v) for k, v in rule.kwargs.items()}
    if rule.expectation == "expect_column_pair_values_a_to_be_greater_than_b":
        kwargs.setdefault("ignore_row_if", "either_value_is_missing")  # as SQL: a null is not a violation
    return get_expectation_impl(rule.expectation)(**kwargs, meta={"rule": position, "severity": rule.severity})


def run_suite(table: str, rules: list[Rule], frame: pd.DataFrame) -> list[GxOutcome]:
    """Validate ``frame`` against the suite of ``rules``; one outcome per rule, in order."""
    import great_expectations as gx

    ctx = _context()
    source = ctx.data_sources.get("tokenbooks")
    try:
        asset = source.get_asset(table)
    except LookupError:
        asset = source.add_dataframe_asset(table)
    batch_def = next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_dataframe("partition")
    # The suite is built fresh (its day rule changes) and not saved: saving it in the context
    # costs more than validating a small partition.
    suite = gx.ExpectationSuite(name=table, expectations=[expectation(r, i) for i, r in enumerate(rules)])
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "BASIC", "partial_unexpected_count": 5})
    outcomes: list[GxOutcome] = [GxOutcome(success=False, error="not evaluated") for _ in rules]
    for r in result.results:
        info = r.exception_info or {}
        raised = info.get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in info.values()
        )
        res = r.result or {}
        outcomes[int(r.expectation_config.meta["rule"])] = GxOutcome(
            success=bool(r.success),
            unexpected=res.get("unexpected_count"),
            examples=[_plain(v) for v in res.get("partial_unexpected_list") or []],
            error=_exception_message(info) if raised else None,
        )
    return outcomes


def _gx_value(value: Any) -> Any:
    """Values as they appear in the validation frame (dates are ISO text there)."""
    if isinstance(value, list):
        return [_gx_value(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def _exception_message(info: dict) -> str:
    for v in [info, *info.values()]:
        if isinstance(v, dict) and v.get("exception_message"):
            return str(v["exception_message"])[:300]
    return "expectation raised an exception"
