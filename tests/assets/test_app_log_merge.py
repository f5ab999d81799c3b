"""One call, one row: a day seen by OpenTelemetry, LiteLLM and Langfuse at once, with gaps in two of them.

OTel saw all six calls. The LiteLLM proxy's database was down for two of them (R4, R5) and the
Langfuse exporter missed three (R3, R5, R7). The three sources share the provider's response id;
R7 was rate limited before any response, so only the app's call id ties its OTel span to its
LiteLLM row. Expected in fct_llm_calls: six calls, each field from the source that has it.
"""

import json

import dagster as dg

from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.resources import TokenbooksResource
from pipelines.warehouse.assets import warehouse_day

DAY = "2026-11-10"
NS = 1794312000 * 10**9  # 2026-11-10T12:00:00Z


def s(key, value):
    return {"key": key, "value": {"stringValue": value}}


def i(key, value):
    return {"key": key, "value": {"intValue": str(value)}}


def otel_line(spans):
    """One TracesData line for the app support-bot."""
    return json.dumps({"resourceSpans": [{
        "resource": {"attributes": [s("service.name", "support-bot")]},
        "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai_v2"}, "spans": spans}],
    }]})


def span(n, attrs, error=None):
    start = NS + n * 60 * 10**9
    return {"traceId": f"{n:032x}", "spanId": f"{n:016x}", "name": "chat", "kind": 3,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 800 * 10**6), "attributes": attrs,
            "status": {"code": 2, "message": error} if error else {}}


def litellm(n, request_id, provider, model, prompt, completion, usage=None, status="success", slm=None, tags=()):
    return {"request_id": request_id, "call_type": "acompletion", "spend": "0.0001", "prompt_tokens": prompt,
            "completion_tokens": completion, "total_tokens": prompt + completion,
            "startTime": f"{DAY} 12:{n:02d}:00.100", "endTime": f"{DAY} 12:{n:02d}:01.000", "model": model,
            "model_group": model, "custom_llm_provider": provider, "cache_hit": "False", "request_tags": list(tags),
            "end_user": "u-1", "status": status,
            "metadata": {"status": status, "additional_usage_values": usage or {}, "spend_logs_metadata": slm,
                         **({"error_information": {"error_code": "429", "error_class": "RateLimitError"}}
                            if status == "failure" else {})}}


def langfuse(n, response_id, model, usage, prompt=None, tags=()):
    return {"id": f"obs-{n}", "traceId": f"tr-{n}", "type": "GENERATION", "name": "chat",
            "startTime": f"{DAY}T12:{n:02d}:00.050Z", "endTime": f"{DAY}T12:{n:02d}:00.900Z", "model": model,
            "level": "DEFAULT", "usageDetails": usage, "costDetails": {"total": "0.0002"},
            "promptName": prompt[0] if prompt else None, "promptVersion": prompt[1] if prompt else None,
            "userId": "u-1", "tags": list(tags),
            "metadata": {"attributes": {"gen_ai.response.id": response_id}}}


def write_sources(folder):
    folder.mkdir(parents=True)
    current = [s("gen_ai.operation.name", "chat"), s("gen_ai.provider.name", "openai"), s("gen_ai.request.model", "gpt-4o-mini")]
    spans = [
        # R1 Anthropic with prompt caching, current attribute names
        span(1, [s("gen_ai.operation.name", "chat"), s("gen_ai.provider.name", "anthropic"),
                 s("gen_ai.request.model", "claude-sonnet-4-5-20250929"), s("gen_ai.response.id", "msg_01R1"),
                 i("gen_ai.usage.input_tokens", 5000), i("gen_ai.usage.cache_read.input_tokens", 3000),
                 i("gen_ai.usage.cache_creation.input_tokens", 1000), i("gen_ai.usage.output_tokens", 400),
                 s("user.id", "u-1"), s("app.feature", "reply_draft")]),
        # R2 deprecated names: no cache detail in the span (LiteLLM and Langfuse have it)
        span(2, [s("gen_ai.system", "openai"), s("gen_ai.request.model", "gpt-4o-mini"),
                 s("gen_ai.response.id", "chatcmpl-R2"), i("gen_ai.usage.prompt_tokens", 2000),
                 i("gen_ai.usage.completion_tokens", 150), s("user.id", "u-1")]),
        span(3, current + [s("gen_ai.response.id", "chatcmpl-R3"), i("gen_ai.usage.input_tokens", 1000),
                           i("gen_ai.usage.output_tokens", 100), s("app.feature", "triage")]),
        span(4, current + [s("gen_ai.response.id", "chatcmpl-R4"), i("gen_ai.usage.input_tokens", 1200),
                           i("gen_ai.usage.output_tokens", 120)]),
        span(5, current + [s("gen_ai.response.id", "chatcmpl-R5"), i("gen_ai.usage.input_tokens", 1500),
                           i("gen_ai.usage.output_tokens", 50), s("app.feature", "triage")]),
        # R7 rate limited: no response id; the app's call id is on the span and in LiteLLM's metadata
        span(7, current + [s("error.type", "RateLimitError"), s("app.call_id", "call-7")], error="429 Too Many Requests"),
    ]
    (folder / "otlp.jsonl").write_text(otel_line(spans[:3]) + "\n" + otel_line(spans[3:]) + "\n")
    rows = [
        litellm(1, "msg_01R1", "anthropic", "claude-sonnet-4-5-20250929", 5000, 400,
                {"cache_read_input_tokens": 3000, "cache_creation_input_tokens": 1000}, tags=["feature:reply_draft"]),
        litellm(2, "chatcmpl-R2", "openai", "gpt-4o-mini-2024-07-18", 2000, 150,
                {"prompt_tokens_details": {"cached_tokens": 1024}}, tags=["feature:triage"]),
        litellm(3, "chatcmpl-R3", "openai", "gpt-4o-mini-2024-07-18", 1000, 100, tags=["tenant:t-3"]),
        litellm(7, "0b6f1c2e-9a1d-4c55-8e1f-7d2a9c3b4e70", "openai", "gpt-4o-mini", 0, 0, status="failure",
                slm={"call_id": "call-7"}),
    ]
    (folder / "spend_logs.json").write_text(json.dumps(rows))
    observations = [
        langfuse(1, "msg_01R1", "claude-sonnet-4-5-20250929",
                 {"input": 1000, "input_cache_read": 3000, "input_cache_creation": 1000, "output": 400},
                 ("reply_draft", 12), tags=["feature:reply_draft"]),
        langfuse(2, "chatcmpl-R2", "gpt-4o-mini-2024-07-18",
                 {"input": 976, "input_cached_tokens": 1024, "output": 150}, ("triage", 4)),
        langfuse(4, "chatcmpl-R4", "gpt-4o-mini-2024-07-18", {"input": 1200, "output": 120}, ("triage", 4)),
    ]
    (folder / "observations.json").write_text(json.dumps({"data": observations, "meta": {"page": 1, "totalPages": 1}}))


