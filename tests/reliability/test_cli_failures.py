"""Every command's failure modes, as a user meets them: one line on stderr, a non-zero exit, no traceback.

Each command runs as its own process (``python -m pipelines.cli``), so what is tested is what a shell sees.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from pipelines.settings import load_settings
from tests.conftest import call, write_jsonl
from tests.quality.days import build, land_all, write_day

DAY = date(2026, 11, 10)


def tokenbooks(*args: str, home: Path | None = None, cwd: Path | None = None, env: dict | None = None,
               preexec_fn=None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENBOOKS_", "DAGSTER_"))}
    environ.update(env or {})
    argv = [sys.executable, "-m", "pipelines.cli", *(["--home", str(home)] if home else []), *args]
    return subprocess.run(argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=300,
                          preexec_fn=preexec_fn)


def one_line_failure(result: subprocess.CompletedProcess, *expected: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def argparse_failure(result: subprocess.CompletedProcess, expected: str) -> None:
    """argparse's own error: its usage line, then one error line, exit 2."""
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("tokenbooks") and expected in result.stderr, result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("built")
    settings = load_settings(home=root / "tb")
    settings.ensure_dirs()
    land_all(settings, write_day(root / "in", DAY))
    build(settings, [DAY])
    return settings.home


@contextmanager
def held_read_write(warehouse: Path) -> Iterator[None]:
    """Another process with a read-write connection on the warehouse (an analyst's session)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
                               "sys.stdin.read()", str(warehouse)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.mark.parametrize("args", [
    ["sql", "select count(*) from fct_llm_calls"],
    ["digest", "--day", DAY.isoformat()],
    ["whatif", "--feature", "summary", "--model", "openai/gpt-4o-mini"],
])
def test_commands_reading_a_warehouse_held_read_write_elsewhere(built, args):
    with held_read_write(built / "warehouse.duckdb"):
        line = one_line_failure(tokenbooks(*args, home=built), "open read-write in another process (PID")
    assert "read_only=True" in line


def test_where_no_home_exists_each_command_says_how_to_point_at_one(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (["sql", "select 1"], ["digest"], ["whatif", "--feature", "x", "--model", "a/b"],
                 ["build", "--from", DAY.isoformat()], ["ingest", str(empty)], ["pull", "openai", "--from", "2026-11-01"]):
        result = tokenbooks(*args, cwd=empty, env={"OPENAI_ADMIN_KEY": "sk-test"})
        if args[0] == "ingest":
            one_line_failure(result, "no files found")
        else:
            one_line_failure(result, "pass --home DIR or set TOKENBOOKS_HOME")
    assert list(empty.iterdir()) == []  # nothing was created where no home was named


def test_bad_addresses_are_refused_before_anything_is_sent(built, tmp_path):
    for to, why in [("ok@x, extra@evil", "expected one e-mail address"), ("ok@x\r\nBcc: extra@evil", "line break")]:
        argparse_failure(tokenbooks("digest", "--day", DAY.isoformat(), "--to", to, home=built),
                         f"argument --to: {'an e-mail address cannot contain a ' if why == 'line break' else ''}{why}")
    config = tmp_path / "bad.yaml"
    config.write_text('recipients: ["ok@x, extra@evil"]\nsmtp: {sender: "me@x\\r\\nBcc: evil@x"}\n')
    line = one_line_failure(tokenbooks("--config", str(config), "digest", "--day", DAY.isoformat(), home=built),
                            "recipients.0: expected one e-mail address", "smtp.sender: an e-mail address cannot")
    assert str(config) in line


def test_config_mistakes_are_one_line(built, tmp_path):
    for text, expected in [("bogus_key: 1\n", "bogus_key: unknown key"),
                           ("budgets: [{name: x, limit_usd: oops}]\n", "budgets.0.limit_usd"),
                           ("smtp: {password: x}\n", "secrets (password) belong in environment variables")]:
        config = tmp_path / "c.yaml"
        config.write_text(text)
        one_line_failure(tokenbooks("--config", str(config), "config", "check", home=built), expected)
    one_line_failure(tokenbooks("--config", str(tmp_path / "missing.yaml"), "sql", "select 1", home=built),
                     "no such config file")


def test_sql_refuses_statements_that_write(built, tmp_path):
    target = tmp_path / "x.csv"
    for statement in [f"copy (select 1) to '{target}'", "create table t as select 1", "attach 'other.db'",
                      "insert into fct_llm_calls select * from fct_llm_calls", "install httpfs", "set threads = 1"]:
        one_line_failure(tokenbooks("sql", statement, home=built), "tokenbooks sql runs queries only")
    assert not target.exists()
    one_line_failure(tokenbooks("sql", "select * from no_such_table", home=built), "no_such_table")


def test_whatif_on_an_unknown_feature_lists_the_known_ones(built):
    one_line_failure(tokenbooks("whatif", "--feature", "nosuch", "--model", "openai/gpt-4o-mini", home=built),
                     "no feature 'nosuch'", "known features: ", "summary")


def test_unknown_choices_are_argparse_errors(built):
    argparse_failure(tokenbooks("ingest", "--format", "nosuch", str(built), home=built), "unknown format 'nosuch'")
    argparse_failure(tokenbooks("sql", "select 1", "--format", "nosuch", home=built), "invalid choice: 'nosuch'")
    argparse_failure(tokenbooks("build", "--from", "yesterday", home=built), "not a date")


def test_a_pull_that_cannot_connect_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path / "tb"
    home.mkdir()
    (home / "tokenbooks.yaml").write_text(f"pull: {{retries: 1, openai_base_url: 'http://127.0.0.1:{port}'}}\n")
    one_line_failure(tokenbooks("pull", "openai", "--from", "2026-11-01", home=home, env={"OPENAI_ADMIN_KEY": "sk-x"}),
                     "failed after 2 attempts", "refused")
    one_line_failure(tokenbooks("pull", "openai", "--from", "2026-11-01", home=home), "OPENAI_ADMIN_KEY is not set")


def _file_size_limit() -> None:
    """In the child: writes past 256 KB fail as a full disk would (EFBIG), instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def test_a_full_disk_during_ingest_is_one_line_and_leaves_no_partial_file(tmp_path):
    home = tmp_path / "tb"
    calls = write_jsonl(tmp_path / "calls.jsonl", [  # ids that do not compress: the landed file is megabytes
        call(call_id=hashlib.sha256(b"c%d" % i).hexdigest(), user_id=hashlib.sha256(b"u%d" % i).hexdigest())
        for i in range(40_000)])
    result = tokenbooks("ingest", str(calls), home=home, preexec_fn=_file_size_limit)
    one_line_failure(result, "could not be written: file too large (nothing partial was kept)")
    assert [p for p in home.rglob("*") if p.name.endswith((".tmp", ".part"))] == []
    assert not list((home / "lake").rglob("*.parquet"))
    assert tokenbooks("ingest", str(calls), home=home).returncode == 0  # with room again, it lands in full


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_an_export_that_runs_out_of_room_keeps_the_one_before(built, tmp_path, fmt):
    """`tokenbooks sql -o FILE` replaces the file whole or not at all: a full disk half-way leaves the last export."""
    target = tmp_path / f"export.{fmt}"
    query = "select range as n, md5(range::varchar) as h from range(20000)"  # ~0.7 MB: past the 256 KB limit
    assert tokenbooks("sql", "select 1 as n", "--format", fmt, "-o", str(target), home=built).returncode == 0
    before = target.read_bytes()
    one_line_failure(tokenbooks("sql", query, "--format", fmt, "-o", str(target), home=built, preexec_fn=_file_size_limit),
                     "could not be written: file too large (nothing partial was kept)")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert tokenbooks("sql", query, "--format", fmt, "-o", str(target), home=built).returncode == 0  # with room again
    assert target.stat().st_size > 256 * 1024


def test_the_same_file_ingested_by_several_processes_at_once(tmp_path):
    home = tmp_path / "tb"
    calls = write_jsonl(tmp_path / "calls.jsonl", [call(call_id=f"c-{i:06d}") for i in range(20_000)])
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TOKENBOOKS_", "DAGSTER_"))}
    argv = [sys.executable, "-m", "pipelines.cli", "--home", str(home), "ingest", str(calls)]
    runs = [subprocess.Popen(argv, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0] * len(runs), outputs
    assert not any("Traceback" in err for _, err in outputs), outputs
    assert [p for p in home.rglob("*") if p.name.endswith((".tmp", ".part"))] == []
    landed = list((home / "lake" / "calls").rglob("*.parquet"))
    assert len(landed) == 1
    import polars as pl

    assert pl.read_parquet(landed[0]).height == 20_000
