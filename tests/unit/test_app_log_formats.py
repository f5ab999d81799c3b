"""Application call logs other than the canonical one: OTel GenAI spans, LiteLLM spend logs, Langfuse
observations, Bedrock invocation logs. Each fixture is in the source's real shape; each lands with the
expected counts, canonical token sums, dimensions, statuses and quarantine, and keeps no prompt text."""

from __future__ import annotations

import hashlib
import json
import shutil
import tracemalloc
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.ingest.registry import detect
from pipelines.sample import SampleSpec, generate
from pipelines.settings import ConfigError, Settings, load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKENS = ["input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
          "reasoning_tokens"]


@pytest.fixture
def settings(home: Settings) -> Settings:
    return home


def with_config(settings: Settings, text: str) -> Settings:
    (settings.home / "tokenbooks.yaml").write_text(text)
    return load_settings(home=settings.home)


def land(path: Path, settings: Settings, fmt: str | None = None) -> tuple[object, pl.DataFrame, pl.DataFrame]:
    result = land_file(path, settings, fmt=fmt)
    assert result.error is None, result.error
    files = sorted((settings.lake / "calls").glob("day=*/*.parquet"))
    calls = pl.read_parquet(files) if files else pl.DataFrame()
    q = list(settings.quarantine.glob("*.parquet"))
    return result, calls, pl.read_parquet(q) if q else pl.DataFrame()


def sums(df: pl.DataFrame) -> dict[str, int]:
    return {c: int(df[c].sum()) for c in TOKENS}


def by_id(df: pl.DataFrame, col: str = "call_id") -> dict[str, dict]:
    return {r[col]: r for r in df.iter_rows(named=True)}


def no_text_kept(settings: Settings) -> None:
    for path in [*settings.lake.rglob("*.parquet"), *settings.quarantine.glob("*.parquet")]:
        frame = pl.read_parquet(path)
        text = frame.select(pl.all().cast(pl.String)).write_csv()
        assert "SECRET" not in text, path


@pytest.mark.parametrize(
    "fixture, fmt",
    [
        ("otel/genai_spans.jsonl", "otel_genai_spans"),
        ("litellm/spend_logs.csv", "litellm_spend_logs"),
        ("litellm/spend_logs.json", "litellm_spend_logs"),
        ("langfuse/observations.jsonl", "langfuse_observations"),
        ("langfuse/observations_page.json", "langfuse_observations"),
        # The same file is provider usage by content; as call logs it is named (see bedrock.py).
        ("bedrock/invocation_calls.jsonl", "bedrock_invocation_usage"),
    ],
)
def test_recognised_by_content(fixture: str, fmt: str, tmp_path: Path) -> None:
    copy = tmp_path / "export.bin"
    shutil.copy(FIXTURES / fixture, copy)
    assert detect(copy).name == fmt



