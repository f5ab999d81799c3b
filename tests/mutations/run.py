"""`make mutate`: plant each bug of mutants.yaml in a scratch copy of the repo, one at a time, and run its tests.

    python -m tests.mutations.run [--only ID ...] [--jobs N] [--timeout S] [--mutants FILE]

The working tree is never written to: the repo is copied to a temporary folder (one per job), each mutant is
written into the copy and the original file put back after its tests. A mutant is killed when its tests fail;
it survives when they pass. The run fails when any mutant survives, when a mutant's tests cannot run, or when a
mutant's `original` snippet is not in its file exactly once (the list must not go stale silently: after code
moves, fix the snippet).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = Path(__file__).with_name("mutants.yaml")
# Not copied: the environment, data and run state (paths from the repo root; the copy runs on this checkout's
# .venv), and caches wherever they are.
SKIP_PATHS = {".git", ".venv", "data", "benchmarks/work", "dagster_home/storage", "dagster_home/logs",
              "dagster_home/history", "dagster_home/schedules"}
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis"}
KEYS = ("id", "rule", "file", "original", "replacement", "tests")


@dataclass(frozen=True)
class Mutant:
    id: str
    rule: str
    file: str
    original: str
    replacement: str
    tests: tuple[str, ...]


def load(path: Path = MUTANTS) -> list[Mutant]:
    out = []
    for i, doc in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))):
        missing = [k for k in KEYS if k not in doc]
        if missing:
            raise SystemExit(f"{path}: mutant {doc.get('id', i + 1)}: missing {', '.join(missing)}")
        out.append(Mutant(**{k: doc[k] for k in KEYS[:-1]}, tests=tuple(str(t) for t in doc["tests"])))
    ids = [m.id for m in out]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"{path}: mutant ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return out


def stale(mutants: list[Mutant], root: Path = ROOT) -> list[str]:
    """Why each mutant cannot be planted: its file or snippet is gone, or the snippet is there more than once."""
    problems = []
    for m in mutants:
        path = root / m.file
        if not path.is_file():
            problems.append(f"file not found: {m.file}: {m.id}")
            continue
        count = path.read_text(encoding="utf-8").count(m.original)
        if count != 1:
            where = "snippet not found in" if count == 0 else f"snippet found {count} times in"
            problems.append(f"{where} {m.file}: {m.id}")
        for arg in m.tests:
            test_file = arg.split("::")[0]
            if arg.startswith("tests/") and not (root / test_file).is_file():
                problems.append(f"test file not found: {test_file}: {m.id}")
    return problems


def scratch_copy(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        here = Path(folder).relative_to(ROOT)
        return {n for n in names
                if n in SKIP_NAMES or (here / n).as_posix() in SKIP_PATHS or n.endswith((".egg-info", ".pyc"))}

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def pytest(copy: Path, args: tuple[str, ...], timeout: float) -> tuple[int, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")  # a restored file is never read from a stale .pyc
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *args]
    try:
        done = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s"
    return done.returncode, (done.stdout + done.stderr).strip()


def run_one(m: Mutant, copy: Path, timeout: float) -> tuple[str, str, float]:
    """(killed | survived | error, detail, seconds); the copy's file is put back whatever happens."""
    path = copy / m.file
    original = path.read_text(encoding="utf-8")
    started = time.perf_counter()
    try:
        path.write_text(original.replace(m.original, m.replacement, 1), encoding="utf-8")
        code, out = pytest(copy, m.tests, timeout)
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.perf_counter() - started
    last = out.splitlines()[-1] if out else ""
    if code == 1:
        return "killed", last, seconds
    if code == 0:
        return "survived", f"the tests passed with the bug in place ({last})", seconds
    return "error", f"pytest exit {code}: {out[-800:]}", seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", type=Path, default=MUTANTS, help="the list (default: mutants.yaml beside this)")
    parser.add_argument("--only", nargs="+", metavar="ID", help="run these mutants only")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once, each in its own copy")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per mutant's tests")
    parser.add_argument("--no-baseline", action="store_true", help="skip running the tests without any mutant first")
    args = parser.parse_args(argv)
    mutants = load(args.mutants)
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            print(f"unknown mutant id(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m.id in args.only]
    problems = stale(mutants)
    if problems:
        print("mutants.yaml is stale; fix these snippets after the code they mutate moved:", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="tokenbooks-mutants-") as tmp:
        copies = [scratch_copy(Path(tmp) / f"copy{j}") for j in range(max(1, args.jobs))]
        if not args.no_baseline and not baseline(mutants, copies[0], args.timeout * 2):
            return 1
        print(f"{len(mutants)} mutants, {len(copies)} at a time", flush=True)
        results = run_all(mutants, copies, args.timeout)
    bad = [(m, state, detail) for m, (state, detail, _) in results if state != "killed"]
    for m, state, detail in bad:
        print(f"\n{state.upper()}: {m.id} ({m.file})\n  rule: {m.rule}\n  {detail}", file=sys.stderr)
    print(f"\n{len(results) - len(bad)} of {len(results)} mutants killed")
    return 1 if bad else 0


def baseline(mutants: list[Mutant], copy: Path, timeout: float) -> bool:
    """Every targeted test passes without a mutant: else a failing test would "kill" every mutant. Tests named by
    file or node id run in one pytest; a list with options (``-k``) runs on its own."""
    plain = sorted({a for m in mutants if not any(a.startswith("-") for a in m.tests) for a in m.tests})
    optioned = sorted({m.tests for m in mutants if any(a.startswith("-") for a in m.tests)})
    started = time.perf_counter()
    for args in ([tuple(plain)] if plain else []) + optioned:
        code, out = pytest(copy, args, timeout)
        if code != 0:
            print(f"the targeted tests fail without any mutant; fix them first:\n{out[-3000:]}", file=sys.stderr)
            return False
    print(f"baseline: the targeted tests pass without any mutant ({time.perf_counter() - started:.0f} s)", flush=True)
    return True


def run_all(mutants: list[Mutant], copies: list[Path], timeout: float) -> list[tuple[Mutant, tuple[str, str, float]]]:
    free = list(copies)

    def work(m: Mutant):
        copy = free.pop()
        try:
            result = run_one(m, copy, timeout)
        finally:
            free.append(copy)
        state, _, seconds = result
        print(f"{state:8s} {seconds:5.0f} s  {m.id}", flush=True)
        return m, result

    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        return list(pool.map(work, mutants))


if __name__ == "__main__":
    sys.exit(main())
