"""A call's identity through the SQL models: its model is the model that served it (an Azure deployment or a
Bedrock application inference profile resolved from the data), and one call seen by two observers without a
shared id (OpenAI embeddings through OTel and a LiteLLM proxy) is one call — while two different calls with
identical token counts a moment apart stay two.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.settings import Settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish

DAY = date(2026, 11, 10)
NS = 1794312000 * 10**9  # 2026-11-10T12:00:00Z


def s(key, value):
    return {"key": key, "value": {"stringValue": value}}


def i(key, value):
    return {"key": key, "value": {"intValue": str(value)}}


def span(n: int, start_ms: int, attrs: list) -> dict:
    start = NS + start_ms * 10**6
    return {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "name": "chat", "kind": 3,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 300 * 10**6), "attributes": attrs,
            "status": {}}


def otel_file(path: Path, spans: list[dict]) -> Path:
    path.write_text(json.dumps({"resourceSpans": [{
        "resource": {"attributes": [s("service.name", "docs-search")]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"}, "spans": spans}]}]}) + "\n")
    return path


def litellm_row(request_id: str, start_ms: int, provider: str, model: str, prompt: int, completion: int,
                call_type: str = "acompletion") -> dict:
    start = f"2026-11-10 12:{start_ms // 60000:02d}:{(start_ms % 60000) / 1000:06.3f}"
    return {"request_id": request_id, "call_type": call_type, "spend": "0.0001", "prompt_tokens": prompt,
            "completion_tokens": completion, "total_tokens": prompt + completion, "startTime": start,
            "endTime": start, "model": model, "model_group": model, "custom_llm_provider": provider,
            "cache_hit": "False", "request_tags": [], "end_user": "u-1", "status": "success",
            "metadata": {"status": "success", "additional_usage_values": {}}}


def litellm_file(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def build(settings: Settings, *files: Path) -> duckdb.DuckDBPyConnection:
    for f in files:
        result = land_file(f, settings)
        assert result.error is None, result.error
    build_day(DAY, settings)
    publish(settings)
    return open_warehouse(settings)


def test_an_azure_deployment_is_the_model_that_served_it(home: Settings, tmp_path: Path) -> None:
    """The span names the deployment as request model and gpt-4o-mini as response model; LiteLLM names only the
    deployment (azure/triage-prod). The shared call gets the served model; a call only LiteLLM saw is resolved
    through that call; a deployment nothing resolves stays as logged (doctor's job)."""
    spans = [span(1, 0, [s("gen_ai.operation.name", "chat"), s("gen_ai.system", "az.ai.openai"),
                         s("gen_ai.request.model", "triage-prod"), s("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
                         s("gen_ai.response.id", "chatcmpl-A1"), i("gen_ai.usage.input_tokens", 1200),
                         i("gen_ai.usage.output_tokens", 80)])]
    rows = [litellm_row("chatcmpl-A1", 20, "azure", "azure/triage-prod", 1200, 80),
            litellm_row("chatcmpl-A2", 60_000, "azure", "azure/triage-prod", 900, 40),
            litellm_row("chatcmpl-A3", 120_000, "azure", "azure/summary-prod", 500, 50)]
    con = build(home, otel_file(tmp_path / "spans.jsonl", spans), litellm_file(tmp_path / "litellm.jsonl", rows))
    got = con.execute("select provider_request_id, provider, model, model_resolution, source_count "
                      "from fct_llm_calls order by 1").fetchall()
    assert got == [("chatcmpl-A1", "azure", "gpt-4o-mini", "response", 2),
                   ("chatcmpl-A2", "azure", "gpt-4o-mini", "resolved:call", 1),
                   ("chatcmpl-A3", "azure", "summary-prod", "as_logged", 1)]


def embedding_span(n: int, start_ms: int, tokens: int) -> dict:
    return span(n, start_ms, [s("gen_ai.operation.name", "embeddings"), s("gen_ai.provider.name", "openai"),
                              s("gen_ai.request.model", "text-embedding-3-small"), i("gen_ai.usage.input_tokens", tokens)])


def uuid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def test_id_less_embeddings_seen_by_two_observers_are_one_call_each(home: Settings, tmp_path: Path) -> None:
    """E1 (380 tokens): span at +0 ms, proxy at +35 ms -> one call. E2 and E3 are two *different* calls of 512
    tokens 300 ms apart, each seen by both (proxy 40 ms after its span) -> two calls, not one and not four.
    E4 only the proxy saw. Expected: 4 calls, 3 of them merged without an id."""
    spans = [embedding_span(1, 0, 380), embedding_span(2, 10_000, 512), embedding_span(3, 10_300, 512)]
    rows = [litellm_row(uuid(1), 35, "openai", "text-embedding-3-small", 380, 0, "aembedding"),
            litellm_row(uuid(2), 10_040, "openai", "text-embedding-3-small", 512, 0, "aembedding"),
            litellm_row(uuid(3), 10_340, "openai", "text-embedding-3-small", 512, 0, "aembedding"),
            litellm_row(uuid(4), 50_000, "openai", "text-embedding-3-small", 512, 0, "aembedding")]
    con = build(home, otel_file(tmp_path / "spans.jsonl", spans), litellm_file(tmp_path / "litellm.jsonl", rows))
    got = con.execute("select input_tokens, strftime(occurred_at, '%S.%g') as at, source_count, merged_without_id "
                      "from fct_llm_calls order by occurred_at").fetchall()
    assert got == [(380, "00.000", 2, True), (512, "10.000", 2, True), (512, "10.300", 2, True),
                   (512, "50.000", 1, False)]


CUR_HEADER = ("bill_billing_period_start_date,line_item_usage_start_date,line_item_usage_end_date,line_item_line_item_type,"
              "line_item_product_code,line_item_usage_type,line_item_resource_id,line_item_usage_amount,pricing_unit,"
              "line_item_unblended_cost,line_item_currency_code,line_item_usage_account_id\n")
PROFILE = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5f6"


def test_a_bedrock_profile_arn_in_the_logs_is_the_model_its_cur_lines_bill(home: Settings, tmp_path: Path) -> None:
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps({"call_id": "c-1", "occurred_at": "2026-11-10T12:00:00Z", "provider": "aws",
                                 "model": PROFILE, "app": "sales-copilot", "feature": "classify",
                                 "input_tokens": 1500, "output_tokens": 300, "status": "ok"}) + "\n")
    cur = tmp_path / "cur.csv"
    cur.write_text(CUR_HEADER + "".join(
        f"2026-11-01T00:00:00Z,2026-11-10T12:00:00Z,2026-11-10T13:00:00Z,Usage,AmazonBedrock,{ut},{PROFILE},{n},"
        f"tokens,{cost},USD,111122223333\n"
        for ut, n, cost in (("USE1-Claude4.5Haiku-input-tokens", 1500, "0.0015"),
                            ("USE1-Claude4.5Haiku-output-tokens", 300, "0.0015"))))
    con = build(home, calls, cur)
    assert con.execute("select model, model_resolution, is_priced from fct_llm_calls").fetchall() == [
        ("claude-haiku-4-5", "resolved:bill", True)]
    # The whole bill (0.003) goes to the one call that explains it.
    assert con.execute("select sum(attributed_cost_usd) from fct_llm_calls").fetchone()[0] == \
        con.execute("select sum(billed_cost_usd) from fct_provider_costs").fetchone()[0]
