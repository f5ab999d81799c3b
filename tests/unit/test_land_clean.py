"""A clean call log lands in one DuckDB pass per piece (``pipelines.ingest.clean``): the same lake rows as the exact
path, line numbers across pieces, text rewritten as Polars does, and nothing left over when the file is not clean."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest import clean, land, pieces
from pipelines.ingest.formats.lines import LineCounter, LiteralScan
from pipelines.settings import load_settings
from tests.conftest import call, write_jsonl


def _records(n: int) -> list[dict]:
    providers = ["openai", "OpenAI", "Anthropic", "ÖpenRouter", "İbm"]  # non-ASCII: Polars' lowercase, not DuckDB's
    reasons = [None, "end_turn", " Stop ", "MAX_TOKENS", "weird reason", "", "ΣΤΟΠ"]
    return [
        call(call_id=f"c-{i}", occurred_at=f"2026-11-{10 + i % 3:02d}T12:00:{i % 60:02d}.{i % 1000:03d}Z",
             provider=providers[i % len(providers)], model=["gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929"][i % 2],
             user_id=f"u-{i % 7}", finish_reason=reasons[i % len(reasons)], cached_input_tokens=None if i % 5 else 10,
             input_tokens=100 + i)
        for i in range(1, n + 1)
    ]


def _lake(settings) -> pl.DataFrame:
    files = sorted((settings.lake / "calls").rglob("*.parquet"))
    return pl.read_parquet(files).drop("source_file").sort("source_line")


@pytest.mark.parametrize("key", [None, "secret-key"])
def test_a_clean_file_lands_in_one_pass_as_the_exact_path_lands_it(tmp_path: Path, monkeypatch, key) -> None:
    monkeypatch.delenv("TOKENBOOKS_USER_HASH_KEY", raising=False)
    if key:
        monkeypatch.setenv("TOKENBOOKS_USER_HASH_KEY", key)
    src = write_jsonl(tmp_path / "calls.jsonl", _records(400))
    src.write_text(src.read_text().rstrip("\n"))  # the last line without its newline still counts
    taken = []
    real = land.land_clean
    monkeypatch.setattr(land, "land_clean", lambda *a: taken.append(r := real(*a)) or r)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 20_000)  # several pieces, each of several days
    monkeypatch.setattr(clean, "PARALLEL_BYTES", 1)  # and on every core, however small the file
    one_pass = load_settings(home=tmp_path / "one")
    fast = land.land_file(src, one_pass)
    assert taken and taken[0] is not None and len(list((one_pass.lake / "calls").rglob("*.parquet"))) > 3
    monkeypatch.setattr(land, "land_clean", lambda *a: None)
    exact_home = load_settings(home=tmp_path / "exact")
    exact = land.land_file(src, exact_home)
    assert (fast.records_in, fast.landed, fast.quarantined, fast.days, fast.unpriced_models) == (
        exact.records_in, exact.landed, exact.quarantined, exact.days, exact.unpriced_models)
    assert fast.landed == 400
    one, other = _lake(one_pass), _lake(exact_home)
    assert one.schema == other.schema
    assert one.equals(other)
    assert one["source_line"].to_list() == list(range(1, 401))
    assert not list((one_pass.work / "clean").glob("*")) and not list((one_pass.work / "pieces").glob("*"))


def test_a_file_with_a_row_to_quarantine_takes_the_exact_path_and_leaves_nothing(home, tmp_path: Path, monkeypatch) -> None:
    records = _records(50)
    records[30]["cached_input_tokens"] = 10_000  # more than its input: validation quarantines it
    src = write_jsonl(tmp_path / "calls.jsonl", records)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2_000)
    monkeypatch.setattr(clean, "PARALLEL_BYTES", 1)  # the pieces under way are stopped when one is not clean
    taken = []
    real = land.land_clean
    monkeypatch.setattr(land, "land_clean", lambda *a: taken.append(r := real(*a)) or r)
    result = land.land_file(src, home)
    assert taken == [None]
    assert (result.records_in, result.landed, result.quarantined) == (50, 49, 1)
    q = pl.read_parquet(next(home.quarantine.glob("*.parquet")))
    assert q.select("record", "field").rows() == [(31, "cached_input_tokens")]
    assert not list((home.work / "clean").glob("*"))


def test_a_forced_relanding_in_other_pieces_leaves_one_copy_of_each_row(home, tmp_path: Path, monkeypatch) -> None:
    src = write_jsonl(tmp_path / "calls.jsonl", [r | {"occurred_at": "2026-11-10T12:00:00Z"} for r in _records(60)])
    real = land.land_clean
    monkeypatch.setattr(land, "land_clean", lambda *a: None)
    land.land_file(src, home)  # whole: <sha>.parquet
    monkeypatch.setattr(land, "land_clean", real)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2_000)
    again = land.land_file(src, home, force=True)  # in pieces: <sha>-0000.parquet, ...
    assert again.landed == 60
    assert len(list((home.lake / "calls").rglob("*.parquet"))) > 1
    assert pl.read_parquet(sorted((home.lake / "calls").rglob("*.parquet"))).height == 60


@pytest.mark.parametrize("at_least", [1, 2, 3, 7])
def test_ranges_are_cut_at_line_ends_with_the_lines_before_them(tmp_path: Path, at_least: int) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(b"".join(b"x" * (i % 13) + b"\n" for i in range(500)) + b"last line, no newline")
    marks, counter = [], LineCounter()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(pieces.MARK_BYTES), b""):
            marks.append(counter.newlines)
            counter.update(block)
    got = pieces.ranges(path, marks, counter.lines, at_least)
    data = path.read_bytes()
    assert len(got) == at_least and got[0].start == 0 and got[-1].end == len(data)
    for r, following in zip(got, got[1:]):
        assert r.end == following.start and data[r.end - 1:r.end] == b"\n"
        assert following.lines_before == r.lines_before + r.lines
    for r in got:
        assert r.lines_before == data[:r.start].count(b"\n")
    assert sum(r.lines for r in got) == 501


def test_a_clean_outcomes_file_lands_in_one_pass_as_the_exact_path_lands_it(tmp_path: Path, monkeypatch) -> None:
    """Outcome events take the same one pass (their value, money, read typed from its text)."""
    monkeypatch.setenv("TOKENBOOKS_USER_HASH_KEY", "secret-key")
    values = ["1.0", "987654.321098765432", "null", '"2.5"', "0.000000000001"]
    lines = [f'{{"outcome_id": "o-{i}", "occurred_at": "2026-11-{10 + i % 3:02d}T12:00:00.{i % 1000:03d}Z", '
             f'"user_id": "u-{i % 7}", "call_id": {"null" if i % 4 else f"{chr(34)}c-{i}{chr(34)}"}, '
             f'"outcome": "ticket_resolved", "value": {values[i % len(values)]}}}' for i in range(1, 301)]
    src = tmp_path / "outcomes.jsonl"
    src.write_text("\n".join(lines))
    taken = []
    real = land.land_clean
    monkeypatch.setattr(land, "land_clean", lambda *a: taken.append(r := real(*a)) or r)
    monkeypatch.setattr(pieces, "PIECE_BYTES", 10_000)
    monkeypatch.setattr(clean, "PARALLEL_BYTES", 1)
    one_pass = load_settings(home=tmp_path / "one")
    fast = land.land_file(src, one_pass)
    assert taken and taken[0] is not None and fast.landed == 300
    monkeypatch.setattr(land, "land_clean", lambda *a: None)
    exact_home = load_settings(home=tmp_path / "exact")
    exact = land.land_file(src, exact_home)
    assert (fast.records_in, fast.landed, fast.quarantined, fast.days) == (exact.records_in, exact.landed, exact.quarantined, exact.days)
    read = lambda s: pl.read_parquet(sorted((s.lake / "outcomes").rglob("*.parquet"))).sort("source_line")  # noqa: E731
    assert read(one_pass).equals(read(exact_home)) and read(one_pass).schema == read(exact_home).schema


@pytest.mark.parametrize("cut", range(0, 9))
def test_a_json_literal_is_found_wherever_the_blocks_cut_it(cut: int) -> None:
    data = b'{"a": "x", "v": false}'
    at = data.index(b"false") + cut - 4
    scan = LiteralScan()
    scan.update(data[:at])
    scan.update(data[at:])
    assert scan.found
    none = LiteralScan()
    none.update(b'{"a": "tru')
    none.update(b'th, fals", "v": 1}')
    assert not none.found


@pytest.mark.parametrize("cores, cut_in", [(1, 5), (2, 6), (3, 6)])
def test_a_big_file_is_cut_in_a_multiple_of_the_cores(tmp_path: Path, monkeypatch, cores: int, cut_in: int) -> None:
    """No core waits while the last piece runs alone: 4.5 pieces' worth of bytes on 2 cores is cut in 6, not 5."""
    monkeypatch.setattr(pieces, "PIECE_BYTES", 1_000)
    path = tmp_path / "lines.txt"
    path.write_bytes(b"".join(b"x" * 8 + b"\n" for _ in range(500)))  # 4,500 bytes
    got = pieces.ranges(path, [0], 500, cores)
    assert len(got) == cut_in and sum(r.lines for r in got) == 500
