"""The `tokenbooks` command line.

    tokenbooks ingest PATH...            land files (format detected by content)
    tokenbooks build --from D --to D     build days through Dagster, on the local instance
    tokenbooks sql "select …"            query the warehouse read-only
    tokenbooks digest --day D [--weekly] [--send] [--to ADDR]   write (and mail) the digest
    tokenbooks sample --days N …         write the sample organisation into landing/
    tokenbooks demo                      sample + ingest + build + digest, then a summary
"""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pipelines.settings import ConfigError, Settings, load_settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def utc_today() -> date:
    """Today's UTC date: days are UTC dates, not the machine's."""
    return datetime.now(timezone.utc).date()


def cmd_ingest(args, settings: Settings) -> int:
    from pipelines.ingest.land import land_file

    failed = 0
    files = _expand(args.paths)
    if not files:
        print("error: no files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    for path in files:
        r = land_file(path, settings, fmt=args.format)
        if r.error:
            failed += 1
            print(f"error: {r.error}", file=sys.stderr)
        else:
            print(r.line())
            if r.unpriced_models:
                print(f"  warning: no known price for {', '.join(r.unpriced_models)} (kept, flagged unpriced)")
    return 1 if failed else 0


def _expand(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(x for x in p.rglob("*") if x.is_file() and x.name != "ground_truth.json"))
        else:
            out.append(p)
    return out


def cmd_pull(args, settings: Settings) -> int:
    from pipelines.ingest.pull import PullError, pull

    try:
        results = pull(args.provider, args.from_day, args.to_day or args.from_day, settings, base_url=args.base_url)
    except PullError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in results:
        print(r.line() if not r.error else f"error: {r.error}")
    return 1 if any(r.error for r in results) else 0


def cmd_build(args, settings: Settings) -> int:
    from pipelines.warehouse.run import build_days

    start, end = args.from_day, args.to_day or args.from_day
    result = build_days(settings, start, end, with_digest=not args.no_digest)
    if not result.success:
        print("error: build failed; see the run in the Dagster UI (make ui)", file=sys.stderr)
        return 1
    print(f"built {start} .. {end} in {result.seconds:.1f}s (run {result.run_id})")
    print(f"warehouse: {settings.warehouse}")
    return 0


def cmd_sql(args, settings: Settings) -> int:
    import duckdb

    from pipelines.db import read_only

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    con = read_only(settings.warehouse)
    try:
        rel = con.sql(args.query)
        if rel is None:
            return 0
        print(rel.pl() if args.format == "table" else rel.pl().write_csv(), end="")
        print()
    except duckdb.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        con.close()
    return 0


def cmd_whatif(args, settings: Settings) -> int:
    from pipelines.db import read_only
    from pipelines.reporting.whatif import describe, reprice

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    provider, _, model = args.model.rpartition("/")
    if not provider:
        print("error: --model takes provider/model, e.g. openai/gpt-4o-mini", file=sys.stderr)
        return 2
    con = read_only(settings.warehouse)
    try:
        end = args.to_day or con.execute("select max(day) from fct_llm_calls").fetchone()[0] or utc_today()
        start = args.from_day or end - timedelta(days=29)
        try:
            result = reprice(con, args.feature, provider, model, args.batch, start, end, cache=args.cache,
                             overrides=settings.price_overrides)
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    finally:
        con.close()
    print(describe(result))
    return 0


def cmd_digest(args, settings: Settings) -> int:
    from pipelines.reporting.deliver import deliver

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    send = args.send or bool(args.to)
    if send and not settings.smtp.host:
        print("error: no SMTP host: set smtp.host in tokenbooks.yaml or TOKENBOOKS_SMTP_HOST "
              "(the digest is written to the outbox either way)", file=sys.stderr)
    if send and not args.to and not settings.recipients:
        print("error: --send needs recipients in tokenbooks.yaml or --to ADDR", file=sys.stderr)
        send = False
    items = deliver(settings, args.day, weekly=args.weekly, send=send and bool(settings.smtp.host), to=args.to,
                    force=True, log=lambda m: print(f"  {m}", file=sys.stderr))
    for o in items:
        print(f"digest: {o.html}  (+ .txt, .eml)")
        if o.sent_to:
            print(f"  sent to {', '.join(o.sent_to)} in {o.attempts} attempt(s)")
        if o.error:
            print(f"error: {o.error}; the digest stays in {o.eml}", file=sys.stderr)
    return 1 if any(o.error for o in items) or (send and not settings.smtp.host) else 0


def cmd_sample(args, settings: Settings) -> int:
    from pipelines.sample import SampleSpec, generate

    out = Path(args.out) if args.out else settings.landing
    spec = SampleSpec(days=args.days, calls_per_day=args.calls_per_day, seed=args.seed)
    generate(out, spec)
    print(f"sample organisation written to {out}")
    return 0


def cmd_demo(args, settings: Settings) -> int:
    import time

    from pipelines.ingest.pending import land_pending
    from pipelines.sample import SampleSpec, generate
    from pipelines.warehouse.run import build_days

    started = time.perf_counter()
    settings.ensure_dirs()
    spec = SampleSpec(days=args.days, calls_per_day=args.calls_per_day, seed=args.seed)
    truth = generate(settings.landing, spec)
    print(f"1/4 sample organisation: {args.days} days x {args.calls_per_day} calls -> {settings.landing}")
    results = land_pending(settings)
    errors = [r for r in results if r.error]
    for r in errors:
        print(f"  error: {r.error}", file=sys.stderr)
    print(
        f"2/4 ingested {len(results)} files: {sum(r.landed for r in results):,} rows landed, "
        f"{sum(r.quarantined for r in results):,} quarantined"
    )
    days = sorted({d for r in results for d in r.days})
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
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
    from pipelines.db import frame, read_only

    con = read_only(settings.warehouse)
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
    import polars as pl

    with pl.Config(tbl_rows=40, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(f"\nSpend by app and feature (USD; yesterday = {last}):")
        print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tokenbooks", description="The books on your company's LLM spend.")
    parser.add_argument("--home", help="data folder (default: $TOKENBOOKS_HOME or ./data)")
    parser.add_argument("--config", help="config file (default: $TOKENBOOKS_CONFIG or HOME/tokenbooks.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="land input files in the lake")
    p.add_argument("paths", nargs="+")
    p.add_argument("--format", help="skip detection and read as this format")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("pull", help="pull usage and cost reports from a provider's admin API")
    p.add_argument("provider", choices=["openai", "anthropic"])
    p.add_argument("--from", dest="from_day", type=_day, required=True)
    p.add_argument("--to", dest="to_day", type=_day)
    p.add_argument("--base-url", help=argparse.SUPPRESS)  # a test server or a proxy
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("build", help="build days of the warehouse through Dagster")
    p.add_argument("--from", dest="from_day", type=_day, required=True)
    p.add_argument("--to", dest="to_day", type=_day)
    p.add_argument("--no-digest", action="store_true")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("sql", help="query the warehouse read-only")
    p.add_argument("query")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("digest", help="write the digest for a day (or week) to the outbox; --send mails it")
    p.add_argument("--day", type=_day, default=utc_today() - timedelta(days=1))
    p.add_argument("--weekly", action="store_true", help="the 7 days ending on --day")
    p.add_argument("--send", action="store_true", help="mail it to tokenbooks.yaml's recipients over SMTP")
    p.add_argument("--to", metavar="ADDR", help="mail it to this address only (implies --send)")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("whatif", help="re-price a feature's real usage on another model or through batch")
    p.add_argument("--feature", required=True)
    p.add_argument("--model", required=True, help="provider/model, e.g. anthropic/claude-haiku-4-5")
    p.add_argument("--batch", action="store_true", help="at the batch API's prices")
    p.add_argument("--cache", action="store_true",
                   help="with prompt caching: calls that missed the cache read as much of their input as the hits did")
    p.add_argument("--from", dest="from_day", type=_day)
    p.add_argument("--to", dest="to_day", type=_day)
    p.set_defaults(func=cmd_whatif)

    for name, func in (("sample", cmd_sample), ("demo", cmd_demo)):
        p = sub.add_parser(name, help="write the sample organisation" if name == "sample" else "run the whole demo")
        p.add_argument("--days", type=int, default=30)
        p.add_argument("--calls-per-day", type=int, default=5000)
        p.add_argument("--seed", type=int, default=7)
        if name == "sample":
            p.add_argument("--out", help="folder (default: landing/)")
        p.set_defaults(func=func)

    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    try:
        settings = load_settings(home=args.home, config=args.config)
        return args.func(args, settings)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
