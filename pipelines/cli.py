"""The `tokenbooks` command line.

    tokenbooks ingest PATH...            land files (format detected by content)
    tokenbooks build --from D --to D     build days through Dagster, on the local instance
    tokenbooks sql "select …"            query the warehouse read-only
    tokenbooks doctor [--strict]         what stands between the bill and full attribution, and the fix
    tokenbooks digest [--day D] [--weekly] [--send] [--to ADDR] [--resend]   write (and mail) the digest
    tokenbooks export focus --from D --to D [--format parquet|csv] [--out PATH]   the bill as FOCUS 1.3
    tokenbooks sample --days N …         write the sample organisation into landing/
    tokenbooks demo                      sample + ingest + build + digest, then a summary
"""

from __future__ import annotations

import argparse
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path

from pipelines.settings import ConfigError, Settings, load_settings


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def cmd_ingest(args, settings: Settings) -> int:
    from pipelines.ingest.land import land_file

    failed = 0
    files = _expand(args.paths)
    if not files:
        print("error: no files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    for path in files:
        r = land_file(path, settings, fmt=args.format, force=args.force)
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

    from pipelines.reporting.deliver import mail_problem

    start, end = args.from_day, args.to_day or args.from_day
    if args.mail and (args.no_digest or mail_problem(settings)):
        print(f"error: --mail {'and --no-digest contradict each other' if args.no_digest else mail_problem(settings)}",
              file=sys.stderr)
        return 2
    result = build_days(settings, start, end, with_digest=not args.no_digest, mail=args.mail)
    if not result.success:
        print("error: build failed; see the run in the Dagster UI (make ui)", file=sys.stderr)
        return 1
    print(f"built {start} .. {end} in {result.seconds:.1f}s (run {result.run_id})")
    print(f"warehouse: {settings.warehouse}")
    return 0


def cmd_sql(args, settings: Settings) -> int:
    import duckdb

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    con = duckdb.connect(str(settings.warehouse), read_only=True)
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


def cmd_doctor(args, settings: Settings) -> int:
    import duckdb

    from pipelines.reporting.doctor import diagnose, render

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        last = con.execute("select max(day) from fct_reconciliation").fetchone()[0]
        if last is None:
            print("error: the warehouse has no reconciled day yet; land a bill and run `tokenbooks build`", file=sys.stderr)
            return 2
        end = args.end or last
        start = args.start or end - timedelta(days=6)
        if start > end:
            print(f"error: --from {start} is after --to {end}", file=sys.stderr)
            return 2
        diagnosis = diagnose(con, start, end)
    finally:
        con.close()
    print(render(diagnosis), end="")
    return 1 if args.strict and diagnosis.unresolved else 0


def cmd_whatif(args, settings: Settings) -> int:
    import duckdb

    from pipelines.reporting.whatif import describe, reprice

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    provider, _, model = args.model.rpartition("/")
    if not provider:
        print("error: --model takes provider/model, e.g. openai/gpt-4o-mini", file=sys.stderr)
        return 2
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        end = args.to_day or con.execute("select max(day) from fct_llm_calls").fetchone()[0] or date.today()
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
    import duckdb

    from pipelines.reporting.deliver import deliver, mail_problem
    from pipelines.reporting.digest import NoData
    from pipelines.reporting.periods import last_data_day

    if not settings.warehouse.exists():
        print(f"error: no warehouse at {settings.warehouse}; run `tokenbooks build` first", file=sys.stderr)
        return 2
    send = args.send or args.resend or bool(args.to)
    problem = mail_problem(settings, args.to) if send else None
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    day = args.day
    if day is None:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
        try:
            day = last_data_day(con)
        finally:
            con.close()
        if day is None:
            print("error: the warehouse has no billed or logged data yet: no digest", file=sys.stderr)
            return 1
    try:
        items = deliver(settings, day, weekly=args.weekly, send=send, to=args.to, resend=args.resend,
                        log=lambda m: print(f"  {m}", file=sys.stderr))
    except NoData as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for o in items:
        print(f"digest: {o.html}  (+ .txt, .eml)")
        if o.sent_to:
            print(f"  sent to {', '.join(o.sent_to)} in {o.attempts} attempt(s)")
        elif o.already_sent and not o.error:
            print(f"  already sent to {', '.join(o.already_sent)}: not sent again")
    failed = [f"{o.name}: {o.error}" for o in items if o.error]
    if failed:
        print(f"error: not sent, kept in {settings.outbox}: " + "; ".join(failed), file=sys.stderr)
        return 1
    if send and not any(o.sent_to for o in items):
        before = [f"{o.name} to {', '.join(f'{a} ({t})' for a, t in o.already_sent.items())}"
                  for o in items if o.already_sent]
        print("error: already sent: " + "; ".join(before) + "; --resend sends it again", file=sys.stderr)
        return 1
    return 0


def cmd_sample(args, settings: Settings) -> int:
    from pipelines.sample import SampleSpec, generate

    out = Path(args.out) if args.out else settings.landing
    spec = SampleSpec(days=args.days, calls_per_day=args.calls_per_day, seed=args.seed, log_formats=ORGS[args.org])
    generate(out, spec)
    print(f"sample organisation written to {out}")
    return 0


# The sample organisations: "mixed" is a real company's mess (several observers per call, two channels per
# bill, deployments and inference profiles as model names); "classic" logs every call once, canonically.
ORGS = {"mixed": ("mixed",), "classic": ("canonical",)}


def cmd_demo(args, settings: Settings) -> int:
    import time

    from pipelines.ingest.pending import land_pending
    from pipelines.sample import SampleSpec, generate
    from pipelines.warehouse.run import build_days

    started = time.perf_counter()
    settings.ensure_dirs()
    spec = SampleSpec(days=args.days, calls_per_day=args.calls_per_day, seed=args.seed, log_formats=ORGS[args.org])
    truth = generate(settings.landing, spec)
    print(f"1/4 sample organisation: {args.days} days x {args.calls_per_day} calls -> {settings.landing}")
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
    import duckdb

    from pipelines.db import frame

    con = duckdb.connect(str(settings.warehouse), read_only=True)
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
    p.add_argument("--force", action="store_true",
                   help="land again even if these bytes were landed before (after an upgrade that reads them better)")
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
    p.add_argument("--mail", action="store_true",
                   help="mail the digest of the last day built to the recipients who have not had it "
                        "(without it a build mails nobody: backfills and re-pricing never mail)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("sql", help="query the warehouse read-only")
    p.add_argument("query")
    p.add_argument("--format", choices=["table", "csv"], default="table")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("doctor", help="what stands between the bill and full attribution, ranked by dollars, "
                                      "with the config line that fixes each")
    p.add_argument("--from", dest="start", type=_day, help="first day (default: 6 days before --to)")
    p.add_argument("--to", dest="end", type=_day, help="last day (default: the last reconciled day)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 while a model is unresolved or unattributed dollars name no app")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("digest", help="write the digest for a day (or week) to the outbox; --send mails it")
    p.add_argument("--day", type=_day, help="the day (default: the last day with billed or logged data)")
    p.add_argument("--weekly", action="store_true", help="the 7 days ending on --day")
    p.add_argument("--send", action="store_true",
                   help="mail it to tokenbooks.yaml's recipients over SMTP (once: the outbox ledger refuses a second send)")
    p.add_argument("--to", metavar="ADDR", help="mail it to this address only (implies --send)")
    p.add_argument("--resend", action="store_true", help="send it even to addresses that already have it (implies --send)")
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

    from pipelines.exports.command import add_export_parser  # tokenbooks export focus (pipelines/exports/)

    add_export_parser(sub, _day)

    for name, func in (("sample", cmd_sample), ("demo", cmd_demo)):
        p = sub.add_parser(name, help="write the sample organisation" if name == "sample" else "run the whole demo")
        p.add_argument("--days", type=int, default=30)
        p.add_argument("--calls-per-day", type=int, default=5000)
        p.add_argument("--seed", type=int, default=7)
        p.add_argument("--org", choices=sorted(ORGS), default="mixed",
                       help="mixed: several observers per call and two channels per bill, as real data is (default); "
                            "classic: every call logged once in the canonical format")
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
