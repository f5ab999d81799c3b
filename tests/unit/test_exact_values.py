"""Values land exactly as written or are quarantined with their reason, and both JSON readers agree: the fast
path (a clean file) and the line reader (a file with one broken line) read every value the same way."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.settings import load_settings
from tests.conftest import call, write_jsonl

UTC = timezone.utc
# (field, value as written, what lands, or the quarantine reason)
CASES = [
    ("output_tokens", 12, 12, None),
    ("output_tokens", 12.0, 12, None),
    ("output_tokens", "12", 12, None),
    ("output_tokens", "12.000", 12, None),
    ("output_tokens", "+12", 12, None),
    ("output_tokens", "1.2e1", 12, None),
    ("output_tokens", 1.5, None, "not a whole number: 1.5"),
    ("output_tokens", "1.5", None, "not a whole number: 1.5"),
    ("output_tokens", "0x1F", None, "not a whole number: 0x1F"),
    ("output_tokens", "1_000", None, "not a whole number: 1_000"),
    ("output_tokens", True, None, "not a whole number: true"),
    ("output_tokens", 10**20, None, "not a whole number: 100000000000000000000"),
    ("output_tokens", -1, None, "must be >= 0"),
    ("attempt", 2, 2, None),
    ("attempt", 2**31, None, "not a whole number: 2147483648"),
    ("occurred_at", "2026-11-10T12:00:00Z", datetime(2026, 11, 10, 12, tzinfo=UTC), None),
    ("occurred_at", "2026-11-10T12:00:00.123Z", datetime(2026, 11, 10, 12, 0, 0, 123000, tzinfo=UTC), None),
    ("occurred_at", "2026-11-10T13:30:00+01:30", datetime(2026, 11, 10, 12, tzinfo=UTC), None),
    ("occurred_at", "2026-11-10t12:00:00z", datetime(2026, 11, 10, 12, tzinfo=UTC), None),
    ("occurred_at", "2026-11-10T12:00:00+00:00", datetime(2026, 11, 10, 12, tzinfo=UTC), None),
    ("occurred_at", "2026-11-10T12:00:00", None, "not an RFC 3339 timestamp with a time zone: 2026-11-10T12:00:00"),
    ("occurred_at", "2026-11-10", None, "not an RFC 3339 timestamp with a time zone: 2026-11-10"),
    ("occurred_at", "2026-11-10T12:00:00+25:00", None, "not an RFC 3339 timestamp with a time zone: 2026-11-10T12:00:00+25:00"),
    ("occurred_at", "2026-11-10 12:00:00 UTC", None, "not an RFC 3339 timestamp with a time zone: 2026-11-10 12:00:00 UTC"),
    ("call_id", "12345", "12345", None),
    ("call_id", "true", "true", None),
    ("call_id", 12345, None, "must be a string, not a number: 12345"),
    ("call_id", {"id": "a"}, None, 'must be a string, not an object: {"id":"a"}'),
    ("call_id", ["a"], None, 'must be a string, not an array: ["a"]'),
    ("call_id", True, None, "must be a string, not a boolean: true"),
    ("call_id", " ", None, "empty value"),
    ("provider", "", None, "empty value"),
    ("model", "", None, "empty value"),
]
COLUMN = {"model": "model_raw"}


@pytest.mark.parametrize("field, value, lands, reason", CASES, ids=[f"{c[0]}={c[1]!r}" for c in CASES])
@pytest.mark.parametrize("reader", ["fast", "line"])
def test_a_value_lands_as_written_or_is_quarantined(field, value, lands, reason, reader, tmp_path):
    settings = load_settings(home=tmp_path / "tb")
    path = write_jsonl(tmp_path / "calls.jsonl", [call(**{"call_id": "x", field: value})])
    if reader == "line":  # one broken line sends the file to the line reader
        with open(path, "a") as f:
            f.write("{not json\n")
    result = land_file(path, settings)
    assert result.error is None, result.error
    if reason is None:
        lake = pl.read_parquet(sorted(settings.lake.glob("calls/day=*/*.parquet")))
        assert lake[COLUMN.get(field, field)].to_list() == [lands]
    else:
        q = pl.read_parquet(sorted(settings.quarantine.glob("*.parquet"))).filter(pl.col("record") == 1)
        assert q["reason"].to_list() == [reason]


# An outcome's value, as written in the JSON line: (its text, what lands, or the quarantine reason).
VALUES = [
    ("1.0", Decimal("1"), None),
    ("987654.321098765432", Decimal("987654.321098765432"), None),  # more digits than a double holds
    ("0.1234567890125", Decimal("0.123456789013"), None),
    ('"1.5"', Decimal("1.5"), None),
    ("1e3", Decimal("1000"), None),
    ("null", None, None),
    ("true", None, "not a valid decimal(38,12): true"),
    ("false", None, "not a valid decimal(38,12): false"),
    ('"abc"', None, "not a valid decimal(38,12): abc"),
]


@pytest.mark.parametrize("text, lands, reason", VALUES, ids=[v[0] for v in VALUES])
@pytest.mark.parametrize("reader", ["one pass", "line"])
def test_an_outcome_value_lands_exactly_as_written_or_is_quarantined(text, lands, reason, reader, tmp_path, monkeypatch):
    """An outcome's value is money or a count: read to DECIMAL from its text, never through a double, by the one-pass
    landing (DuckDB's reader typed) as by the line reader; ``true`` is no value in either."""
    from pipelines.ingest import land

    taken = []
    real = land.land_clean
    monkeypatch.setattr(land, "land_clean", lambda *a: taken.append(r := real(*a)) or r)
    settings = load_settings(home=tmp_path / "tb")
    path = tmp_path / "outcomes.jsonl"
    path.write_text('{"outcome_id": "o-1", "occurred_at": "2026-11-10T12:00:00Z", "outcome": "ticket_resolved", '
                    f'"value": {text}}}\n' + ("{not json\n" if reader == "line" else ""))
    result = land_file(path, settings)
    assert result.error is None, result.error
    assert (taken[0] is not None) == (reader == "one pass" and reason is None)
    if reason is None:
        lake = pl.read_parquet(sorted(settings.lake.glob("outcomes/day=*/*.parquet")))
        assert lake["value"].to_list() == [lands]
    else:
        q = pl.read_parquet(sorted(settings.quarantine.glob("*.parquet"))).filter(pl.col("record") == 1)
        assert q.select("field", "reason").rows() == [("value", reason)]
