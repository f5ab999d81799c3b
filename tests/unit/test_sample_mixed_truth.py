"""The mixed organisation's ground truth, checked against its own files (read plainly, not by the ingest code)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from mixed_files import FIELDS, SPEC, canonical, langfuse_pages, litellm, provider_usage, spans
from pipelines.sample import generate
from pipelines.sample.endpoints import LLAMA_MODEL as ENDPOINT_MODEL, PT_ARN
from pipelines.sample.listprice import list_cost

ZERO = Decimal(0)
GROUPS = {  # LiteLLM model_group -> (provider, model)
    "text-embedding-3-small": ("openai", "text-embedding-3-small"),
    "claude-haiku-4-5": ("anthropic", "claude-haiku-4-5"),
    "gemini-2.5-flash": ("google", "gemini-2.5-flash"), "gemini-2.5-pro": ("google", "gemini-2.5-pro"),
    "gemini-flash-studio": ("google", "gemini-2.5-flash"), "gpt-4o-mini": ("azure", "gpt-4o-mini"),
}


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    return out, generate(out, SPEC)


def _days(truth):
    return zip(truth.days, truth.mixed["days"])


def test_apps_plus_unlogged_gaps_are_the_bill_per_day_and_provider(org):
    _, truth = org
    for d, m in _days(truth):
        apps = m["app_billed_usd"]
        assert set(apps) == {"support-bot", "docs-search", "sales-copilot"}
        for provider, billed in d.billed_usd.items():
            attributed = sum((a["by_provider"].get(provider, ZERO) for a in apps.values()), ZERO)
            credits = d.credits_usd if provider == "google" else ZERO
            idle = m["idle_usd"].get(provider, ZERO)  # always-on capacity no call used
            training = m["fine_tuning_usd"].get(provider, ZERO)  # a fine-tuning job: no call's
            assert attributed + m["unlogged_usd"].get(provider, ZERO) + idle + training == billed + credits, (
                d.day, provider)
        for a in apps.values():
            assert a["total_usd"] == sum(a["by_provider"].values(), ZERO) == sum(a["by_model"].values(), ZERO)
        assert set(d.billed_usd) == {"openai", "anthropic", "google", "azure", "aws", "self_hosted"}
        assert all(v > 0 for v in d.billed_usd.values())


def test_log_records_add_up_to_the_logical_calls(org):
    out, truth = org
    for d, m in _days(truth):
        s, rows = spans(out, d.day), litellm(out, d.day)
        observations = [o for page in langfuse_pages(out, d.day) for o in page["data"]]
        counts = {"canonical": canonical(out, d.day).height, "otel_spans": len(s), "litellm_rows": rows.height,
                  "langfuse_observations": len(observations)}
        assert counts == m["log_records"]
        response_ids = {x["gen_ai.response.id"] for x in s if "gen_ai.response.id" in x}
        shared = response_ids & set(rows["request_id"])
        assert len(shared) == m["shared_id_pairs"]
        assert not any("app.call_id" in x for x in s)  # the spans share no app id with the proxy
        idless = [p for p in truth.mixed["merge_pairs"] if p["day"] == d.day]
        assert len(idless) == m["idless_pairs"]
        assert sum(counts.values()) - len(shared) - len(idless) == m["logical_calls"] == d.logged_calls
        assert {o["type"] for o in observations} == {"GENERATION"} and not any("model" in o for o in observations)


def test_idless_pairs_are_one_call_each_and_decoys_two(org):
    out, truth = org
    for d, m in _days(truth):
        by_span = {x["span_id"]: x for x in spans(out, d.day)}
        by_request = {r["request_id"]: r for r in litellm(out, d.day).iter_rows(named=True)}
        pairs = [p for p in truth.mixed["merge_pairs"] if p["day"] == d.day]
        assert m["idless_pairs_by_kind"]["embedding"] > 10 * m["idless_pairs_by_kind"].get("failed", 0) > 0
        for p in pairs:
            span, row = by_span[p["otel_span_id"]], by_request[p["litellm_request_id"]]
            assert "gen_ai.response.id" not in span and row["request_id"] not in by_span
            assert int(span.get("gen_ai.usage.input_tokens", 0)) == int(row["prompt_tokens"])
            start = int(date.fromisoformat(d.day).toordinal() - date(1970, 1, 1).toordinal()) * 86_400_000
            hh, mm, ss = row["startTime"][11:].split(":")
            row_ms = start + (int(hh) * 3600 + int(mm) * 60) * 1000 + round(float(ss) * 1000)
            assert row_ms - span["start_ms"] == p["litellm_minus_span_ms"] and abs(p["litellm_minus_span_ms"]) <= 300
        paired = {p["otel_span_id"]: p["call_id"] for p in pairs}
        decoys = [x for x in truth.mixed["decoy_pairs"] if x["day"] == d.day]
        assert len(decoys) == m["decoy_pairs"] >= 3
        for x in decoys:
            a, b = (by_span[i] for i in x["otel_span_ids"])
            assert a["gen_ai.usage.input_tokens"] == b["gen_ai.usage.input_tokens"] == str(x["input_tokens"])
            assert 250 <= b["start_ms"] - a["start_ms"] == x["start_gap_ms"] <= 1200
            assert [paired[i] for i in x["otel_span_ids"]] == x["call_ids"] and len(set(x["call_ids"])) == 2


def test_usage_truth_is_what_each_usage_channel_says_counted_once(org):
    out, truth = org
    reported = truth.mixed["usage_reported"]
    for d, m in _days(truth):
        primary, secondary = provider_usage(out, d.day), provider_usage(out, d.day, "secondary")
        assert {(u["provider"], u["model"]) for u in m["usage"]} == set(primary)
        for u in m["usage"]:
            key = (u["provider"], u["model"])
            for f in FIELDS:
                if f in reported[u["provider"]] and f != "requests" or (f == "requests" and u["provider"] == "openai"):
                    assert primary[key][f] == u[f], (d.day, key, f)
                if key in secondary and f in reported[u["provider"]]:
                    assert secondary[key][f] == u[f], (d.day, key, f, "second channel")
        assert {k for k in secondary} == {k for k in primary if k[0] in ("openai", "aws")}


def _price(day: date, provider: str, model: str, batch: bool, i: int, c: int, w: int, w1: int, o: int) -> Decimal:
    priced = {("aws", "claude-haiku-4-5"): "us.anthropic.claude-haiku-4-5-20251001-v1:0",
              ("aws", "titan-embed-text-v2"): "amazon.titan-embed-text-v2:0"}.get((provider, model), model)
    return list_cost(provider, priced, day, batch, provider == "anthropic" and i > 200_000, i, c, w, w1, o)


def test_app_truth_is_the_list_price_of_the_apps_calls(org):
    out, truth = org
    logged = {raw: (m["provider"], m["model"]) for m in truth.org["models"] for raw in m["logged_as"]}
    billed_as = {m["billed_as"]: (m["provider"], m["model"]) for m in truth.org["models"] if "ref" not in m}
    for d, m in _days(truth):
        day, cost = date.fromisoformat(d.day), {}

        def add(app, provider, amount):
            cost[app, provider] = cost.get((app, provider), ZERO) + amount

        calls = canonical(out, d.day)
        for t in truth.mixed["endpoints"]["days"]:  # endpoints' calls carry their utilised share, not a list price
            if t["day"] == d.day:
                add("support-bot", t["provider"], t["attributed_cost_usd"])
        served = calls["model"].is_in([ENDPOINT_MODEL, PT_ARN])
        for r in calls.filter((calls["input_tokens"] > 0) & ~served).iter_rows(named=True):
            provider, model = logged[r["model"]]
            add(r["app"], provider, _price(day, provider, model, r["is_batch"], r["input_tokens"],
                                                r["cached_input_tokens"], r["cache_write_tokens"],
                                                r["cache_write_1h_tokens"], r["output_tokens"]))
        rows = litellm(out, d.day)
        for r in rows.filter(rows["status"] == "success").iter_rows(named=True):
            provider, model = GROUPS[r["model_group"]]
            usage = json.loads(r["metadata"])["additional_usage_values"]
            details = usage.get("prompt_tokens_details", {})
            cached = usage.get("cache_read_input_tokens", details.get("cached_tokens", 0))
            add(json.loads(r["metadata"])["spend_logs_metadata"]["app"], provider,
                _price(day, provider, model, False, int(r["prompt_tokens"]), cached,
                       usage.get("cache_creation_input_tokens", 0), 0, int(r["completion_tokens"])))
        for o in (o for page in langfuse_pages(out, d.day) for o in page["data"] if o["level"] != "ERROR"):
            provider, model = billed_as[o["providedModelName"]]
            u = o["usageDetails"]
            cached = u.get("input_cached_tokens", 0) + u.get("input_cache_read", 0)
            write = u.get("input_cache_creation", 0)
            add("sales-copilot", provider, _price(day, provider, model, False, u["input"] + cached + write, cached,
                                                  write, 0, u["output"] + u.get("output_reasoning_tokens", 0)))
        for app, entry in m["app_billed_usd"].items():
            for provider, amount in entry["by_provider"].items():
                if provider == "google":  # billed per SKU-hour as floats, net of credits
                    assert abs(amount - d.credits_usd - cost[app, provider]) < Decimal("1e-9"), (d.day, app)
                else:
                    assert amount == cost[app, provider], (d.day, app, provider)
        assert {k for k in cost} == {(a, p) for a, e in m["app_billed_usd"].items() for p in e["by_provider"]}
