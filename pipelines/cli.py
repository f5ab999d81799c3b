"""The `tokenbooks` command line.

    tokenbooks ingest PATH...            land files (format detected by content)
    tokenbooks pull openai|anthropic …   pull the admin APIs for days and land them
    tokenbooks build --from D --to D     build days through Dagster, on the home's instance (--pull to pull first)
    tokenbooks sql "select …"            query the warehouse read-only
    tokenbooks digest --day D [--weekly] [--send] [--to ADDR]   write (and mail) the digest
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
from datetime import date, timedelta
from pathlib import Path

from pipelines.cli_parser import parser
from pipelines.errors import one_line_errors
from pipelines.settings import Settings, load_settings


def cmd_ingest(args, settings: Settings) -> int:
    from pipelines.ingest.land import land_file

    failed = 0
    files = _expand(args.paths)
    if not files:
        print("error: no files found in " + " ".join(args.paths), file=sys.stderr)
        return 2
    settings.ensure_dirs()
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
    from pipelines.warehouse.build import landed_days
    from pipelines.warehouse.run import build_days

    settings.ensure_dirs()
    if not args.pull and not landed_days(settings):
        print(f"error: nothing landed in {settings.lake}: `tokenbooks ingest FILE…` first "
              "(or `tokenbooks build --pull` to pull the admin APIs)", file=sys.stderr)
        return 1
    start, end = args.from_day, args.to_day or args.from_day
    if end < start:
        print(f"error: --to {end} is before --from {start}", file=sys.stderr)
        return 2
    result = build_days(settings, start, end, with_digest=not args.no_digest, pull=args.pull)
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
    from pipelines.reporting.deliver import deliver

    settings.require_home()
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

    if not args.out:
        settings.ensure_dirs()
    out = Path(args.out) if args.out else settings.landing
    spec = SampleSpec(days=args.days, calls_per_day=args.calls_per_day, seed=args.seed)
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
    from pipelines.warehouse.run import prepare_instance

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

    return run_demo(settings, days=args.days, calls_per_day=args.calls_per_day, seed=args.seed)


COMMANDS = {
    "ingest": cmd_ingest, "pull": cmd_pull, "build": cmd_build, "sql": cmd_sql, "digest": cmd_digest,
    "whatif": cmd_whatif, "sample": cmd_sample, "demo": cmd_demo, "config": cmd_config, "ui": cmd_ui,
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