def test_big_records_recognised_by_their_first_line(tmp_path: Path) -> None:
    # An OTLP export of a thousand spans a line (1.3 MB a line) is longer a line than the head detection samples:
    # its first line is read whole, never the file (a 12.8 GB span file was read into memory whole, and killed).
    doc = json.loads((FIXTURES / "otel/genai_spans.jsonl").read_text().splitlines()[0])
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans *= 2000 // len(spans)
    line = json.dumps(doc)
    assert len(line) > 256 * 1024
    path = tmp_path / "export.bin"
    with open(path, "w") as f:
        for _ in range(48 * 1024 * 1024 // len(line)):
            f.write(line + "\n")
    tracemalloc.start()
    try:
        fmt = detect(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fmt.name == "otel_genai_spans"
    assert peak < 16 * len(line) < path.stat().st_size  # the first line parsed, not the 48 MB file

# ---- OpenTelemetry ----------------------------------------------------------------------------------

def test_otel_spans_current_and_deprecated_attributes(settings: Settings) -> None:
    result, calls, q = land(FIXTURES / "otel/genai_spans.jsonl", settings)
    # 5 GenAI call spans + 1 unreadable line; the agent span and the HTTP span are not calls.
    assert (result.records_in, result.landed, result.quarantined) == (6, 4, 2)
    assert sorted(zip(q["record"], q["field"])) == [(2, "gen_ai.request.model"), (3, "$")]
    assert sums(calls) == {"input_tokens": 1500 + 800 + 2000, "cached_input_tokens": 1000, "cache_write_tokens": 200,
                           "cache_write_1h_tokens": 0, "output_tokens": 300 + 120 + 700, "reasoning_tokens": 500}
    rows = by_id(calls)  # call id = span id: these spans carry no app call id
    sonnet = rows["eee19b7ec3c1b174"]
    assert (sonnet["provider"], sonnet["model"], sonnet["provider_request_id"]) == (
        "anthropic", "claude-sonnet-4-5", "msg_01OtelA")
    assert (sonnet["app"], sonnet["feature"], sonnet["user_id"], sonnet["tenant_id"], sonnet["session_id"],
            sonnet["prompt_version"]) == ("support-bot", "reply_draft", "u-1", "t-1", "sess-1", "reply_draft@v12")
    assert sonnet["latency_ms"] == 1000
    deprecated = rows["ccc19b7ec3c1b177"]  # gen_ai.system, gen_ai.usage.prompt_tokens / completion_tokens
    assert (deprecated["provider"], deprecated["model"], deprecated["input_tokens"], deprecated["output_tokens"],
            deprecated["user_id"], deprecated["app"]) == ("openai", "gpt-4o-mini", 800, 120, "u-2", "sales-copilot")
    assert deprecated["feature"] is None and deprecated["tenant_id"] is None  # unmapped stays null
    failed = rows["ddd19b7ec3c1b178"]
    assert (failed["status"], failed["input_tokens"]) == ("rate_limited", 0)
    assert rows["fff19b7ec3c1b179"]["reasoning_tokens"] == 500 and rows["fff19b7ec3c1b179"]["output_tokens"] == 700
    assert set(calls["source_format"]) == {"otel_genai_spans"}
    no_text_kept(settings)


def test_otel_sample_spans_are_the_canonical_calls(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "sample"
    spec = SampleSpec(days=1, calls_per_day=400, seed=11, log_formats=("canonical", "otlp"), providers_exports=False,
                     seasonality=False)
    generate(out, spec)
    day = spec.first_day.isoformat()
    result, spans, _ = land(out / "app-logs" / f"otlp-{day}.jsonl", settings)
    assert (result.format, result.landed, result.quarantined) == ("otel_genai_spans", 400, 0)
    canonical = pl.read_ndjson(out / "app-logs" / f"calls-{day}.jsonl")
    assert sums(spans) == {c: int(canonical[c].sum()) for c in TOKENS}
    key = ["call_id", "app", "feature", "user_id", "tenant_id", "session_id", "prompt_version", "status", "attempt",
           "is_batch", "response_cache_hit", "provider_request_id", *TOKENS]
    ours = spans.select(key).sort("call_id")
    theirs = canonical.select(key).sort("call_id").cast({c: ours.schema[c] for c in key})
    assert ours.equals(theirs)


# ---- LiteLLM ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["litellm/spend_logs.csv", "litellm/spend_logs.json"])
def test_litellm_spend_logs(fixture: str, settings: Settings) -> None:
    result, calls, q = land(FIXTURES / fixture, settings)
    assert (result.records_in, result.landed, result.quarantined) == (5, 4, 1)
    assert q.select("record", "field").rows() == [(5, "startTime")]
    rows = by_id(calls)
    openai = rows["chatcmpl-L1"]
    # prompt_tokens already include the cached tokens: kept, never added again.
    assert (openai["input_tokens"], openai["cached_input_tokens"], openai["output_tokens"]) == (2000, 1024, 150)
    assert (openai["app"], openai["feature"], openai["user_id"], openai["tenant_id"], openai["session_id"]) == (
        "support-bot", "triage", "u-1", "t-9", "sess-9")
    assert str(openai["occurred_at"]) == "2026-11-10 12:00:00+00:00"  # startTime has no zone: UTC
    assert openai["latency_ms"] == 1250 and openai["reported_cost_usd"] == Decimal("0.000225")
    claude = rows["msg_01L2"]
    assert (claude["provider"], claude["model"], claude["input_tokens"], claude["cached_input_tokens"],
            claude["cache_write_tokens"], claude["prompt_version"]) == (
        "anthropic", "claude-sonnet-4-5", 5000, 3000, 1000, "reply_draft@v12")
    failed = rows["f2c1e0b4-6d1f-4a8e-9f51-2b7a1c0d9e11"]
    assert failed["status"] == "rate_limited" and failed["app"] is None
    # LiteLLM's own response cache: not a provider call, not prompt caching.
    cached = rows["chatcmpl-L4"]
    assert cached["response_cache_hit"] is True and cached["cached_input_tokens"] == 0
    assert sums(calls)["input_tokens"] == 2000 + 5000 + 0 + 300
    no_text_kept(settings)


def test_litellm_csv_and_json_land_the_same_rows(tmp_path: Path) -> None:
    cols = ["call_id", "occurred_at", "provider", "model", "app", "feature", "user_id", "tenant_id", "prompt_version",
            "status", "response_cache_hit", "reported_cost_usd", *TOKENS]
    a = land(FIXTURES / "litellm/spend_logs.csv", load_settings(home=tmp_path / "a"))[1].select(cols).sort("call_id")
    b = land(FIXTURES / "litellm/spend_logs.json", load_settings(home=tmp_path / "b"))[1].select(cols).sort("call_id")
    assert a.equals(b)


def test_mapping_from_config_reaches_sql_as_parameters(settings: Settings) -> None:
    settings = with_config(settings, (
        "attributes:\n"
        "  app: [user_api_key_alias]\n"            # a LiteLLM metadata key
        "  tenant_id: [team_id]\n"                 # a LiteLLM column
        "  feature: [\"it's \\\"odd\\\"\", tag:feature]\n"  # a key with quotes must not break the SQL
        "  prompt_version: [tag:pv]\n"
    ))
    _, calls, _ = land(FIXTURES / "litellm/spend_logs.json", settings)
    rows = by_id(calls)
    assert (rows["chatcmpl-L1"]["app"], rows["chatcmpl-L1"]["tenant_id"], rows["chatcmpl-L1"]["feature"]) == (
        "support-bot-prod", "team-support", "triage")
    # Configured keys come first; the conventions still apply after them.
    assert rows["msg_01L2"]["app"] == "support-bot" and rows["msg_01L2"]["prompt_version"] == "reply_draft@v12"


def test_mapping_rejects_unknown_fields(settings: Settings) -> None:
    # Refused when the config loads, before any file is read, with the mappable fields listed.
    with pytest.raises(ConfigError, match=r"attributes.tenant: unknown key; expected one of app, call_id, .*team, "):
        with_config(settings, "attributes:\n  team: [cost-center]\n  tenant: [team_id]\n")


def test_user_ids_are_pseudonymised(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENBOOKS_USER_HASH_KEY", "k3y")
    _, calls, _ = land(FIXTURES / "litellm/spend_logs.csv", settings)
    expected = "u_" + hashlib.sha256(("k3y" + chr(31) + "u-1").encode()).hexdigest()[:16]
    assert by_id(calls)["chatcmpl-L1"]["user_id"] == expected
    assert not any(u.startswith("u-") for u in calls["user_id"].drop_nulls())


# ---- Langfuse ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fixture", ["langfuse/observations.jsonl", "langfuse/observations_page.json"])
def test_langfuse_generations(fixture: str, settings: Settings) -> None:
    result, calls, q = land(FIXTURES / fixture, settings)
    # 4 generations (spans and events are not calls): 3 land, the one without a model is quarantined.
    assert (result.records_in, result.landed, result.quarantined) == (4, 3, 1)
    assert q.select("record", "field").rows() == [(6, "model")]
    rows = by_id(calls)
    claude = rows["obs-1"]
    # usageDetails.input is the uncached input: input = 1000 + 3000 read + (600 + 400) written.
    assert [claude[c] for c in TOKENS] == [5000, 3000, 1000, 400, 400, 0]
    assert (claude["prompt_version"], claude["user_id"], claude["session_id"], claude["feature"], claude["tenant_id"],
            claude["app"], claude["provider_request_id"]) == (
        "reply_draft@v12", "u-2", "s-2", "reply_draft", "t-2", "support-bot", "msg_01L2")
    assert claude["reported_cost_usd"] == Decimal("0.01455")  # costDetails total, a decimal string
    reasoning = rows["obs-2"]
    assert [reasoning[c] for c in TOKENS] == [2000, 1024, 0, 0, 800, 500]
    assert (reasoning["prompt_version"], reasoning["app"], reasoning["tenant_id"], reasoning["provider"]) == (
        "research@v3", "sales-copilot", "t-3", "openai")
    assert rows["obs-4"]["status"] == "rate_limited"
    no_text_kept(settings)


# ---- Bedrock invocation logs as call logs ----------------------------------------------------------

def test_bedrock_invocation_logs_as_calls(settings: Settings) -> None:
    profile = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/a1b2c3d4e5"
    settings = with_config(settings, (
        f"model_aliases:\n  '{profile}': claude-haiku-4-5\n"
        f"owners:\n  'profile:{profile}': {{app: docs-search}}\n"
        "  'iam:arn:aws:sts::111122223333:assumed-role/SupportBotRole': {app: support-bot}\n"
    ))
    result, calls, q = land(FIXTURES / "bedrock/invocation_calls.jsonl", settings, fmt="bedrock_invocation_calls")
    assert (result.table, result.records_in, result.landed, result.quarantined) == ("calls", 5, 3, 2)
    assert sorted(zip(q["record"], q["field"])) == [(4, "input.inputTokenCount"), (5, "$")]
    rows = by_id(calls)
    first = rows["7c1d7f3a-1001"]
    # inputTokenCount (120) excludes the 2000 cache reads.
    assert [first[c] for c in TOKENS[:3]] == [2120, 2000, 0]
    assert (first["provider"], first["model"], first["app"], first["feature"], first["user_id"], first["tenant_id"]) == (
        "aws", "claude-sonnet-4-5", "support-bot", "reply_draft", "u-1", "t-1")
    by_profile = rows["7c1d7f3a-1002"]
    assert (by_profile["model"], by_profile["app"], by_profile["input_tokens"], by_profile["cache_write_tokens"]) == (
        "claude-haiku-4-5", "docs-search", 2080, 2000)
    assert rows["7c1d7f3a-1003"]["status"] == "rate_limited"  # ThrottlingException
    no_text_kept(settings)
