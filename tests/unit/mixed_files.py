"""Reading the mixed sample organisation's files back, plainly (json/csv/polars), without the ingest code.

The tests of the generator check its files against its ground truth with these readers, so a
wrong file or a wrong truth shows up here whatever the parsers do.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import polars as pl

from pipelines.sample import SampleSpec
from pipelines.sample.org_mixed import FT_MODEL

SPEC = SampleSpec(days=3, calls_per_day=1000, seed=7, log_formats=("mixed",))
FIELDS = ["requests", "input_tokens", "cached_input_tokens", "cache_write_tokens", "cache_write_1h_tokens",
          "output_tokens", "reasoning_tokens"]


def spans(out: Path, day: str) -> list[dict]:
    """Every span of the day's OTLP file: ids, start (ms), service and attributes."""
    found = []
    for line in (out / "app-logs" / f"otlp-{day}.jsonl").read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            service = {a["key"]: a["value"]["stringValue"] for a in resource["resource"]["attributes"]}["service.name"]
            for scope in resource["scopeSpans"]:
                for s in scope["spans"]:
                    attrs = {a["key"]: next(iter(a["value"].values())) for a in s["attributes"]}
                    found.append({"span_id": s["spanId"], "start_ms": int(s["startTimeUnixNano"]) // 1_000_000,
                                  "service": service, "scope": scope["scope"]["name"], **attrs})
    return found


def litellm(out: Path, day: str) -> pl.DataFrame:
    return pl.read_csv(out / "litellm" / f"spend-logs-{day}.csv", infer_schema=False)


def langfuse_pages(out: Path, day: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "langfuse").glob(f"observations-v2-{day}-p*.json"))]


def canonical(out: Path, day: str) -> pl.DataFrame:
    return pl.read_ndjson(out / "app-logs" / f"calls-{day}.jsonl", infer_schema_length=None)  # trace ids start late


def azure_rows(out: Path, day: str) -> list[dict]:
    text = (out / "azure" / f"cost-details-{day}.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


def cur_rows(out: Path, day: str) -> list[dict]:
    rows = []
    for path in sorted((out / "aws" / "cur").rglob("*.csv")):
        rows += [r for r in csv.DictReader(path.read_text().splitlines())
                 if r["line_item_usage_start_date"].startswith(day)]
    return rows


def _add(acc, key, **counts) -> None:
    for k, v in counts.items():
        acc[key][k] += int(v)


def provider_usage(out: Path, day: str, channel: str = "primary") -> dict[tuple[str, str], dict[str, int]]:
    """(provider, model) -> usage as one channel of each provider's files says it.

    ``primary``: Usage API pages, the Anthropic usage report, GCP rows, Azure meters, the CUR.
    ``secondary``: the OpenAI dashboard usage exports and the Bedrock invocation logs.
    """
    acc: dict = defaultdict(lambda: defaultdict(int))
    openai = {"gpt-4.1-2025-04-14": "gpt-4.1", "gpt-4o-mini-2024-07-18": "gpt-4o-mini", "o4-mini-2025-04-16": "o4-mini",
              "text-embedding-3-small": "text-embedding-3-small", FT_MODEL: FT_MODEL}
    if channel == "primary":
        for name in ("usage-completions", "usage-embeddings"):
            for r in json.loads((out / "openai" / f"{name}-{day}.json").read_text())["data"][0]["results"]:
                _add(acc, ("openai", openai[r["model"]]), requests=r["num_model_requests"],
                     input_tokens=r["input_tokens"], cached_input_tokens=r.get("input_cached_tokens", 0),
                     output_tokens=r.get("output_tokens", 0))
        for r in json.loads((out / "anthropic" / f"usage-report-{day}.json").read_text())["data"][0]["results"]:
            w5, w1 = r["cache_creation"]["ephemeral_5m_input_tokens"], r["cache_creation"]["ephemeral_1h_input_tokens"]
            _add(acc, ("anthropic", r["model"].rsplit("-", 1)[0]), output_tokens=r["output_tokens"],
                 input_tokens=r["uncached_input_tokens"] + r["cache_read_input_tokens"] + w5 + w1,
                 cached_input_tokens=r["cache_read_input_tokens"], cache_write_tokens=w5 + w1, cache_write_1h_tokens=w1)
        for line in (out / "google" / f"billing-{day}.jsonl").read_text().splitlines():
            r = json.loads(line)
            sku, n = r["sku"]["description"].lower(), r["usage"]["amount"]
            key = ("google", "gemini-2.5-pro" if "2.5 pro" in sku else "gemini-2.5-flash")
            if "thinking" in sku:
                _add(acc, key, output_tokens=n, reasoning_tokens=n)
            elif "cach" in sku:
                _add(acc, key, input_tokens=n, cached_input_tokens=n)
            else:
                _add(acc, key, **{"output_tokens" if "output" in sku else "input_tokens": n})
        for r in azure_rows(out, day):
            if r["meterCategory"] != "Foundry Models":
                continue
            n, meter = int(Decimal(r["quantity"]) * 1000), r["meterName"].lower()
            counts = ({"input_tokens": n, "cached_input_tokens": n} if "cached" in meter
                      else {"output_tokens": n} if "outp" in meter else {"input_tokens": n})
            _add(acc, ("azure", "gpt-4o-mini"), **counts)
        for r in cur_rows(out, day):
            if r["pricing_unit"] == "Hrs":  # instance- and model-unit-hours (the always-on endpoints): no tokens
                continue
            ut, n = r["line_item_usage_type"], int(Decimal(r["line_item_usage_amount"]) * 1000)
            key = ("aws", "claude-haiku-4-5" if "Claude4.5Haiku" in ut else "titan-embed-text-v2")
            counts = ({"input_tokens": n, "cached_input_tokens": n} if "cache-read" in ut
                      else {"input_tokens": n, "cache_write_tokens": n} if "cache-write" in ut
                      else {"output_tokens": n} if "output" in ut else {"input_tokens": n})
            _add(acc, key, **counts)
        return acc
    for name in ("completions_usage", "embeddings_usage"):
        path = next((out / "openai" / "dashboard").glob(f"{name}_*.csv"))
        for r in csv.DictReader(path.read_text().splitlines()):
            if r["start_time_iso"].startswith(day) and r["model"]:
                _add(acc, ("openai", openai[r["model"]]), requests=float(r["num_model_requests"]),
                     input_tokens=float(r["input_tokens"]),
                     cached_input_tokens=float(r.get("input_cached_tokens") or 0),
                     output_tokens=float(r.get("output_tokens") or 0))
    for line in (out / "aws" / "bedrock-invocations" / f"invocations-{day}.jsonl").read_text().splitlines():
        r = json.loads(line)
        i, o = r["input"], r["output"]
        read, write = i.get("cacheReadInputTokenCount", 0), i.get("cacheWriteInputTokenCount", 0)
        key = ("aws", "titan-embed-text-v2" if "titan" in r["modelId"] else "claude-haiku-4-5")
        _add(acc, key, requests=1, input_tokens=i["inputTokenCount"] + read + write, cached_input_tokens=read,
             cache_write_tokens=write, output_tokens=o.get("outputTokenCount", 0))
    return acc
