"""A big line-oriented file lands in pieces: same rows, same line numbers, same quarantine as in one go."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest import land, pieces
from pipelines.settings import load_settings


def _calls_file(path: Path, n: int) -> Path:
    lines = []
    for i in range(1, n + 1):
        rec = {
            "call_id": f"c-{i}", "occurred_at": f"2026-11-{10 + i % 3:02d}T12:00:00Z", "provider": "openai",
            "model": "gpt-4o-mini-2024-07-18", "app": "a", "feature": "f", "user_id": f"u-{i % 7}",
            "input_tokens": 100 + i, "output_tokens": 10,
        }
        if i % 17 == 0:
            lines.append("not json")
        elif i % 23 == 0:
            rec["input_tokens"] = "many"
            lines.append(json.dumps(rec))
        elif i % 29 == 0:
            lines.append("")
        else:
            lines.append(json.dumps(rec))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _landed(settings, table: str) -> pl.DataFrame:
    files = sorted((settings.lake / table).rglob("*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]).drop("source_file", strict=False).sort("source_line")


@pytest.mark.parametrize("piece_bytes", [700, 4096])
def test_pieces_land_like_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece_bytes: int) -> None:
    monkeypatch.delenv("TOKENBOOKS_USER_HASH_KEY", raising=False)
    src = _calls_file(tmp_path / "calls.jsonl", 300)
    whole = load_settings(home=tmp_path / "whole")
    one = land.land_file(src, whole)
    monkeypatch.setattr(pieces, "PIECE_BYTES", piece_bytes)
    split = load_settings(home=tmp_path / "split")
    many = land.land_file(src, split)
    assert one.error is None and many.error is None
    assert (many.records_in, many.landed, many.quarantined, many.days) == (one.records_in, one.landed, one.quarantined, one.days)
    assert one.quarantined > 0 and one.landed + one.quarantined == one.records_in
    assert len(list((split.lake / "calls").rglob("*.parquet"))) > len(list((whole.lake / "calls").rglob("*.parquet")))
    assert _landed(split, "calls").equals(_landed(whole, "calls"))
    q_one = pl.read_parquet(next(whole.quarantine.glob("*.parquet"))).sort("record")
    q_many = pl.read_parquet(next(split.quarantine.glob("*.parquet"))).sort("record")
    assert q_many.equals(q_one)
    assert not list((split.work / "pieces").glob("*"))  # pieces are removed
