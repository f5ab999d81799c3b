"""The mixed sample organisation: every situation of issue #12 in its files, in the real formats, recognised.

(Its ground truth is checked against the files in ``test_sample_mixed_truth.py``.)
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from mixed_files import SPEC, azure_rows, canonical, cur_rows, langfuse_pages, provider_usage, spans
from pipelines.ingest.land import land_file
from pipelines.ingest.registry import detect
from pipelines.sample import SampleSpec, generate

# Landing path pattern -> the format it is written in (what detection must say).
INTENDED = [
    ("app-logs/calls-", "tokenbooks_calls"), ("app-logs/outcomes-", "tokenbooks_outcomes"),
    ("app-logs/otlp-", "otel_genai_spans"), ("litellm/spend-logs-", "litellm_spend_logs"),
    ("langfuse/observations-v2-", "langfuse_observations"),
    ("aws/bedrock-invocations/", "bedrock_invocation_usage"), ("aws/cur/", "aws_cur_csv"),
    ("azure/cost-details-", "azure_cost_details"), ("google/billing-", "google_billing_jsonl"),
    ("anthropic/usage-report-", "anthropic_usage_report"), ("anthropic/cost-report-", "anthropic_cost_report"),
    ("openai/usage-", "openai_usage_page"), ("openai/costs-", "openai_costs_page"),
    ("openai/dashboard/completions_usage_", "openai_usage_csv"),
    ("openai/dashboard/embeddings_usage_", "openai_usage_csv"),
    ("openai/dashboard/cost_", "openai_costs_csv"),
]
# Real-format files the parsers of this branch cannot read yet (the billing work adds them).
# Classic modes must stay byte for byte what they were (benchmarks and tests depend on them).
CLASSIC = SampleSpec(days=2, calls_per_day=300, seed=3, log_formats=("canonical", "otlp"), chunk_rows=120)
CLASSIC_SHA256 = "a2d7cf40bf21ccf2c26467dc7fe712fee4b5542702e6e55f3f77c7b7751fa59d"  # as before the mixed mode


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    return out, generate(out, SPEC)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name != "ground_truth.json")


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for rel in _files(root) + ["ground_truth.json"]:
        h.update(rel.encode() + b"\0" + (root / rel).read_bytes())
    return h.hexdigest()


def test_every_file_is_detected_as_the_format_it_is_written_in(org):
    out, truth = org
    assert _files(out) == sorted(truth.files)
    seen = set()
    for rel in truth.files:
        intended = next(fmt for prefix, fmt in INTENDED if rel.startswith(prefix))
        assert detect(out / rel).name == intended, rel
        seen.add(intended)
    assert seen == {fmt for _, fmt in INTENDED}


def test_langfuse_v2_pages_land_whole(org, home):
    out, truth = org
    for page in sorted((out / "langfuse").glob("*.json")):
        result = land_file(page, home)
        assert result.error is None and result.quarantined == 0 and result.landed > 0, result.line()


def test_same_spec_same_bytes_even_in_chunks(tmp_path):
    spec = SampleSpec(days=2, calls_per_day=700, seed=5, log_formats=("mixed",), chunk_rows=200)
    generate(tmp_path / "a", spec)
    generate(tmp_path / "b", spec)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    pages = langfuse_pages(tmp_path / "a", spec.end_day.isoformat())
    assert [bool(p["meta"].get("cursor")) for p in pages] == [True] * (len(pages) - 1) + [False]
    litellm = (tmp_path / "a" / "litellm" / f"spend-logs-{spec.end_day}.csv").read_text()
    assert litellm.count("request_id,call_type") == 1  # one header, however many chunks appended


def test_classic_modes_are_unchanged(tmp_path):
    generate(tmp_path, CLASSIC)
    assert _digest(tmp_path) == CLASSIC_SHA256


def test_spec_keeps_mixed_apart():
    with pytest.raises(ValueError, match="mixed"):
        SampleSpec(log_formats=("mixed", "otlp"))


def test_azure_calls_name_the_deployment_and_bill_in_euros(org):
    out, _ = org
    day = SPEC.first_day.isoformat()
    azure = [s for s in spans(out, day) if s["gen_ai.provider.name"] == "azure.ai.openai"]
    assert azure and {s["gen_ai.request.model"] for s in azure} == {"triage-prod"}
    assert {s["service"] for s in azure} == {"support-bot"}
    answered = [s for s in azure if "gen_ai.response.id" in s]
    assert answered and {s["gen_ai.response.model"] for s in answered} == {"gpt-4o-mini-2024-07-18"}
    raw = (out / "azure" / f"cost-details-{day}.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = [r for r in azure_rows(out, day) if r["meterCategory"] == "Foundry Models"]
    assert {r["date"] for r in rows} == {SPEC.first_day.strftime("%m/%d/%Y")}
    assert {r["unitOfMeasure"] for r in rows} == {"1K"} and {r["billingCurrency"] for r in rows} == {"EUR"}
    assert {json.loads(r["tags"])["app"] for r in rows} == {"support-bot"}
    assert all(r["ResourceId"].endswith("/accounts/support-aoai-prod") for r in rows)
    for r in rows:
        rate = Decimal(r["exchangeRatePricingToBilling"])
        assert Decimal(r["costInBillingCurrency"]) == Decimal(r["costInUsd"]) * rate


def test_bedrock_profile_calls_are_in_three_places(org):
    out, _ = org
    day = SPEC.first_day.isoformat()
    calls = canonical(out, day)
    arn = "arn:aws:bedrock:us-east-1:410987654321:application-inference-profile/k7m2x9q4ab1c"
    logged = calls.filter((calls["model"] == arn) & (calls["input_tokens"] > 0))
    path = out / "aws" / "bedrock-invocations" / f"invocations-{day}.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    profile = [x for x in lines if x["modelId"] == arn]
    assert {x["schemaType"] for x in lines} == {"ModelInvocationLog"}
    assert set(logged["provider_request_id"]) == {x["requestId"] for x in profile}
    cur = [r for r in cur_rows(out, day) if "Claude4.5Haiku" in r["line_item_usage_type"]]
    assert {r["line_item_resource_id"] for r in cur} == {arn}
    assert {json.loads(r["resource_tags"])["user_app"] for r in cur} == {"support-bot"}
    titan = [r for r in cur_rows(out, day) if "Titan" in r["line_item_usage_type"]]
    assert titan and {r["line_item_resource_id"] for r in titan} == {""}


def test_openai_dashboard_repeats_the_api_and_one_day_is_restated(org):
    out, truth = org
    for day in truth.days:
        api, dashboard = provider_usage(out, day.day), provider_usage(out, day.day, "secondary")
        openai = {k for k in api if k[0] == "openai"}
        assert {k: dashboard[k] for k in openai} == {k: api[k] for k in openai} and set(dashboard) >= openai
    restated = truth.mixed["restatement"]
    first, late = out / restated["superseded_file"], out / restated["restated_file"]
    assert sorted([first.name, late.name])[-1] == late.name and late.stat().st_mtime > first.stat().st_mtime
    a, b = (json.loads(p.read_text())["data"][0]["results"] for p in (first, late))
    moved = [(x, y) for x, y in zip(a, b) if x != y]
    assert len(moved) == 1 and moved[0][0]["line_item"] == moved[0][1]["line_item"] == restated["line_item"]
    assert (moved[0][0]["project_id"], moved[0][1]["project_id"]) == (
        restated["project_in_superseded"], restated["project_in_restated"])
    day = next(d for d in truth.days if d.day == restated["day"])
    assert sum(Decimal(r["amount"]["value"]) for r in b) == day.billed_usd["openai"]
