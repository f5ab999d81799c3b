"""The output cap, finish reason, trace and parent each app log carries land in the canonical columns
(max_output_tokens, finish_reason normalised, trace_id, parent_call_id); prompt and completion text never."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from pipelines.ingest.land import land_file
from pipelines.settings import Settings

COLUMNS = ["max_output_tokens", "finish_reason", "trace_id", "parent_call_id"]


def _land(path: Path, settings: Settings, fmt: str | None = None) -> dict[str, dict]:
    result = land_file(path, settings, fmt=fmt)
    assert result.error is None and result.quarantined == 0, result.line()
    calls = pl.read_parquet(sorted((settings.lake / "calls").glob("day=*/*.parquet")))
    for path in settings.lake.rglob("*.parquet"):
        assert "SECRET" not in pl.read_parquet(path).select(pl.all().cast(pl.String)).write_csv()
    return {r["call_id"]: {c: r[c] for c in COLUMNS} for r in calls.iter_rows(named=True)}


def _attr(key: str, value) -> dict:
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, parent: str, attrs: dict) -> dict:
    base = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20}
    return {"traceId": "trace-a", "spanId": span_id, "parentSpanId": parent, "name": "chat",
            "startTimeUnixNano": "1794312000000000000", "endTimeUnixNano": "1794312001000000000",
            "attributes": [_attr(k, v) for k, v in {**base, **attrs}.items()], "events": [
                {"name": "gen_ai.choice", "attributes": [_attr("message", "SECRET ANSWER")]}]}


def test_canonical_fields_and_finish_reasons_normalised(home, tmp_path):
    base = {"occurred_at": "2026-11-10T12:00:00Z", "provider": "anthropic", "model": "claude-haiku-4-5",
            "input_tokens": 100, "output_tokens": 256}
    lines = [
        {**base, "call_id": "c1", "max_output_tokens": 256, "finish_reason": "max_tokens", "trace_id": "t1"},
        {**base, "call_id": "c2", "finish_reason": "end_turn", "trace_id": "t1", "parent_call_id": "c1"},
        {**base, "call_id": "c3", "finish_reason": "TOOL_USE"},
        {**base, "call_id": "c4", "finish_reason": "pause_turn"},
        {**base, "call_id": "c5"},
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    got = _land(path, home)
    assert got["c1"] == {"max_output_tokens": 256, "finish_reason": "length", "trace_id": "t1", "parent_call_id": None}
    assert got["c2"] == {"max_output_tokens": None, "finish_reason": "stop", "trace_id": "t1", "parent_call_id": "c1"}
    assert got["c3"]["finish_reason"] == "tool_calls"
    assert got["c4"]["finish_reason"] == "pause_turn"  # unknown reasons are kept as written
    assert got["c5"] == dict.fromkeys(COLUMNS)


def test_otel_max_tokens_finish_reasons_array_trace_and_parent(home, tmp_path):
    spans = [
        _span("s1", "", {"gen_ai.request.max_tokens": 512, "gen_ai.response.finish_reasons": ["length"]}),
        _span("s2", "s1", {"gen_ai.response.finish_reasons": ["tool_calls", "stop"]}),
    ]
    doc = {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "agent")]},
                              "scopeSpans": [{"spans": spans}]}]}
    path = tmp_path / "otlp.jsonl"
    path.write_text(json.dumps(doc) + "\n")
    got = _land(path, home)
    assert got["s1"] == {"max_output_tokens": 512, "finish_reason": "length", "trace_id": "trace-a",
                         "parent_call_id": None}
    assert got["s2"] == {"max_output_tokens": None, "finish_reason": "tool_calls", "trace_id": "trace-a",
                         "parent_call_id": "s1"}


def test_langfuse_string_max_tokens_trace_and_parent_observation(home, tmp_path):
    obs = {"id": "obs-1", "traceId": "tr-1", "type": "GENERATION", "startTime": "2026-11-10T12:01:00.000Z",
           "model": "gpt-4o-mini", "modelParameters": {"max_tokens": "300", "temperature": "0.2"},
           "parentObservationId": "span-9", "input": "SECRET PROMPT", "output": "SECRET ANSWER",
           "metadata": {"provider": "openai", "finish_reason": "length"},
           "usageDetails": {"input": 10, "output": 300}}
    path = tmp_path / "observations.jsonl"
    path.write_text(json.dumps(obs) + "\n")
    got = _land(path, home)
    assert got["obs-1"] == {"max_output_tokens": 300, "finish_reason": "length", "trace_id": "tr-1",
                            "parent_call_id": "span-9"}


def test_litellm_reads_only_what_the_app_attached_to_its_metadata(home, tmp_path):
    row = {"request_id": "chatcmpl-1", "spend": "0.0001", "startTime": "2026-11-10 12:00:00",
           "endTime": "2026-11-10 12:00:01", "model": "gpt-4o-mini", "custom_llm_provider": "openai",
           "prompt_tokens": 10, "completion_tokens": 5, "messages": "SECRET PROMPT", "response": "SECRET ANSWER",
           "metadata": {"spend_logs_metadata": {"trace_id": "tr-7", "parent_call_id": "chatcmpl-0",
                                                "max_tokens": "64"}}}
    path = tmp_path / "spend.json"
    path.write_text(json.dumps(row) + "\n")
    got = _land(path, home)
    assert got["chatcmpl-1"] == {"max_output_tokens": 64, "finish_reason": None, "trace_id": "tr-7",
                                 "parent_call_id": "chatcmpl-0"}


def test_bedrock_stop_reason_and_cap_without_reading_messages(home, tmp_path):
    rec = {"schemaType": "ModelInvocationLog", "timestamp": "2026-11-10T12:00:00Z", "requestId": "r-1",
           "modelId": "anthropic.claude-haiku-4-5-20251001-v1:0", "identity": {"arn": "arn:aws:iam::1:role/x"},
           "input": {"inputBodyJson": {"messages": [{"content": [{"text": "SECRET PROMPT"}]}],
                                       "inferenceConfig": {"maxTokens": 200}}, "inputTokenCount": 10},
           "output": {"outputBodyJson": {"output": {"message": {"content": [{"text": "SECRET ANSWER"}]}},
                                         "stopReason": "max_tokens"}, "outputTokenCount": 200}}
    path = tmp_path / "invocations.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    got = _land(path, home, fmt="bedrock_invocation_calls")
    assert got["r-1"] == {"max_output_tokens": 200, "finish_reason": "length", "trace_id": None,
                          "parent_call_id": None}
