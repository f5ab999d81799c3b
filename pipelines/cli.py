"""The `tokenbooks` command line.

    tokenbooks ingest PATH...            land files (format detected by content)
    tokenbooks pull openai|anthropic …   pull the admin APIs for days and land them
    tokenbooks build --from D --to D     build days through Dagster, on the home's instance (--pull to pull first)
    tokenbooks sql "select …"            query the warehouse read-only
    tokenbooks doctor [--strict]         what stands between the bill and full attribution, and the fix
    tokenbooks digest [--day D] [--weekly] [--send] [--to ADDR] [--resend]   write (and mail) the digest
    tokenbooks export focus --from D --to D [--format parquet|csv] [--out PATH]   the bill as FOCUS 1.3
    tokenbooks whatif --feature F --model P/M   re-price a feature's usage on another model
    tokenbooks sample --days N …         write the sample organisation into landing/
    tokenbooks demo                      sample + ingest + build + digest, then a summary
    tokenbooks config check|schema       the effective config, or the JSON Schema of tokenbooks.yaml
    tokenbooks ui                        the Dagster UI on the home's instance

Every failure is one line on stderr and a non-zero exit (``errors.py``).
"""

from __future__ import annotations

import sys
import warnings
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from pipelines.cli_parser import ORGS, parser
from pipelines.errors import one_line_errors
from pipelines.settings import Settings, load_settings


def utc_today() -> date:
    """Today's UTC date: the machine's zone never decides a day."""
    return datetime.now(timezone.utc).date()


def cmd_ingest(args, settings: Settings) -> int:
    from pipelines.ingest.land import land_file

    failed = 0
    files = _expand(args.paths)
    if not files:
        print("error: no files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    settings.ensure_dirs()
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
    from pipelines.ingest.pull import pull

    settings.ensure_dirs()
    base_url = getattr(settings.config.pull, f"{args.provider}_base_url")
    results = pull(args.provider, args.from_day, args.to_day or args.from_day, settings, base_url=base_url)
    for r in results:
        if r.error:
            print(f"error: {r.error}", file=sys.stderr)
        else:
            print(r.line())
    return 1 if any(r.error for r in results) else 0


def cmd_build(args, settings: Settings) -> int:
    from pipelines.lake.store import landed_days
    from pipelines.run import build_days

    settings.ensure_dirs()
    if not args.pull and not landed_days(settings):
        print(f"error: nothing landed in {settings.lake}: `tokenbooks ingest FILE…` first "
              "(or `tokenbooks build --pull` to pull the admin APIs)", file=sys.stderr)
        return 1
    from pipelines.reporting.deliver import mail_problem

    start, end = args.from_day, args.to_day or args.from_day
    if end < start:
        print(f"error: --to {end} is before --from {start}", file=sys.stderr)
        return 2
    if args.mail and (args.no_digest or mail_problem(settings)):
        print(f"error: --mail {'and --no-digest contradict each other' if args.no_digest else mail_problem(settings)}",
              file=sys.stderr)
        return 2
    result = build_days(settings, start, end, with_digest=not args.no_digest, pull=args.pull, mail=args.mail)
    if not result.success:
        print(f"error: build failed; see run {result.run_id} in the Dagster UI (make ui)", file=sys.stderr)
        return 1
    print(f"built {start} .. {end} in {result.seconds:.1f}s (run {result.run_id})")
    print(f"warehouse: {settings.warehouse}")
    return 0


def cmd_sql(args, settings: Settings) -> int:
    from pipelines.db import open_warehouse
    from pipelines.query import run

    con = open_warehouse(settings)
    try:
        footer = run(con, args.query, args.format, sys.stdout, Path(args.output) if args.output else None,
                     args.max_rows)
    finally:
        con.close()
    if footer:
        print(footer)
    return 0


def cmd_whatif(args, settings: Settings) -> int:
    from pipelines.db import open_warehouse
    from pipelines.reporting.whatif import describe, reprice

    provider, _, model = args.model.rpartition("/")
    if not provider:
        print("error: --model takes provider/model, e.g. openai/gpt-4o-mini", file=sys.stderr)
        return 2
    con = open_warehouse(settings)
    try:
        known = [r[0] for r in con.execute(
            "select distinct feature from fct_llm_calls where feature is not null order by 1").fetchall()]
        if args.feature not in known:
            print(f"error: no feature {args.feature!r} in the warehouse; known features: "
                  f"{', '.join(known) or '(none: nothing built yet)'}", file=sys.stderr)
            return 2
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


def cmd_doctor(args, settings: Settings) -> int:
    from pipelines.db import open_warehouse
    from pipelines.reporting.doctor import diagnose, render

    con = open_warehouse(settings)
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


def cmd_digest(args, settings: Settings) -> int:
    from pipelines.db import open_warehouse
    from pipelines.reporting.deliver import deliver, mail_problem
    from pipelines.reporting.digest import NoData
    from pipelines.reporting.periods import last_data_day

    send = args.send or args.resend or bool(args.to)
    problem = mail_problem(settings, args.to) if send else None
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    day = args.day
    if day is None:
        con = open_warehouse(settings)
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

    if not args.out:
        settings.ensure_dirs()
    out = Path(args.out) if args.out else settings.landing
    spec = SampleSpec(days=args.days, calls_per_day=args.calls_per_day, seed=args.seed, log_formats=ORGS[args.org])
    generate(out, spec)
    print(f"sample organisation written to {out}")
    return 0


def cmd_config(args, settings: Settings | None) -> int:
    from pipelines.config import json_schema
    from pipelines.config_report import effective

    if args.action == "schema":
        import json

        print(json.dumps(json_schema(), indent=2))
    else:
        print(effective(settings), end="")
    return 0


def cmd_ui(args, settings: Settings) -> int:
    import os

    from pipelines.settings import PROJECT_ROOT
    from pipelines.run import prepare_instance

    settings.ensure_dirs()
    env = {**os.environ, "TOKENBOOKS_HOME": str(settings.home), "DAGSTER_HOME": prepare_instance(settings)}
    if settings.config_path:
        env["TOKENBOOKS_CONFIG"] = str(settings.config_path)
    argv = [sys.executable, "-m", "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(args.port)]
    print(f"Dagster UI on http://127.0.0.1:{args.port} for {settings.home} (instance {env['DAGSTER_HOME']})")
    sys.stdout.flush()
    os.chdir(PROJECT_ROOT)
    # exec, not a child: Ctrl-C reaches dagster dev itself, which stops its webserver, daemon and code server.
    os.execve(sys.executable, argv, env)
    return 0  # not reached


def cmd_demo(args, settings: Settings) -> int:
    from pipelines.demo import run_demo

    return run_demo(settings, days=args.days, calls_per_day=args.calls_per_day, seed=args.seed,
                    log_formats=ORGS[args.org])


COMMANDS = {
    "ingest": cmd_ingest, "pull": cmd_pull, "build": cmd_build, "sql": cmd_sql, "digest": cmd_digest,
    "whatif": cmd_whatif, "sample": cmd_sample, "demo": cmd_demo, "config": cmd_config, "ui": cmd_ui,
    "doctor": cmd_doctor, "export": lambda args, settings: args.func(args, settings),
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    warnings.filterwarnings("ignore", module="dagster")
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    with one_line_errors() as failed:
        if args.command == "config" and args.action == "schema":  # the schema needs no (valid) config
            return cmd_config(args, None)
        settings = load_settings(home=args.home, config=args.config)
        return COMMANDS[args.command](args, settings)
    return failed.code


if __name__ == "__main__":
    sys.exit(main())
