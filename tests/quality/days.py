"""Small organisation days in real input shapes, for the quality and reliability tests.

One day = canonical call logs of two OpenAI models in one project, the OpenAI Usage API
page for the day (more usage than was logged: billed retries the app never logged) and
the Costs API page (list price, a negotiated discount, a web-search line). Deterministic
for a seed. ``committed_problems`` runs the generated checks over what is committed, the
way the Dagster checks do, so tests can assert "the warehouse is correct" in one line.
"""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb

# list USD per million tokens: input, cached input, output
PRICES = {"gpt-4o-mini-2024-07-18": ("0.15", "0.075", "0.60"), "gpt-4.1-2025-04-14": ("2.00", "0.50", "8.00")}


def epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())


def page(day: date, results: list[dict]) -> dict:
    start = epoch(day)
    bucket = {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}
    return {"object": "page", "data": [bucket], "has_more": False, "next_page": None}


def cost_line(line_item: str, amount: str, project: str = "proj_app") -> dict:
    return {
        "object": "organization.costs.result",
        "amount": {"value": amount, "currency": "usd"},
        "line_item": line_item,
        "project_id": project,
    }


def calls_for(day: date, n: int, seed: int) -> list[dict]:
    rng = random.Random(f"{day}-{seed}")
    out = []
    for i in range(n):
        model = "gpt-4o-mini-2024-07-18" if i % 3 else "gpt-4.1-2025-04-14"
        inp = rng.randint(200, 4000)
        out.append(
            {
                "call_id": f"{day}-{seed}-{i}",
                "occurred_at": (datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(seconds=i * 61)).isoformat(),
                "provider": "openai",
                "model": model,
                "app": "support-bot",
                "feature": rng.choice(["triage", "reply", "summary"]),
                "user_id": f"u-{rng.randint(1, 9)}",
                "tenant_id": f"t-{rng.randint(1, 3)}",
                "input_tokens": inp,
                "cached_input_tokens": rng.choice([0, inp // 2]),
                "output_tokens": rng.randint(10, 600),
                "status": "ok",
                "project_id": "proj_app",
            }
        )
    return out


def write_day(folder: Path, day: date, n_calls: int = 30, seed: int = 0, discount: str = "0.9") -> list[Path]:
    """calls-D.jsonl, usage-D.json, costs-D.json for ``day``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    calls = calls_for(day, n_calls, seed)
    usage, costs = [], []
    for model, (p_in, p_cached, p_out) in PRICES.items():
        mine = [c for c in calls if c["model"] == model]
        extra = 1 + len(mine) % 5  # calls the app never logged (billed retries)
        inp = sum(c["input_tokens"] for c in mine) + 1000 * extra
        cached = sum(c["cached_input_tokens"] for c in mine)
        out = sum(c["output_tokens"] for c in mine) + 100 * extra
        usage.append(
            {
                "object": "organization.usage.completions.result",
                "input_tokens": inp,
                "input_cached_tokens": cached,
                "output_tokens": out,
                "num_model_requests": len(mine) + extra,
                "model": model,
                "project_id": "proj_app",
                "batch": False,
            }
        )
        d = Decimal(discount)
        for piece, tokens, price in (("input", inp - cached, p_in), ("cached input", cached, p_cached), ("output", out, p_out)):
            amount = (Decimal(tokens) * Decimal(price) / 1_000_000 * d).quantize(Decimal("0.000001"))
            costs.append(cost_line(f"{model}, {piece}", str(amount)))
    costs.append(cost_line("web search tool calls", "0.25"))
    paths = [folder / f"calls-{day}.jsonl", folder / f"usage-{day}.json", folder / f"costs-{day}.json"]
    paths[0].write_text("".join(json.dumps(c) + "\n" for c in calls), encoding="utf-8")
    paths[1].write_text(json.dumps(page(day, usage)), encoding="utf-8")
    paths[2].write_text(json.dumps(page(day, costs)), encoding="utf-8")
    return paths


def land_all(settings, paths: list[Path]) -> list:
    from pipelines.ingest.land import land_file

    results = [land_file(p, settings) for p in paths]
    errors = [r.error for r in results if r.error]
    assert not errors, errors
    return results


def tamper_landed_calls(settings, day: date, model: str, **values) -> int:
    """Overwrite columns of ``model``'s calls landed for ``day``, in the lake file itself, as a file that did not
    come through landing would: the one way past landing and config validation to a contract violation in the
    warehouse. Returns how many rows were changed."""
    import polars as pl

    changed = 0
    for path in (settings.lake / "calls" / f"day={day.isoformat()}").glob("*.parquet"):
        rows = pl.read_parquet(path)
        hit = pl.col("model") == model
        changed += rows.filter(hit).height
        rows.with_columns(pl.when(hit).then(pl.lit(v)).otherwise(pl.col(k)).alias(k) for k, v in values.items()) \
            .write_parquet(path)
    return changed


def build(settings, days: list[date]) -> None:
    from pipelines.warehouse.build import build_day
    from pipelines.warehouse.publish import publish

    for day in days:
        build_day(day, settings)
    publish(settings)


def committed_problems(settings, severity: str = "error") -> list[str]:
    """Every failed contract rule and invariant (of ``severity``) over all committed days; [] when all hold."""
    from pipelines.contracts import contract
    from pipelines.lake.store import committed_days, committed_files
    from pipelines.quality.invariants import check_invariant
    from pipelines.quality.tables import check_table
    from pipelines.warehouse.checks import CHECKED, CHECKED_INVARIANTS

    days = committed_days(settings)
    files = {d: {t: committed_files(settings, t, days, since=d, until=d) for t in CHECKED} for d in days}
    problems = []
    con = duckdb.connect()
    try:
        for table in CHECKED:
            for d, report in check_table(con, contract(table), {d: files[d][table] for d in days}).items():
                problems += [f"{table} {d}: {r.rule.name} {r.detail}" for r in report.failed(severity)]
        for d in days:
            for inv in CHECKED_INVARIANTS:
                result = check_invariant(con, inv, files[d], d)
                if not result.passed and inv.severity == severity:
                    problems.append(f"{inv.name} {d}: {result.detail}")
    finally:
        con.close()
    return problems


def warehouse_totals(path: Path) -> dict[str, object]:
    """What an analyst would read: rows per table and the day's money, from the published warehouse (whose Parquet
    paths are relative to its folder, the home)."""
    con = duckdb.connect(str(path), read_only=True, config={"file_search_path": str(path.parent)})
    try:
        return {
            "calls": one(con, "select count(*) from fct_llm_calls"),
            "billed": one(con, "select sum(billed_cost_usd) from fct_provider_costs"),
            "attributed": one(con, "select sum(attributed_cost_usd) from fct_llm_calls"),
            "mart": one(con, "select sum(cost_usd) from mart_cost_daily"),
            "days": one(con, "select count(distinct day) from fct_llm_calls"),
        }
    finally:
        con.close()


def one(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None):
    return con.sql(sql, params=params).fetchall()[0][0]


def committed_invariant_problems(settings) -> list[str]:
    """The cheap part of ``committed_problems``: every committed file readable, no duplicate keys, invariants hold."""
    from pipelines.contracts import contract
    from pipelines.lake.store import committed_days, committed_files
    from pipelines.quality.invariants import check_invariant
    from pipelines.quality.rules import quote
    from pipelines.warehouse.checks import CHECKED, CHECKED_INVARIANTS

    days = committed_days(settings)
    problems = []
    con = duckdb.connect()
    try:
        for d in days:
            files = {t: committed_files(settings, t, days, since=d, until=d) for t in CHECKED}
            for table in CHECKED:
                if not files[table]:
                    problems.append(f"{table} {d}: no committed file")
                    continue
                key = ", ".join(quote(k) for k in contract(table).key)
                dup = one(con, f"select count(*) - count(distinct ({key})) from read_parquet($f, hive_partitioning = false)",
                          {"f": files[table]})
                if dup:
                    problems.append(f"{table} {d}: {dup} duplicate keys")
            for inv in CHECKED_INVARIANTS:
                result = check_invariant(con, inv, files, d)
                if not result.passed and inv.severity == "error":
                    problems.append(f"{inv.name} {d}: {result.detail}")
    finally:
        con.close()
    return problems
