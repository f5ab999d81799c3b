"""The `tokenbooks` command's arguments, each with its help text (``tokenbooks COMMAND --help``)."""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from pipelines.config import check_address

DAY_HELP = "a UTC day, YYYY-MM-DD"


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _address(value: str) -> str:
    try:
        return check_address(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e} (got {value!r})") from None


def _input_format(value: str) -> str:
    from pipelines.ingest.registry import FORMATS  # imported only when a format is named: it loads every reader

    names = [f.name for f in FORMATS]
    if value not in names:
        raise argparse.ArgumentTypeError(f"unknown format {value!r}; known formats: {', '.join(names)}")
    return value


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return n


# The sample organisations: "mixed" is a real company's mess (several observers per call, two channels per
# bill, deployments and inference profiles as model names); "classic" logs every call once, canonically.
ORGS = {"mixed": ("mixed",), "classic": ("canonical",)}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tokenbooks", description="The books on your company's LLM spend.")
    p.add_argument("--home", metavar="DIR",
                   help="the tokenbooks home: landing/, lake/, warehouse.duckdb, outbox/ "
                        "(default: $TOKENBOOKS_HOME, else ./data when it exists)")
    p.add_argument("--config", metavar="FILE",
                   help="the config file (default: $TOKENBOOKS_CONFIG, else HOME/tokenbooks.yaml when it exists)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("ingest", help="land input files in the lake (format recognised by content)")
    c.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to land every file in")
    c.add_argument("--format", type=_input_format, metavar="FORMAT",
                   help="read every file as this format instead of recognising it (e.g. bedrock_invocation_calls)")
    c.add_argument("--force", action="store_true",
                   help="land again even if these bytes were landed before (after an upgrade that reads them better)")

    c = sub.add_parser("pull", help="pull usage and cost reports from a provider's admin API and land them")
    c.add_argument("provider", choices=["openai", "anthropic"],
                   help="whose admin API (key in OPENAI_ADMIN_KEY / ANTHROPIC_ADMIN_KEY)")
    c.add_argument("--from", dest="from_day", type=_day, required=True, metavar="DAY", help=f"first day, {DAY_HELP}")
    c.add_argument("--to", dest="to_day", type=_day, metavar="DAY", help=f"last day, {DAY_HELP} (default: --from)")

    c = sub.add_parser("build", help="build days of the warehouse through Dagster (from what has landed)")
    c.add_argument("--from", dest="from_day", type=_day, required=True, metavar="DAY", help=f"first day, {DAY_HELP}")
    c.add_argument("--to", dest="to_day", type=_day, metavar="DAY", help=f"last day, {DAY_HELP} (default: --from)")
    c.add_argument("--no-digest", action="store_true", help="build the tables only, no digest")
    c.add_argument("--pull", action="store_true",
                   help="pull the admin APIs for these days first (a failed pull does not stop the build)")
    c.add_argument("--mail", action="store_true",
                   help="mail the digest of the last day built (a build never mails unless asked)")

    c = sub.add_parser("sql", help="query the warehouse, read-only")
    c.add_argument("query", help="one query: select, with, from, describe, show, summarize or explain")
    c.add_argument("--format", choices=["table", "csv", "json", "parquet"], default="table",
                   help="table (money rounded to 6 decimals) or csv/json/parquet (every digit); default table")
    c.add_argument("--output", "-o", metavar="FILE", help="write the result to FILE (required for parquet)")
    c.add_argument("--max-rows", type=_positive, default=50, metavar="N",
                   help="rows the table view shows; it says how many it left out (default 50)")

    c = sub.add_parser("doctor", help="what stands between the bill and full attribution, ranked by dollars, "
                                      "with the config line that fixes each")
    c.add_argument("--from", dest="start", type=_day, metavar="DAY", help=f"first day, {DAY_HELP} (default: 6 days before --to)")
    c.add_argument("--to", dest="end", type=_day, metavar="DAY", help=f"last day, {DAY_HELP} (default: the last reconciled day)")
    c.add_argument("--strict", action="store_true",
                   help="exit 1 while a model is unresolved or unattributed dollars name no app")

    c = sub.add_parser("digest", help="write the digest for a day (or week) to the outbox; --send mails it")
    c.add_argument("--day", type=_day, metavar="DAY",
                   help=f"the day to report, {DAY_HELP} (default: the last day with billed or logged data)")
    c.add_argument("--weekly", action="store_true", help="the 7 days ending on --day")
    c.add_argument("--send", action="store_true",
                   help="mail it to tokenbooks.yaml's recipients over SMTP (once: the outbox ledger refuses a second send)")
    c.add_argument("--to", metavar="ADDR", type=_address, help="mail it to this one address only (implies --send)")
    c.add_argument("--resend", action="store_true", help="send it even to addresses that already have it (implies --send)")

    c = sub.add_parser("whatif", help="re-price a feature's real usage on another model or through batch")
    c.add_argument("--feature", required=True, help="the feature, as in fct_llm_calls.feature")
    c.add_argument("--model", required=True, help="provider/model to price it on, e.g. anthropic/claude-haiku-4-5")
    c.add_argument("--batch", action="store_true", help="at the batch API's prices")
    c.add_argument("--cache", action="store_true",
                   help="with prompt caching: calls that missed the cache read as much of their input as the hits did")
    c.add_argument("--from", dest="from_day", type=_day, metavar="DAY",
                   help=f"first day, {DAY_HELP} (default: 29 days before --to)")
    c.add_argument("--to", dest="to_day", type=_day, metavar="DAY",
                   help=f"last day, {DAY_HELP} (default: the last day in the warehouse)")

    for name, about in (("sample", "write the sample organisation's files"),
                        ("demo", "sample + ingest + build + digest in the home, then spend by feature")):
        c = sub.add_parser(name, help=about)
        c.add_argument("--days", type=_positive, default=30, help="days of data (default 30)")
        c.add_argument("--calls-per-day", type=_positive, default=5000, help="application calls a day (default 5000)")
        c.add_argument("--seed", type=int, default=7, help="the random seed: the same seed, the same organisation")
        c.add_argument("--org", choices=sorted(ORGS), default="mixed",
                       help="mixed: several observers per call and two channels per bill, as real data is (default); "
                            "classic: every call logged once in the canonical format")
        if name == "sample":
            c.add_argument("--out", metavar="DIR", help="folder to write to (default: HOME/landing)")

    c = sub.add_parser("config", help="check the config, or print its JSON Schema")
    c.add_argument("action", choices=["check", "schema"],
                   help="check: validate and print the effective config; schema: the JSON Schema of tokenbooks.yaml")

    from pipelines.exports.command import add_export_parser  # tokenbooks export focus (pipelines/exports/)

    add_export_parser(sub, _day)

    c = sub.add_parser("ui", help="the Dagster UI on the home's instance (Ctrl-C stops it)")
    c.add_argument("--port", type=_positive, default=3000, help="port of the web UI (default 3000)")
    return p
