"""Days are UTC dates whatever the machine's zone: each test here runs with TZ set to a zone whose local date
differs from the UTC date (CI also runs tests/unit and tests/assets once under TZ=Pacific/Kiritimati)."""

import os
import time
from datetime import date, datetime, timedelta, timezone

import duckdb
import polars as pl
import pytest

from pipelines.db import open_warehouse
from pipelines.cli import main
from pipelines.ingest.land import land_file
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish
from tests.conftest import call, write_jsonl


def far_zone(now: datetime) -> str:
    """A zone whose date differs from the UTC date at ``now``: UTC+14 after noon UTC, UTC-12 before it."""
    return "Pacific/Kiritimati" if now.hour >= 12 else "Etc/GMT+12"


@pytest.fixture
def machine_zone():
    """Set the process's zone (what DuckDB and the time module read) for one test, then put it back."""
    old = os.environ.get("TZ")

    def set_zone(zone: str) -> None:
        os.environ["TZ"] = zone
        time.tzset()

    yield set_zone
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


# occurred_at as the app wrote it -> the UTC day (worked by hand):
ZONED = {
    "z": ("2026-11-10T23:30:00Z", date(2026, 11, 10)),  # Kiritimati local: 11-11 13:30
    "east": ("2026-11-11T09:30:00+14:00", date(2026, 11, 10)),  # = 11-10 19:30 UTC
    "west": ("2026-11-10T14:30:00-10:00", date(2026, 11, 11)),  # = 11-11 00:30 UTC
    "west2": ("2026-11-10T19:00:00-10:00", date(2026, 11, 11)),  # = 11-11 05:00 UTC (Kiritimati local: 19:00)
}


def test_a_calls_day_is_its_utc_date_on_a_machine_far_from_utc(home, tmp_path, machine_zone):
    machine_zone("Pacific/Kiritimati")
    # A time without a zone is refused (the canonical log promises RFC 3339), never read in the machine's zone.
    bare = call(call_id="bare", occurred_at="2026-11-11T05:00:00")
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id=k, occurred_at=ts) for k, (ts, _) in ZONED.items()] + [bare])
    result = land_file(path, home)
    assert (result.landed, result.quarantined, result.days) == (4, 1, ["2026-11-10", "2026-11-11"])
    rows = pl.read_parquet(sorted((home.lake / "calls").rglob("*.parquet")))
    assert dict(zip(rows["call_id"], rows["day"])) == {k: d for k, (_, d) in ZONED.items()}
    # 05:00 UTC, whatever zone the machine reads it in.
    west2 = rows.filter(pl.col("call_id") == "west2")["occurred_at"][0]
    assert west2 == datetime(2026, 11, 11, 5, tzinfo=timezone.utc)

    for day in (date(2026, 11, 10), date(2026, 11, 11)):
        build_day(day, home)
    publish(home)
    con = open_warehouse(home)
    try:
        built = dict(con.execute("select call_id, day from fct_llm_calls").fetchall())
    finally:
        con.close()
    assert built == {k: d for k, (_, d) in ZONED.items()}


def test_an_otel_spans_instant_is_the_same_on_a_machine_far_from_utc(home, tmp_path, machine_zone):
    """startTimeUnixNano is an instant: 1794286800 s after the epoch is 2026-11-10 05:00:00 UTC (1794268800 is
    midnight: 20,767 days × 86,400 s; + 5 × 3,600). Read as a Kiritimati wall clock it would be 11-09 15:00 UTC."""
    machine_zone("Pacific/Kiritimati")
    attrs = [{"key": k, "value": {"stringValue": v}} for k, v in (
        ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o-mini"),
        ("gen_ai.response.id", "r-1"))] + [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}}]
    start = 1794286800 * 10**9
    spans = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "app"}, "spans": [
        {"traceId": "1" * 32, "spanId": "1" * 16, "name": "chat", "kind": 3, "startTimeUnixNano": str(start),
         "endTimeUnixNano": str(start + 10**9), "attributes": attrs}]}]}]}
    path = write_jsonl(tmp_path / "otlp.jsonl", [spans])
    result = land_file(path, home)
    assert (result.format, result.landed, result.days) == ("otel_genai_spans", 1, ["2026-11-10"])
    rows = pl.read_parquet(sorted((home.lake / "calls").rglob("*.parquet")))
    assert rows["occurred_at"].to_list() == [datetime(2026, 11, 10, 5, tzinfo=timezone.utc)]


def test_the_digest_defaults_to_yesterday_in_utc(home, tmp_path, machine_zone, capsys):
    now = datetime.now(timezone.utc)
    machine_zone(far_zone(now))
    yesterday = now.date() - timedelta(days=1)
    path = write_jsonl(tmp_path / "calls.jsonl", [call(occurred_at=f"{yesterday}T12:00:00Z")])
    assert land_file(path, home).error is None
    build_day(yesterday, home)
    publish(home)
    assert main(["--home", str(home.home), "digest"]) == 0
    written = capsys.readouterr().out
    # A run that straddles midnight UTC may see the next day; the machine's date is a day off either way.
    assert any(f"digest-{d}.html" in written for d in (yesterday, datetime.now(timezone.utc).date() - timedelta(days=1)))
