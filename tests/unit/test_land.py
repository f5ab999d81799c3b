"""Landing: format by content, bad rows quarantined with file/record/field, re-landing changes nothing."""

from pathlib import Path

import polars as pl

from pipelines.ingest.land import land_file
from tests.conftest import call, write_jsonl


def lake_rows(settings, table="calls") -> pl.DataFrame:
    files = sorted((settings.lake / table).rglob("*.parquet"))
    return pl.read_parquet(files) if files else pl.DataFrame()


def test_canonical_calls_land_by_day_with_canonical_model(home, tmp_path):
    path = write_jsonl(
        tmp_path / "calls.jsonl",
        [
            call(call_id="a", occurred_at="2026-11-10T23:59:59Z"),
            call(call_id="b", occurred_at="2026-11-11T00:00:00+00:00", model="claude-sonnet-4-5-20250929",
                 provider="anthropic", cache_write_tokens=300, cache_write_1h_tokens=100, cached_input_tokens=200),
        ],
    )
    result = land_file(path, home)
    assert (result.format, result.table, result.landed, result.quarantined) == ("tokenbooks_calls", "calls", 2, 0)
    assert result.days == ["2026-11-10", "2026-11-11"]
    rows = lake_rows(home).sort("call_id")
    assert rows["model"].to_list() == ["gpt-4o-mini", "claude-sonnet-4-5"]
    assert rows["model_raw"].to_list() == ["gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929"]
    assert rows.row(1, named=True)["cache_write_1h_tokens"] == 100


def test_bad_rows_are_quarantined_with_record_field_and_reason(home, tmp_path):
    path = tmp_path / "calls.jsonl"
    write_jsonl(path, [call(call_id="good")])
    with path.open("a") as f:
        f.write("{not json\n")
        f.write('{"call_id": "neg", "occurred_at": "2026-11-10T00:00:00Z", "provider": "openai", "model": "gpt-4o", '
                '"input_tokens": -5, "output_tokens": 1}\n')
        f.write('{"call_id": "ts", "occurred_at": "last tuesday", "provider": "openai", "model": "gpt-4o", '
                '"input_tokens": 5, "output_tokens": 1}\n')
        f.write('{"call_id": "cache", "occurred_at": "2026-11-10T00:00:00Z", "provider": "openai", "model": "gpt-4o", '
                '"input_tokens": 5, "cached_input_tokens": 9, "output_tokens": 1}\n')
        f.write('{"call_id": "status", "occurred_at": "2026-11-10T00:00:00Z", "provider": "openai", "model": "gpt-4o", '
                '"input_tokens": 5, "output_tokens": 1, "status": "exploded"}\n')
    result = land_file(path, home)
    assert (result.records_in, result.landed, result.quarantined) == (6, 1, 5)
    q = pl.read_parquet(next(home.quarantine.glob("*.parquet"))).sort("record")
    assert q["record"].to_list() == [2, 3, 4, 5, 6]
    assert q["field"].to_list() == ["$", "input_tokens", "occurred_at", "cached_input_tokens", "status"]
    assert "not valid JSON" in q["reason"][0]
    assert set(q["source_file"]) == {str(path)}


def test_token_parts_that_exceed_their_whole_are_quarantined(home, tmp_path):
    """Cache reads and cache writes are both parts of the input: each fits, their sum must too. A call of 100
    input with 60 read and 60 written would leave 100 - 60 - 60 = -20 uncached tokens, priced negative."""
    rows = [
        call(call_id="fits", input_tokens=100, cached_input_tokens=40, cache_write_tokens=60),  # 0 uncached: fine
        call(call_id="both", input_tokens=100, cached_input_tokens=60, cache_write_tokens=60),
        call(call_id="1h", input_tokens=100, cache_write_tokens=30, cache_write_1h_tokens=31),
        call(call_id="think", output_tokens=10, reasoning_tokens=11),
        call(call_id="none", input_tokens=0, cached_input_tokens=0, output_tokens=0),  # an empty call is a call
    ]
    result = land_file(write_jsonl(tmp_path / "calls.jsonl", rows), home)
    assert (result.landed, result.quarantined) == (2, 3)
    assert sorted(lake_rows(home)["call_id"]) == ["fits", "none"]
    q = pl.read_parquet(next(home.quarantine.glob("*.parquet"))).sort("record")
    assert q.select("record", "field", "reason").rows() == [
        (2, "cache_write_tokens", "cached_input_tokens + cache_write_tokens exceeds input_tokens"),
        (3, "cache_write_1h_tokens", "exceeds cache_write_tokens"),
        (4, "reasoning_tokens", "exceeds output_tokens"),
    ]


def test_relanding_the_same_file_changes_nothing(home, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="a"), call(call_id="b")])
    first = land_file(path, home)
    before = sorted(p.name for p in home.lake.rglob("*"))
    second = land_file(path, home)
    assert second.already_landed and second.landed == first.landed == 2
    assert sorted(p.name for p in home.lake.rglob("*")) == before
    assert lake_rows(home).height == 2


