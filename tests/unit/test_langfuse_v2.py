"""Langfuse's v2 observations API (``GET /api/public/v2/observations``, ``ObservationV2``): no ``model`` field,
``providedModelName`` and the served model in the OTel attributes instead, ``totalCost``, and a cursor envelope.
The fixture is a page in the documented shape; it lands like the v1 pages do."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.ingest.registry import detect
from pipelines.settings import Settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PAGE = FIXTURES / "langfuse/observations_v2_page.json"
TOKENS = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
          "reasoning_tokens"]


def land(path: Path, settings: Settings):
    result = land_file(path, settings)
    assert result.error is None, result.error
    calls = pl.read_parquet(sorted((settings.lake / "calls").glob("day=*/*.parquet")))
    q = list(settings.quarantine.glob("*.parquet"))
    return result, {r["call_id"]: r for r in calls.iter_rows(named=True)}, pl.read_parquet(q) if q else pl.DataFrame()


def test_v2_page_is_recognised_by_content(tmp_path: Path) -> None:
    copy = tmp_path / "export.bin"
    shutil.copy(PAGE, copy)
    assert detect(copy).name == "langfuse_observations"


def test_v2_generations_land_with_the_model_that_served(home: Settings) -> None:
    result, calls, q = land(PAGE, home)
    # 5 generations and embeddings (the span and the event are not calls); the one naming no model is quarantined.
    assert (result.records_in, result.landed, result.quarantined) == (5, 4, 1)
    assert q.select("record", "field", "reason").rows() == [(7, "model", "generation without model")]

    triage = calls["v2-obs-1"]
    # The served model (gen_ai.response.model) before the provided one; usageDetails.input is the uncached part.
    assert (triage["model_raw"], triage["model"], triage["provider"]) == ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", "openai")
    assert [triage[c] for c in TOKENS] == [2000, 800, 0, 0, 150, 0]
    assert (triage["app"], triage["feature"], triage["tenant_id"], triage["user_id"], triage["session_id"],
            triage["prompt_version"], triage["provider_request_id"]) == (
        "support-bot", "triage", "t-1", "u-7", "s-7", "triage@v4", "chatcmpl-AxV2a")
    assert triage["reported_cost_usd"] == Decimal("0.00033")
    assert triage["latency_ms"] == 2500

    draft = calls["v2-obs-2"]
    # Only providedModelName: it is the model. Anthropic's cache keys add back to the input.
    assert (draft["model_raw"], draft["model"], draft["provider"]) == (
        "claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "anthropic")
    assert [draft[c] for c in TOKENS] == [5500, 4000, 1000, 0, 700, 0]
    assert draft["reported_cost_usd"] == Decimal("0.02145")  # totalCost: costDetails is empty
    assert (draft["app"], draft["feature"], draft["user_id"]) == ("sales-copilot", "draft_email", "u-8")

    research = calls["v2-obs-3"]
    assert (research["model_raw"], research["model"]) == ("o4-mini-2025-04-16", "o4-mini")
    assert [research[c] for c in TOKENS] == [3000, 0, 0, 0, 2000, 1800]
    assert research["prompt_version"] == "research@v2"

    embedding = calls["v2-obs-4"]
    assert (embedding["model"], embedding["input_tokens"], embedding["output_tokens"]) == ("text-embedding-3-small", 512, 0)

    for path in [*home.lake.rglob("*.parquet"), *home.quarantine.glob("*.parquet")]:
        assert "SECRET" not in pl.read_parquet(path).select(pl.all().cast(pl.String)).write_csv(), path


@pytest.mark.parametrize("shape", ["jsonl", "array"])
def test_v2_cursor_pages_as_json_lines_or_an_array(shape: str, home: Settings, tmp_path: Path) -> None:
    """Paging with the cursor gives one page per response: saved one per line, or as a JSON array of pages."""
    page = json.loads(PAGE.read_text())
    first = {"data": page["data"][:3], "meta": {"cursor": "eyJsYXN0SWQiOiJ2Mi1vYnMtMyJ9"}}
    second = {"data": page["data"][3:], "meta": {}}
    path = tmp_path / f"pages.{shape}"
    if shape == "jsonl":
        path.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    else:
        path.write_text(json.dumps([first, second], indent=2))
    result, calls, _ = land(path, home)
    assert (result.records_in, result.landed, result.quarantined) == (5, 4, 1)
    assert {k: v["input_tokens"] for k, v in calls.items()} == {
        "v2-obs-1": 2000, "v2-obs-2": 5500, "v2-obs-3": 3000, "v2-obs-4": 512}
