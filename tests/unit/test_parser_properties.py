"""Property-based tests of the parsers (Hypothesis): generated files of valid and invalid records.

- canonical call logs: landed + quarantined = records; exactly the valid records land, their token sums equal
  the generated ones; every other record is quarantined with a field and a reason;
- OpenAI Costs API and Anthropic cost report pages: the landed money equals the valid amounts exactly, as
  Decimal (Anthropic's in cents);
- any format, any damage to its sample: landing never raises, and parsing raises nothing but InputError (or
  the reader errors landing turns into a named error).

Each example lands in a fresh temporary home; examples are few and have no deadline (landing starts DuckDB).
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.formats.base import InputError, ParseContext
from pipelines.ingest.land import file_sha, land_file
from pipelines.ingest.registry import FORMATS, by_name
from pipelines.settings import load_settings
from tests.reliability.test_bad_input import SAMPLES

PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MISSING = object()


def landed(home, table: str, path: Path) -> pl.DataFrame | None:
    files = sorted((home.lake / table).glob(f"day=*/{file_sha(path)[:24]}*.parquet"))
    return pl.read_parquet(files, hive_partitioning=False) if files else None


def quarantined(home, path: Path) -> pl.DataFrame | None:
    q = home.quarantine / f"{file_sha(path)[:24]}.parquet"
    return pl.read_parquet(q) if q.exists() else None


# ---- canonical call logs ----------------------------------------------------------------------------

tokens = st.one_of(st.integers(-1000, 10**12), st.just("lots"), st.just(MISSING), st.none())
times = st.one_of(
    st.datetimes(datetime(2001, 1, 1), datetime(2098, 12, 31), timezones=st.just(timezone.utc)).map(lambda t: t.isoformat()),
    st.just("yesterday"),
    st.just(MISSING),
    st.integers(10**12, 2 * 10**12),  # epoch milliseconds where a timestamp is expected
)
call_record = st.fixed_dictionaries(
    {
        "occurred_at": times,
        "model": st.one_of(st.sampled_from(["gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929", "no-such-model"]), st.just(MISSING)),
        "input_tokens": tokens,
        "cached_input_tokens": tokens,
        "output_tokens": tokens,
    }
)
junk_line = st.sampled_from(["not json at all", "[1, 2, 3]", '{"call_id": ', "null", "   "])
lines = st.lists(st.one_of(call_record, junk_line), min_size=1, max_size=12)


def is_count(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def valid_call(r: dict) -> bool:
    """The contract's rules for a canonical call, written independently of the parser."""
    t = r["occurred_at"]
    if not isinstance(t, str) or r["model"] is MISSING:
        return False
    try:
        datetime.fromisoformat(t)
    except ValueError:
        return False
    inp, cached, out = r["input_tokens"], r["cached_input_tokens"], r["output_tokens"]
    if not (is_count(inp) and inp >= 0 and is_count(out) and out >= 0):
        return False
    if cached is MISSING or cached is None:
        return True  # defaults to 0
    return is_count(cached) and 0 <= cached <= inp


def render(i: int, item) -> str:
    if isinstance(item, str):
        return item
    record = {"call_id": f"c-{i}", "provider": "openai", **{k: v for k, v in item.items() if v is not MISSING}}
    return json.dumps(record)


@PROPS
@given(lines)
def test_canonical_call_logs_land_exactly_the_valid_records(items):
    with tempfile.TemporaryDirectory() as tmp:
        home = load_settings(home=Path(tmp) / "tb")
        path = Path(tmp) / "calls.jsonl"
        text = "".join(render(i, item) + "\n" for i, item in enumerate(items))
        path.write_text(text)
        result = land_file(path, home, fmt="tokenbooks_calls")
        if not text.strip():
            assert result.error is None and result.records_in == 0
            return
        assert result.error is None, result.error
        records = [item for item in items if not (isinstance(item, str) and not item.strip())]
        valid = {f"c-{i}": item for i, item in enumerate(items) if isinstance(item, dict) and valid_call(item)}
        assert result.records_in == len(records)
        assert result.landed + result.quarantined == result.records_in
        assert result.landed == len(valid)
        rows = landed(home, "calls", path)
        got = set(rows["call_id"]) if rows is not None else set()
        assert got == set(valid)
        if valid:
            assert rows["input_tokens"].sum() == sum(r["input_tokens"] for r in valid.values())
            assert rows["output_tokens"].sum() == sum(r["output_tokens"] for r in valid.values())
            assert rows["cached_input_tokens"].sum() == sum(
                r["cached_input_tokens"] if is_count(r["cached_input_tokens"]) else 0 for r in valid.values()
            )
        q = quarantined(home, path)
        assert (q.height if q is not None else 0) == result.quarantined
        if q is not None:
            assert q["field"].null_count() == 0 and q["reason"].null_count() == 0 and q["record"].null_count() == 0


