"""What the data-quality checks cost per day of data, against the build of that day.

    python -m benchmarks.validation_cost --rows 1000000 [--full-gx] [--home DIR]

Writes one synthetic day of ``rows`` calls straight into a lake ``calls`` partition
(plus that day's provider usage and cost lines), builds the day with the warehouse
build (``build_day``), then runs exactly what the ``warehouse_checks`` asset check
runs for it: each table's contract check (exact DuckDB counts over the whole day,
GX on all rows up to ``SAMPLE_ROWS`` and on a deterministic sample above) and the
cross-table invariants. The import of Great Expectations (once per run process)
is timed on its own. ``--full-gx`` also times GX over every row of fct_llm_calls,
the path the sampling avoids. ``main()`` returns the numbers as a dict (and prints
them as JSON).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

DAY = date(2026, 11, 10)


def write_calls_day(settings, day: date, rows: int) -> None:
    """One lake partition of ``rows`` canonical calls and the provider lines that bill them."""
    import duckdb

    from pipelines.contracts import contract

    con = duckdb.connect()
    calls = con.sql(
        """
        select
            'c-' || i as call_id,
            $day::timestamptz + to_microseconds((i * 86399000000 // $n)::bigint) as occurred_at,
            $day::date as day,
            'openai' as provider,
            case when i % 10 < 7 then 'gpt-4o-mini' else 'gpt-4.1' end as model,
            case when i % 10 < 7 then 'gpt-4o-mini-2024-07-18' else 'gpt-4.1-2025-04-14' end as model_raw,
            'app-' || (i % 3) as app, 'feature-' || (i % 11) as feature, 'u-' || (i % 5000) as user_id,
            't-' || (i % 40) as tenant_id, 's-' || (i // 7) as session_id, 'p@v' || (i % 4) as prompt_version,
            (200 + (i * 7919) % 6000)::bigint as input_tokens,
            (case when i % 3 = 0 then ((200 + (i * 7919) % 6000) // 2) else 0 end)::bigint as cached_input_tokens,
            0::bigint as cache_write_tokens, 0::bigint as cache_write_1h_tokens,
            (20 + (i * 104729) % 900)::bigint as output_tokens, 0::bigint as reasoning_tokens,
            false as is_batch, case when i % 97 = 0 then 'error' else 'ok' end as status, 1 as attempt,
            (100 + i % 4000)::bigint as latency_ms, false as response_cache_hit, 'req_' || i as provider_request_id,
            'proj_main' as project_id, null as workspace_id, null as api_key_id, null::decimal(38, 12) as reported_cost_usd,
            'tokenbooks_calls' as source_format, 'bench/calls.jsonl' as source_file, i as source_line,
        from range($n) as t(i)
        """,
        params={"day": day, "n": rows},
    ).pl()
    calls = contract("calls").conform(calls)
    totals = con.sql(
        "select model, model_raw, sum(input_tokens) as i, sum(cached_input_tokens) as c, sum(output_tokens) as o,"
        " count(*) as n from calls group by all"
    ).fetchall()
    usage, costs = [], []
    for model, raw, i, c, o, n in totals:
        key = f"openai|{day}|{raw}|project:proj_main|false"
        usage.append(dict(day=day, provider="openai", model=model, model_raw=raw, is_batch=False, input_tokens=int(i * 1.02),
                          cached_input_tokens=int(c), cache_write_tokens=0, cache_write_1h_tokens=0, output_tokens=int(o),
                          reasoning_tokens=0, requests=int(n), project_id="proj_main", owner="project:proj_main",
                          line_key=key + "|standard", source_format="openai_usage_page", source_file="bench/usage.json"))
        for token_type, amount in (("input", (i - c) * 0.15e-6), ("cached_input", c * 0.075e-6), ("output", o * 0.6e-6)):
            costs.append(dict(day=day, provider="openai", model=model, model_raw=raw, cost_type="tokens", token_type=token_type,
                              line_item=f"{raw}, {token_type}", is_batch=False, billed_amount=f"{amount:.6f}", currency="USD",
                              billed_cost_usd=f"{amount:.6f}", project_id="proj_main", owner="project:proj_main",
                              line_key=f"{key}|tokens|{token_type}", source_format="openai_costs_page",
                              source_file="bench/costs.json"))
    _write(settings, "calls", day, calls)
    _write(settings, "provider_usage", day, _rows("provider_usage", usage))
    _write(settings, "provider_costs", day, _rows("provider_costs", costs))
    con.close()


def _rows(table: str, records: list[dict[str, Any]]):
    from datetime import datetime, timezone

    import polars as pl

    from pipelines.contracts import contract

    frame = pl.DataFrame(records).with_columns(pl.lit(datetime.now(timezone.utc)).alias("source_version"))
    if "billed_amount" in frame.columns:
        frame = frame.with_columns(pl.col("billed_amount", "billed_cost_usd").cast(pl.Decimal(38, 12)))
    return contract(table).conform(frame)


def _write(settings, table: str, day: date, frame) -> None:
    folder = settings.lake / table / f"day={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "bench.parquet")


def measure(home: Path, rows: int, full_gx: bool = False) -> dict[str, Any]:
    import duckdb

    from pipelines.contracts import contract
    from pipelines.lake.store import committed_files
    from pipelines.settings import load_settings
    from pipelines.warehouse.build import build_day
    from pipelines.warehouse.checks import CHECKED, CHECKED_INVARIANTS

    settings = load_settings(home=home)
    settings.ensure_dirs()
    started = time.perf_counter()
    write_calls_day(settings, DAY, rows)
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    built = build_day(DAY, settings)
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    import great_expectations  # noqa: F401 - timed alone: paid once per run process

    from pipelines.quality.invariants import check_invariant
    from pipelines.quality.tables import SAMPLE_ROWS, check_table

    import_s = time.perf_counter() - started
    con = duckdb.connect()
    files = {t: committed_files(settings, t, since=DAY, until=DAY) for t in CHECKED}
    per_table, failed = {}, []
    started = time.perf_counter()
    for table in CHECKED:
        t0 = time.perf_counter()
        report = check_table(con, contract(table), {DAY: files[table]})[DAY]
        per_table[table] = {"rows": report.rows, "validated_rows": report.validated_rows,
                            "seconds": round(time.perf_counter() - t0, 3)}
        failed += [f"{table}: {r.rule.name} {r.detail}" for r in report.failed()]
    t0 = time.perf_counter()
    for inv in CHECKED_INVARIANTS:
        result = check_invariant(con, inv, files, DAY)
        if not result.passed:
            failed.append(f"{inv.name}: {result.detail}")
    invariants_s = time.perf_counter() - t0
    validate_s = time.perf_counter() - started
    out: dict[str, Any] = {
        "rows": rows,
        "sample_rows": SAMPLE_ROWS,
        "generate_seconds": round(generate_s, 3),
        "build_seconds": round(build_s, 3),
        "gx_import_seconds": round(import_s, 3),
        "validation_seconds": round(validate_s, 3),
        "invariants_seconds": round(invariants_s, 3),
        "validation_share_of_build": round(validate_s / build_s, 3),
        "validation_seconds_per_million_calls": round(validate_s * 1_000_000 / rows, 3),
        "tables": per_table,
        "built_rows": built.rows,
        "failed_rules": failed,
    }
    if full_gx:
        t0 = time.perf_counter()
        check_table(con, contract("fct_llm_calls"), {DAY: files["fct_llm_calls"]}, sample_rows=rows + 1)
        out["fct_llm_calls_full_gx_seconds"] = round(time.perf_counter() - t0, 3)
    con.close()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import warnings

    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(prog="validation_cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="calls in the day (default 1,000,000)")
    parser.add_argument("--home", help="TOKENBOOKS_HOME to use (default: a temporary folder, removed after)")
    parser.add_argument("--full-gx", action="store_true", help="also time GX over every row of fct_llm_calls")
    args = parser.parse_args(argv)
    tmp = None if args.home else tempfile.mkdtemp(prefix="tb-validation-")
    try:
        result = measure(Path(args.home or tmp), args.rows, args.full_gx)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
