"""The sample organisation generator: deterministic, realistic, and its exports agree with its logs and truth."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.sample import SampleSpec, generate

SPEC = SampleSpec(days=3, calls_per_day=500, seed=7, log_formats=("canonical", "otlp"))
CANONICAL = [
    "call_id", "occurred_at", "provider", "model", "app", "feature", "user_id", "tenant_id", "session_id",
    "prompt_version", "input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "is_batch", "status", "attempt", "latency_ms", "response_cache_hit",
    "provider_request_id", "project_id", "workspace_id", "api_key_id",
]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("org")
    return out, generate(out, SPEC)


@pytest.fixture(scope="module")
def calls(sample) -> pl.DataFrame:
    out, _ = sample
    return pl.concat([pl.read_ndjson(p) for p in sorted((out / "app-logs").glob("calls-*.jsonl"))])


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _canonical_model(truth) -> dict[str, str]:
    return {raw: m["model"] for m in truth.org["models"] for raw in (*m["logged_as"], m["billed_as"])}


def test_same_spec_same_bytes(sample, tmp_path):
    out, truth = sample
    again = generate(tmp_path / "again", SPEC)
    assert _digest(out) == _digest(tmp_path / "again")
    assert again.to_json() == truth.to_json()
    other = generate(tmp_path / "other", SampleSpec(days=1, calls_per_day=200, seed=8, seasonality=False))
    first = (out / "app-logs" / f"calls-{SPEC.end_day}.jsonl").read_bytes()
    assert (tmp_path / "other" / "app-logs" / f"calls-{SPEC.end_day}.jsonl").read_bytes()[:500] != first[:500]
    assert other.days[0].logged_calls == 200


def test_files_follow_the_landing_layout(sample):
    out, truth = sample
    for i in range(SPEC.days):
        day = SPEC.day(i).isoformat()
        for rel in (f"app-logs/calls-{day}.jsonl", f"app-logs/outcomes-{day}.jsonl", f"app-logs/otlp-{day}.jsonl",
                    f"openai/usage-completions-{day}.json", f"openai/usage-embeddings-{day}.json",
                    f"openai/costs-{day}.json", f"anthropic/usage-report-{day}.json",
                    f"anthropic/cost-report-{day}.json", f"google/billing-{day}.jsonl"):
            assert (out / rel).is_file(), rel
            assert rel in truth.files
    assert json.loads((out / "ground_truth.json").read_text()) == json.loads(truth.to_json())


def test_canonical_lines_have_exactly_the_documented_fields(sample, calls):
    out, _ = sample
    first = json.loads((out / "app-logs" / f"calls-{SPEC.first_day}.jsonl").open().readline())
    assert list(first) == CANONICAL
    assert calls["occurred_at"].str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()
    assert set(calls["status"]) <= {"ok", "error", "rate_limited", "timeout", "aborted"}
    assert calls["call_id"].n_unique() == calls.height
    parts = calls.select(
        (pl.col("cached_input_tokens") + pl.col("cache_write_tokens") <= pl.col("input_tokens")).all(),
        (pl.col("cache_write_1h_tokens") <= pl.col("cache_write_tokens")).all(),
        (pl.col("reasoning_tokens") <= pl.col("output_tokens")).all(),
    ).row(0)
    assert all(parts)
    unbilled = calls.filter(pl.col("response_cache_hit") | pl.col("status").is_in(["error", "rate_limited", "timeout"]))
    assert unbilled["input_tokens"].sum() == 0 and unbilled["output_tokens"].sum() == 0


def test_per_day_logged_counts_match_and_weekends_are_quieter(sample, tmp_path):
    out, truth = sample
    for i, day in enumerate(truth.days):
        lines = (out / "app-logs" / f"calls-{day.day}.jsonl").read_text().count("\n")
        assert lines == day.logged_calls == SPEC.calls_on(SPEC.day(i))
    seasonal = SampleSpec(days=7, calls_per_day=100, end_day=date(2026, 11, 22))
    counts = {seasonal.day(i).weekday(): seasonal.calls_on(seasonal.day(i)) for i in range(7)}
    assert counts[5] == counts[6] == 40 and counts[0] == 100
    flat = generate(tmp_path / "flat", SampleSpec(days=2, calls_per_day=300, seasonality=False, chunk_rows=120,
                                                 providers_exports=False))
    assert [d.logged_calls for d in flat.days] == [300, 300]
    day_file = tmp_path / "flat" / "app-logs" / f"calls-{flat.days[0].day}.jsonl"
    times = pl.read_ndjson(day_file)["occurred_at"]
    assert times.is_sorted() and times.str.starts_with(flat.days[0].day).all()
    assert not (tmp_path / "flat" / "openai").exists()


def test_apps_features_models_and_tiers_are_all_there(sample, calls):
    _, truth = sample
    assert {a: set(f) for a, f in truth.org["apps"].items()} == {
        "support-bot": {"triage", "reply_draft"},
        "docs-search": {"embed", "rerank", "answer"},
        "sales-copilot": {"summarise", "email_draft", "research"},
    }
    models = _canonical_model(truth)
    used = {models[m] for m in calls["model"].unique()}
    assert {"gpt-4.1", "gpt-4o-mini", "o4-mini", "claude-sonnet-4-5", "claude-haiku-4-5",
            "gemini-2.5-flash", "gemini-2.5-pro"} <= used
    assert {m["tier"] for m in truth.org["models"]} == {"large", "medium", "small"}
    assert set(calls["provider"]) == {"openai", "anthropic", "google"}
    assert calls["model"].str.contains(r"-\d{8}$|-\d{4}-\d\d-\d\d$").any()  # dated snapshots are logged too
    assert set(calls["feature"]) == {f for fs in truth.org["apps"].values() for f in fs}


def test_realistic_behaviour(calls):
    billed = calls.filter(pl.col("input_tokens") > 0)
    assert calls["response_cache_hit"].any() and calls["is_batch"].any()
    assert (billed["cached_input_tokens"] > 0).mean() > 0.1
    assert (billed["cache_write_tokens"] > 0).any() and (billed["cache_write_1h_tokens"] > 0).any()
    assert billed.filter(pl.col("reasoning_tokens") > 0)["model"].str.contains("o4-mini|gemini").all()
    assert (calls["attempt"] > 1).any()
    retried = calls.filter(pl.col("attempt") > 1)["session_id"]
    failed = calls.filter(pl.col("status").is_in(["rate_limited", "timeout"]) & pl.col("session_id").is_in(retried))
    assert failed.height > 0
    assert calls.filter(pl.col("provider") == "anthropic")["workspace_id"].is_null().any()  # default workspace


def test_users_are_heavy_tailed_and_belong_to_tenants(calls):
    per_user = calls.group_by("user_id").len().sort("len", descending=True)
    top = per_user.head(max(1, per_user.height // 100))["len"].sum()
    assert top / calls.height > 0.10
    assert calls.group_by("user_id").agg(pl.col("tenant_id").n_unique())["tenant_id"].max() == 1
    assert calls["tenant_id"].n_unique() > 20


def test_ground_truth_holds_the_planted_gaps_with_owners(sample):
    _, truth = sample
    kinds = defaultdict(list)
    for gap in truth.gaps:
        kinds[gap.kind].append(gap)
        assert gap.amount_usd > 0 and gap.requests > 0
    assert set(kinds) == {"unlogged_retries", "batch_job", "outside_app"}
    assert {g.owner for g in kinds["batch_job"]} == {"project:proj_DataEnrich5Tx"}
    assert all(g.is_batch and g.provider == "openai" for g in kinds["batch_job"])
    assert {g.owner for g in kinds["outside_app"]} == {"workspace:wrkspc_playground"}
    assert {(g.provider, g.model, g.owner) for g in kinds["unlogged_retries"]} == {
        ("anthropic", "claude-sonnet-4-5", "workspace:wrkspc_01SupportBot")}
    assert {g.day for g in kinds["unlogged_retries"]} == set(truth.org["incident_days"])
    for day in truth.days:
        mine = sum((g.amount_usd for g in truth.gaps if g.day == day.day), Decimal(0))
        assert day.unlogged_usd == mine
        assert day.billed_total_usd > day.logged_list_cost_usd


def test_ground_truth_holds_the_planted_drift(sample, calls):
    _, truth = sample
    d = truth.drift
    assert (d.app, d.feature, d.prompt_version, d.previous_prompt_version) == (
        "sales-copilot", "summarise", "summarise@v7", "summarise@v6")
    assert d.input_tokens_change_pct == 35.0
    assert SPEC.first_day.isoformat() < d.first_day <= SPEC.end_day.isoformat()
    summarise = calls.filter(pl.col("feature") == "summarise")
    first_v7 = summarise.filter(pl.col("prompt_version") == "summarise@v7")["occurred_at"].min()
    assert first_v7[:10] == d.first_day
    before = summarise.filter(pl.col("occurred_at") < d.first_day)
    assert before["prompt_version"].unique().to_list() == ["summarise@v6"]
    assert d.mean_input_tokens_after / d.mean_input_tokens_before > 1.2


def test_openai_exports_are_api_pages_and_input_includes_cached(sample):
    out, truth = sample
    for day in truth.days:
        page = _json(out / "openai" / f"usage-completions-{day.day}.json")
        assert page["object"] == "page" and page["has_more"] is False and page["next_page"] is None
        bucket = page["data"][0]
        assert bucket["end_time"] - bucket["start_time"] == 86_400
        for r in bucket["results"]:
            assert r["object"] == "organization.usage.completions.result"
            assert r["input_tokens"] >= r["input_cached_tokens"] >= 0
            assert r["project_id"].startswith("proj_") and isinstance(r["batch"], bool)
        costs = _json(out / "openai" / f"costs-{day.day}.json")["data"][0]["results"]
        assert all(isinstance(c["amount"]["value"], str) for c in costs)
        total = sum(Decimal(c["amount"]["value"]) for c in costs)
        assert total == day.billed_usd["openai"]
        assert any(c["line_item"].startswith("batch | ") for c in costs)


def test_anthropic_costs_are_cent_strings_summing_to_the_bill(sample):
    out, truth = sample
    for day in truth.days:
        report = _json(out / "anthropic" / f"cost-report-{day.day}.json")
        bucket = report["data"][0]
        next_day = date.fromisoformat(day.day) + timedelta(days=1)
        assert (bucket["starting_at"], bucket["ending_at"]) == (f"{day.day}T00:00:00Z", f"{next_day}T00:00:00Z")
        amounts = [r["amount"] for r in bucket["results"]]
        assert all(isinstance(a, str) for a in amounts)
        assert sum(Decimal(a) for a in amounts) == day.billed_usd["anthropic"] * 100
        usage = _json(out / "anthropic" / f"usage-report-{day.day}.json")["data"][0]["results"]
        assert {"wrkspc_playground", "wrkspc_01SupportBot", None} <= {r["workspace_id"] for r in usage}


def test_google_billing_rows_net_of_credits(sample):
    out, truth = sample
    for day in truth.days:
        rows = [json.loads(line) for line in (out / "google" / f"billing-{day.day}.jsonl").read_text().splitlines()]
        assert all(r["service"]["description"] == "Vertex AI" and r["usage"]["unit"] == "count" for r in rows)
        assert sum(Decimal(repr(r["cost"])) for r in rows) == day.billed_usd["google"]
        credits = sum(Decimal(repr(c["amount"])) for r in rows for c in r["credits"])
        assert credits == day.credits_usd <= 0


def _provider_tokens(out: Path, day: str, models: dict[str, str]) -> dict[tuple[str, str], list[int]]:
    """(provider, model) -> [input incl. cache, output] as the provider exports say."""
    acc: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for name in ("usage-completions", "usage-embeddings"):
        for r in _json(out / "openai" / f"{name}-{day}.json")["data"][0]["results"]:
            acc["openai", models[r["model"]]][0] += r["input_tokens"]
            acc["openai", models[r["model"]]][1] += r.get("output_tokens", 0)
    for r in _json(out / "anthropic" / f"usage-report-{day}.json")["data"][0]["results"]:
        writes = r["cache_creation"]["ephemeral_5m_input_tokens"] + r["cache_creation"]["ephemeral_1h_input_tokens"]
        acc["anthropic", models[r["model"]]][0] += r["uncached_input_tokens"] + r["cache_read_input_tokens"] + writes
        acc["anthropic", models[r["model"]]][1] += r["output_tokens"]
    for line in (out / "google" / f"billing-{day}.jsonl").read_text().splitlines():
        r = json.loads(line)
        model = "gemini-2.5-pro" if "2.5 Pro" in r["sku"]["description"] else "gemini-2.5-flash"
        acc["google", model]["Output" in r["sku"]["description"]] += r["usage"]["amount"]
    return acc


def test_provider_exports_equal_the_logs_plus_the_planted_gaps(sample, calls):
    out, truth = sample
    models = _canonical_model(truth)
    billed = calls.filter(pl.col("input_tokens") > 0).with_columns(
        pl.col("model").replace_strict(models).alias("canonical"), pl.col("occurred_at").str.slice(0, 10).alias("day"))
    for day in truth.days:
        expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        logged = billed.filter(pl.col("day") == day.day).group_by("provider", "canonical").agg(
            pl.col("input_tokens").sum(), pl.col("output_tokens").sum())
        for provider, model, i, o in logged.iter_rows():
            expected[provider, model] = [i, o]
        for g in truth.gaps:
            if g.day == day.day:
                expected[g.provider, g.model][0] += g.input_tokens
                expected[g.provider, g.model][1] += g.output_tokens
        assert _provider_tokens(out, day.day, models) == expected, day.day
        for row in day.by_model:  # without a gap, the bill is exactly the list price of the logged calls
            gap = any((g.day, g.model, g.is_batch) == (day.day, row["model"], row["is_batch"]) for g in truth.gaps)
            if row["provider"] != "google" and not gap:
                assert row["billed_usd"] == row["logged_list_cost_usd"], row


def test_otlp_spans_are_the_same_calls(sample, calls):
    out, _ = sample
    day = SPEC.first_day.isoformat()
    spans = []
    for line in (out / "app-logs" / f"otlp-{day}.jsonl").read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            service = resource["resource"]["attributes"][0]
            assert service["key"] == "service.name"
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
                    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16 and span["kind"] == 3
                    assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
                    spans.append({**attrs, "service": service["value"]["stringValue"]})
    today = calls.filter(pl.col("occurred_at").str.starts_with(day))
    assert len(spans) == today.height
    assert {s["app.call_id"] for s in spans} == set(today["call_id"])
    assert sum(int(s.get("gen_ai.usage.input_tokens", 0)) for s in spans) == today["input_tokens"].sum()
    cache_reads = sum(int(s.get("gen_ai.usage.cache_read.input_tokens", 0)) for s in spans)
    assert cache_reads == today["cached_input_tokens"].sum()
    assert {s["gen_ai.provider.name"] for s in spans} == {"openai", "anthropic", "gcp.vertex_ai"}
    assert {s["service"] for s in spans} == set(today["app"])
    assert all(isinstance(s["gen_ai.usage.input_tokens"], str) for s in spans if "gen_ai.usage.input_tokens" in s)


def test_outcomes_tie_to_sessions_of_the_logs(sample, calls):
    out, truth = sample
    outcomes = pl.concat([pl.read_ndjson(p) for p in sorted((out / "app-logs").glob("outcomes-*.jsonl"))])
    assert outcomes.height == sum(d.outcomes for d in truth.days)
    assert list(outcomes.columns) == ["outcome_id", "occurred_at", "app", "feature", "user_id", "session_id",
                                      "call_id", "outcome", "value"]
    assert set(outcomes["session_id"]) <= set(calls["session_id"])
    assert set(outcomes["call_id"].drop_nulls()) <= set(calls["call_id"])
    share = outcomes["session_id"].n_unique() / calls["session_id"].n_unique()
    assert 0.15 < share < 0.45


def test_spec_rejects_nonsense():
    with pytest.raises(ValueError):
        SampleSpec(days=0)
    with pytest.raises(ValueError):
        SampleSpec(log_formats=("csv",))