# ---- provider cost pages: money exact as Decimal ---------------------------------------------------

amounts = st.one_of(
    st.decimals(min_value=Decimal("-50"), max_value=Decimal("100000"), places=6, allow_nan=False, allow_infinity=False),
    st.sampled_from(["lots", "", "1,5"]),
)
DAY0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def money_ok(a) -> bool:
    return isinstance(a, Decimal)


@PROPS
@given(st.lists(st.lists(amounts, min_size=0, max_size=5), min_size=1, max_size=3))
def test_openai_costs_pages_land_the_valid_amounts_exactly(buckets):
    data = []
    for b, results in enumerate(buckets):
        start = DAY0 + timedelta(days=b)
        data.append(
            {
                "object": "bucket",
                "start_time": int(start.timestamp()),
                "end_time": int((start + timedelta(days=1)).timestamp()),
                "results": [
                    {
                        "object": "organization.costs.result",
                        "amount": {"value": str(a), "currency": "usd"},
                        "line_item": f"gpt-4o-mini-2024-07-18, input {b}-{i}",
                        "project_id": "proj_x",
                    }
                    for i, a in enumerate(results)
                ],
            }
        )
    page = {"object": "page", "data": data, "has_more": False, "next_page": None}
    expected = sum((a for results in buckets for a in results if money_ok(a)), Decimal(0))
    n_bad = sum(1 for results in buckets for a in results if not money_ok(a))
    check_money(page, "openai_costs_page", expected, n_bad, sum(map(len, buckets)))


@PROPS
@given(st.lists(amounts, min_size=1, max_size=8))
def test_anthropic_cost_report_cents_land_as_exact_dollars(results):
    page = {
        "data": [
            {
                "starting_at": "2026-11-10T00:00:00Z",
                "ending_at": "2026-11-11T00:00:00Z",
                "results": [
                    {"currency": "USD", "amount": str(a), "workspace_id": "wrkspc_01", "description": None,
                     "cost_type": "tokens", "context_window": "0-200k", "model": "claude-sonnet-4-20250514",
                     "service_tier": "standard", "token_type": f"output_tokens_{i}"}
                    for i, a in enumerate(results)
                ],
            }
        ],
        "has_more": False,
        "next_page": None,
    }
    expected = sum((a for a in results if money_ok(a)), Decimal(0)) / 100  # cents
    check_money(page, "anthropic_cost_report", expected, sum(1 for a in results if not money_ok(a)), len(results))


def check_money(page: dict, fmt: str, expected: Decimal, n_bad: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = load_settings(home=Path(tmp) / "tb")
        path = Path(tmp) / "costs.json"
        path.write_text(json.dumps(page))
        result = land_file(path, home, fmt=fmt)
        assert result.error is None, result.error
        assert result.landed + result.quarantined == result.records_in
        assert result.records_in + result.skipped == n
        assert result.quarantined == n_bad
        rows = landed(home, "provider_costs", path)
        total = Decimal(0) if rows is None else duckdb.sql("select sum(billed_cost_usd) from rows").fetchall()[0][0] or Decimal(0)
        assert isinstance(total, Decimal)
        assert total == expected


# ---- any format, any damage: nothing but InputError -----------------------------------------------

READER_ERRORS = (InputError, duckdb.InvalidInputException, duckdb.ConversionException, UnicodeDecodeError)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_damaged_samples_never_raise_anything_but_input_errors(name, data):
    sample = SAMPLES[name]
    raw = sample.read_bytes()
    cut = data.draw(st.integers(0, len(raw)), label="cut")
    insert = data.draw(st.binary(max_size=8) | st.sampled_from([b"\xe9", b"\x00", b'"', b"\n", b",", b"{", b"}"]), label="insert")
    at = data.draw(st.integers(0, cut), label="at")
    damaged = raw[:at] + insert + raw[at:cut]
    with tempfile.TemporaryDirectory() as tmp:
        home = load_settings(home=Path(tmp) / "tb")
        home.ensure_dirs()
        path = Path(tmp) / f"damaged{sample.suffix}"
        path.write_bytes(damaged)
        fmt = by_name(name)
        try:
            fmt.parse(path, ParseContext(settings=home))
        except READER_ERRORS:
            pass  # an InputError, or a reader error that landing names (below)
        result = land_file(path, home, fmt=name)  # never raises
        if result.error:
            assert result.error.startswith(str(path)), result.error
        else:
            assert result.landed + result.quarantined == result.records_in


def test_every_format_is_fuzzed():
    assert {f.name for f in FORMATS} == set(SAMPLES)
