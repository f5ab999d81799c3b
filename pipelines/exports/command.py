"""`tokenbooks export focus`: the sub-command, kept beside the export it runs (pipelines/cli.py adds it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipelines.settings import Settings


def add_export_parser(sub: argparse._SubParsersAction, day: Callable[[str], date]) -> None:
    p = sub.add_parser("export", help="export the books for other tools")
    p = p.add_subparsers(dest="export", required=True).add_parser(
        "focus", help="the attributed bill as a FOCUS 1.3 dataset (Parquet or CSV)")
    p.add_argument("--from", dest="from_day", type=day, required=True, metavar="DAY", help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--to", dest="to_day", type=day, metavar="DAY", help="last day, YYYY-MM-DD (UTC) (default: --from)")
    p.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format (default parquet)")
    p.add_argument("--out", metavar="FILE", help="file to write (default: HOME/exports/focus-FROM-TO.FORMAT)")
    p.set_defaults(func=cmd_export_focus)


def cmd_export_focus(args, settings: Settings) -> int:
    from pipelines.exports.focus import FOCUS_VERSION, ExportError, export_focus

    start, end = args.from_day, args.to_day or args.from_day
    out = Path(args.out) if args.out else settings.home / "exports" / f"focus-{start}-{end}.{args.format}"
    try:
        result = export_focus(settings, start, end, args.format, out)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"FOCUS {FOCUS_VERSION}: {result.rows:,} rows, {len(result.days)} day(s) -> {result.path}")
    if result.missing_days:
        print(f"  warning: not built, left out: {', '.join(map(str, result.missing_days))}", file=sys.stderr)
    return 0
