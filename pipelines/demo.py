"""`tokenbooks demo` (and `make demo`): a sample organisation through the whole pipeline, in one home."""

from __future__ import annotations

import sys
import time
from datetime import date

import polars as pl

from pipelines.db import frame, open_warehouse
from pipelines.ingest.pending import land_pending
from pipelines.run import build_days
from pipelines.sample import SampleSpec, generate
from pipelines.settings import Settings, load_settings


def run_demo(settings: Settings, days: int, calls_per_day: int, seed: int, log_formats: tuple[str, ...] = ("mixed",)) -> int:
    """Generate the sample organisation in the home, land it, build every day through Dagster, print a summary."""
    started = time.perf_counter()
    settings.ensure_dirs()
    spec = SampleSpec(days=days, calls_per_day=calls_per_day, seed=seed, log_formats=log_formats)
    truth = generate(settings.landing, spec)
    print(f"1/4 sample organisation: {days} days x {calls_per_day} calls -> {settings.landing}")
    if truth.mixed and settings.config_path is None:
        # The mixed organisation's endpoints need their endpoints: lines; a home with its own config keeps it.
        (settings.home / "tokenbooks.yaml").write_text(truth.mixed["endpoints"]["config"], encoding="utf-8")
        settings = load_settings(home=settings.home)
        print(f"    wrote {settings.config_path} (the sample's endpoints:)")
    results = land_pending(settings)
    errors = [r for r in results if r.error]
    for r in errors:
        print(f"  error: {r.error}", file=sys.stderr)
    print(
        f"2/4 ingested {len(results)} files: {sum(r.landed for r in results):,} rows landed, "
        f"{sum(r.quarantined for r in results):,} quarantined"
    )
    landed = sorted({d for r in results for d in r.days})
    first, last = date.fromisoformat(landed[0]), date.fromisoformat(landed[-1])
    result = build_days(settings, first, last, with_digest=True)
    if not result.success:
        print("error: build failed; run `make ui` to see why", file=sys.stderr)
        return 1
    print(f"3/4 built {first} .. {last} through Dagster (run {result.run_id}) in {result.seconds:.1f}s")
    print(f"4/4 digest: {settings.outbox / f'digest-{last.isoformat()}.html'}")
    print(f"\nwarehouse: {settings.warehouse}   (tokenbooks sql \"select …\" or any DuckDB client)")
    _print_summary(settings, last)
    print(f"\ndone in {time.perf_counter() - started:.1f}s")
    return 0 if not errors else 1


def _print_summary(settings: Settings, last: date) -> None:
    con = open_warehouse(settings)
    try:
        table = frame(
            con,
            """
            select app, feature,
                   round(sum(cost_usd) filter (where day = $last), 2)::double as spend_yesterday_usd,
                   round(sum(cost_usd) filter (where day > $last - 7), 2)::double as spend_7d_usd,
                   round(sum(cost_usd), 2)::double as spend_total_usd
            from mart_cost_daily
            group by all
            order by spend_total_usd desc
            """,
            {"last": last},
        )
    finally:
        con.close()
    with pl.Config(tbl_rows=40, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        # The sample's calendar ends on its last day: that day plays "yesterday", whatever today's date is.
        print(f"\nSpend by app and feature (USD; \"yesterday\" is the sample's last day, {last}):")
        print(table)