def test_three_sources_with_gaps_make_one_row_per_call(home, tmp_path):
    landing = tmp_path / "in"
    write_sources(landing)
    expected = {"otlp.jsonl": ("otel_genai_spans", 6), "spend_logs.json": ("litellm_spend_logs", 4),
                "observations.json": ("langfuse_observations", 3)}
    for name, (fmt, n) in expected.items():
        result = land_file(landing / name, home)
        assert result.error is None, result.error
        assert (result.format, result.landed, result.quarantined) == (fmt, n, 0)

    outcome = dg.materialize(
        [warehouse_day], partition_key=DAY, resources={"tokenbooks": TokenbooksResource(home=str(home.home))},
    )
    assert outcome.success
    con = open_warehouse(home)
    assert con.execute("select count(*), count(distinct call_id) from fct_llm_calls").fetchone() == (6, 6)
    sums = con.execute(
        "select sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens) from fct_llm_calls"
    ).fetchone()
    # R1 5000 + R2 2000 + R3 1000 + R4 1200 + R5 1500 + R7 0; cache: R1 3000 read + 1000 written, R2 1024 read
    assert sums == (10_700, 4_024, 1_000, 820)

    rows = {r[0]: r[1:] for r in con.execute(
        "select provider_request_id, sources, source_count, app, feature, user_id, tenant_id, prompt_version, "
        "input_tokens, cached_input_tokens, status, model from fct_llm_calls"
    ).fetchall()}
    assert rows["msg_01R1"] == ("langfuse_observations,litellm_spend_logs,otel_genai_spans", 3, "support-bot",
                                "reply_draft", "u-1", None, "reply_draft@v12", 5000, 3000, "ok", "claude-sonnet-4-5")
    # The deprecated span lacks cache detail and a feature: both come from the sources that have them.
    assert rows["chatcmpl-R2"] == ("langfuse_observations,litellm_spend_logs,otel_genai_spans", 3, "support-bot",
                                   "triage", "u-1", None, "triage@v4", 2000, 1024, "ok", "gpt-4o-mini")
    assert rows["chatcmpl-R3"][:2] == ("litellm_spend_logs,otel_genai_spans", 2)
    assert rows["chatcmpl-R3"][3:6] == ("triage", "u-1", "t-3")  # the tenant only LiteLLM's tags name
    assert rows["chatcmpl-R4"][:2] == ("langfuse_observations,otel_genai_spans", 2)
    assert rows["chatcmpl-R5"][:2] == ("otel_genai_spans", 1)
    r7 = con.execute(
        "select call_id, sources, status, input_tokens from fct_llm_calls where provider_request_id is null "
        "or provider_request_id like '0b6f%'"
    ).fetchall()
    assert r7 == [("call-7", "litellm_spend_logs,otel_genai_spans", "rate_limited", 0)]
    con.close()


def test_the_sample_logged_twice_is_counted_once(home, tmp_path):
    """The sample organisation's canonical log and its OTLP spans of the same calls: one row per call."""
    from pipelines.sample import SampleSpec, generate

    spec = SampleSpec(days=1, calls_per_day=300, seed=5, log_formats=("canonical", "otlp"), providers_exports=False,
                      seasonality=False)
    generate(tmp_path / "sample", spec)
    day = spec.first_day.isoformat()
    for name in (f"calls-{day}.jsonl", f"otlp-{day}.jsonl"):
        result = land_file(tmp_path / "sample" / "app-logs" / name, home)
        assert (result.error, result.landed, result.quarantined) == (None, 300, 0)
    assert dg.materialize(
        [warehouse_day], partition_key=day, resources={"tokenbooks": TokenbooksResource(home=str(home.home))},
    ).success
    con = open_warehouse(home)
    merged = con.execute(
        "select count(*), min(source_count), sum(input_tokens), sum(output_tokens), count(*) filter (where status <> 'ok'), "
        "count(*) filter (where provider_request_id is null) from fct_llm_calls"
    ).fetchone()
    canonical = con.execute(
        "select count(*), 2, sum(input_tokens), sum(output_tokens), count(*) filter (where status <> 'ok'), "
        "count(*) filter (where provider_request_id is null) from read_json_auto($p)",
        {"p": str(tmp_path / "sample" / "app-logs" / f"calls-{day}.jsonl")},
    ).fetchone()
    assert merged == canonical
    assert merged[5] > 0  # calls without a response id (cache hits, failures) merged by the app's call id
    con.close()
