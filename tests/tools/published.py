"""Are two warehouses' published tables the same? The check behind a refactor that must change no output.

    python -m tests.tools.published build HOME [--days 10 --calls 2000 --seed 5 --org mixed]
    python -m tests.tools.published fingerprint HOME > a.json
    python -m tests.tools.published compare HOME_A HOME_B

``build`` runs the demo (generator → land → nightly job through Dagster) in an empty home. ``fingerprint`` prints,
for every table and view the warehouse publishes, its columns with their types, its row count and an
order-free hash of its rows (DuckDB's ``hash`` of each row, summed as a HUGEINT). ``compare`` fingerprints both
homes and lists every table whose schema, count or contents differ; exit 1 if any do.

Columns that differ between two builds of the same code (a build's run id or time, a file's landing time) are
not contents and are left out by name (``VOLATILE``); the home's own path is taken out of text values.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# What a build stamps on its rows (its id and time), not what the data says.
VOLATILE = {"build_id", "built_at", "run_id", "computed_at", "generated_at", "published_at", "source_version"}


def fingerprint(home: Path) -> dict[str, dict]:
    from pipelines.db import open_warehouse
    from pipelines.settings import load_settings

    con = open_warehouse(load_settings(home=home))
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' order by 1").fetchall()]
        out: dict[str, dict] = {}
        for name in names:
            cols = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'main' and table_name = ? order by ordinal_position", [name]).fetchall()
            kept = [c for c, _ in cols if c not in VOLATILE]
            # Landed files are named by their absolute path: the same file in another home is the same file.
            quoted = ", ".join(f"\"{c}\" := replace(\"{c}\", '{home.resolve()}/', '')" if t == "VARCHAR"
                               else f'"{c}" := "{c}"' for c, t in cols if c in kept)
            rows, digest = con.execute(
                f'select count(*), coalesce(sum(hash(struct_pack({quoted}))::hugeint), 0)::varchar '
                f'from "{name}"').fetchone()
            out[name] = {"columns": [f"{c} {t}" for c, t in cols], "rows": rows, "hash": digest}
        return out
    finally:
        con.close()


def compare(a: dict[str, dict], b: dict[str, dict]) -> list[str]:
    diffs = []
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            diffs.append(f"{name}: only in {'A' if name in a else 'B'}")
            continue
        for key in ("columns", "rows", "hash"):
            if a[name][key] != b[name][key]:
                diffs.append(f"{name}: {key} differ: {a[name][key]} != {b[name][key]}")
    return diffs


def build(home: Path, days: int, calls: int, seed: int, org: str) -> int:
    from pipelines.demo import run_demo
    from pipelines.settings import load_settings

    home.mkdir(parents=True, exist_ok=True)
    formats = ("mixed",) if org == "mixed" else ("canonical",)
    return run_demo(load_settings(home=home), days, calls, seed, formats)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.tools.published", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="run the demo into an empty home")
    b.add_argument("home", type=Path)
    b.add_argument("--days", type=int, default=10)
    b.add_argument("--calls", type=int, default=2000)
    b.add_argument("--seed", type=int, default=5)
    b.add_argument("--org", choices=("mixed", "classic"), default="mixed")
    f = sub.add_parser("fingerprint", help="print the published tables' fingerprints as JSON")
    f.add_argument("home", type=Path)
    c = sub.add_parser("compare", help="compare two homes' published tables")
    c.add_argument("home_a", type=Path)
    c.add_argument("home_b", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "build":
        return build(args.home, args.days, args.calls, args.seed, args.org)
    if args.cmd == "fingerprint":
        json.dump(fingerprint(args.home), sys.stdout, indent=1)
        return 0
    diffs = compare(fingerprint(args.home_a), fingerprint(args.home_b))
    for d in diffs:
        print(d)
    print(f"{len(diffs)} difference(s)" if diffs else "published tables identical")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