def test_unrecognised_and_empty_files_get_one_clear_error(home, tmp_path):
    weird = tmp_path / "weird.csv"
    weird.write_text("a,b,c\n1,2,3\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r1, r2 = land_file(weird, home), land_file(empty, home)
    assert r1.error.startswith(f"{weird}: format not recognised")
    assert r2.error == f"{empty}: file is empty (0 bytes)"
    assert not any(home.lake.rglob("*.parquet"))


def test_user_ids_can_be_pseudonymised_with_a_keyed_hash(home, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_USER_HASH_KEY", "k1")
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="a", user_id="alice@example.com"),
                                                  call(call_id="b", user_id="alice@example.com")])
    land_file(path, home)
    users = set(lake_rows(home)["user_id"])
    assert len(users) == 1 and "alice@example.com" not in users and users.pop().startswith("u_")


def test_one_file_lands_once_per_format_it_is_read_as(home):
    """A Bedrock invocation log is provider usage by content and, named on purpose, call logs: two landings
    of the same bytes, each idempotent, neither overwriting the other's manifest or quarantine."""
    fixture = Path(__file__).parents[1] / "fixtures" / "bedrock" / "invocation_calls.jsonl"
    settings = home
    usage = land_file(fixture, settings)
    calls = land_file(fixture, settings, fmt="bedrock_invocation_calls")
    assert (usage.table, calls.table) == ("provider_usage", "calls")
    assert usage.error is None and calls.error is None and not calls.already_landed
    assert usage.landed > 0 and calls.landed > 0
    assert land_file(fixture, settings).already_landed
    assert land_file(fixture, settings, fmt="bedrock_invocation_calls").already_landed
    assert len(list((settings.lake / "_manifest").glob("*.json"))) == 2


def test_a_clean_file_and_one_with_a_bad_line_land_the_same_good_rows(home, tmp_path, monkeypatch):
    """A clean file is read by DuckDB's JSON reader in one pass; one bad line sends the whole file to the line
    reader. Both give each row its line number, and neither takes ``true`` for a token count."""
    from pipelines.ingest import land

    fast_path = []  # per file read: did the one-pass reader take it? (pipelines.ingest.clean: read to Parquet)
    real = land.land_clean
    monkeypatch.setattr(land, "land_clean", lambda *a: fast_path.append(r := real(*a)) or r)
    good = [call(call_id=f"c{i}", input_tokens=100 + i) for i in range(1, 6)]
    clean = write_jsonl(tmp_path / "clean.jsonl", good)
    clean.write_text(clean.read_text().rstrip("\n"))  # the last line without its newline still counts
    result = land_file(clean, home)
    assert (result.records_in, result.landed, result.quarantined) == (5, 5, 0)
    rows = lake_rows(home).sort("source_line")
    assert rows["source_line"].to_list() == [1, 2, 3, 4, 5]
    assert rows["call_id"].to_list() == ["c1", "c2", "c3", "c4", "c5"]
    assert [r is not None for r in fast_path] == [True]

    mixed = write_jsonl(tmp_path / "mixed.jsonl", [*good[:2], call(call_id="bool", input_tokens=True),
                                                   call(call_id="word", output_tokens="lots"), *good[2:]])
    result = land_file(mixed, home)
    assert (result.records_in, result.landed, result.quarantined) == (7, 5, 2)
    rows = lake_rows(home).filter(pl.col("source_file") == str(mixed)).sort("source_line")
    assert rows["source_line"].to_list() == [1, 2, 5, 6, 7]
    q = pl.read_parquet(next(home.quarantine.glob(f"*.parquet"))).sort("record")
    assert q.select("record", "field").rows() == [(3, "input_tokens"), (4, "output_tokens")]
    assert [r is not None for r in fast_path] == [True, False]  # the bad records went to the line reader


def test_a_blank_line_keeps_every_record_on_its_own_line_number(home, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="a"), call(call_id="b")])
    path.write_text(path.read_text().replace("\n", "\n\n", 1))
    result = land_file(path, home)
    assert (result.records_in, result.landed, result.quarantined) == (2, 2, 0)
    assert lake_rows(home).sort("source_line")["source_line"].to_list() == [1, 3]


def test_a_file_left_in_landing_is_not_read_again_until_it_changes(home, tmp_path, monkeypatch):
    """Every landing run sees the files kept in landing/: an unchanged one (same size and mtime) is answered from
    the manifest without reading it, so a run's cost does not grow with the history kept there."""
    import os

    from pipelines.ingest import land

    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="a"), call(call_id="b")])
    assert land_file(path, home).landed == 2
    real_digest = land._digest
    reads = []
    monkeypatch.setattr(land, "_digest", lambda p: reads.append(p) or real_digest(p))
    again = land_file(path, home)
    assert again.already_landed and again.landed == 2 and reads == []

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touched, same bytes: hashed, still landed
    assert land_file(path, home).already_landed and len(reads) == 1

    write_jsonl(path, [call(call_id="a"), call(call_id="b"), call(call_id="c")])  # rewritten in place
    changed = land_file(path, home)
    assert not changed.already_landed and changed.landed == 3 and len(reads) == 2
