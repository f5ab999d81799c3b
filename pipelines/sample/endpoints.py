"""The mixed organisation's always-on capacity: a self-hosted endpoint on GPU instances and a Bedrock
provisioned-throughput commitment, billed by the hour in the CUR, their calls in support-bot's canonical log.

- ``llama-chat``: Llama 3.1 70B on g5.12xlarge instances (on-demand, tagged ``endpoint=llama-chat``), one CUR
  row per instance-hour. Two instances on weekdays, when support-bot's ``draft_local`` calls it; scaled down to
  one at weekends, when nothing calls it, except the first weekend of the period, left running at two.
- ``haiku-pt``: one model unit of Claude Haiku 4.5 provisioned throughput, 24 model-unit-hours every day,
  mapped to its endpoint by resource id (``endpoints:`` config); ``escalate_pt`` calls log its ARN as model.

Calls and volumes come from their own random stream (``[seed, 19, day]``), so adding them moves no other call.
Capacities are configured (``capacity_tokens_per_hour``, scaled to the spec's volume so a weekday runs near
40 % of capacity), so the truth's idle cost is exact: utilisation = tokens / (capacity × hours billed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import numpy as np

from pipelines.sample.frames import CALL_COLUMNS
from pipelines.sample.levers import LEVER_COLUMNS
from pipelines.sample.org_mixed import AWS_ACCOUNT, AWS_REGION
from pipelines.sample.spec import DayTruth, SampleSpec

APP = "support-bot"
LLAMA, LLAMA_MODEL, LLAMA_FEATURE = "llama-chat", "llama-3.1-70b", "draft_local"
INSTANCE_TYPE, INSTANCE_RATE = "g5.12xlarge", Decimal("5.672")  # USD per instance-hour, on-demand us-east-1
INSTANCES = ("i-0c4f1e9a7b2d30001", "i-0c4f1e9a7b2d30002")
PT, PT_FEATURE = "haiku-pt", "escalate_pt"
PT_ARN = f"arn:aws:bedrock:{AWS_REGION}:{AWS_ACCOUNT}:provisioned-model/q3v8n1x6tz0k"
PT_USAGE_TYPE, PT_RATE = "USE1-ProvisionedThroughput-NoCommit-ModelUnits", Decimal("21.18")  # per model-unit-hour
LLAMA_SHARE, PT_SHARE = 0.05, 0.03  # of calls_per_day, per weekday (PT: half of it at weekends)
TARGET_UTILISATION = 0.4
MEAN_TOKENS = {LLAMA: 1800 * 1.08 + 350 * 1.08, PT: 2500 * 1.08 + 200 * 1.08}  # lognormal(σ=0.4) means
MEDIANS = {LLAMA: (1800, 350), PT: (2500, 200)}
EC2_PRODUCT = json.dumps({"product_name": "Amazon Elastic Compute Cloud", "servicecode": "AmazonEC2",
                          "region": AWS_REGION, "instance_type": INSTANCE_TYPE})
BEDROCK_PRODUCT = json.dumps({"product_name": "Amazon Bedrock", "servicecode": "AmazonBedrock", "region": AWS_REGION})
RULES = [
    "cost_usd is the day's CUR rows of the endpoint; usage_hours their instance- or model-unit-hours.",
    "tokens_served = input + output tokens of its calls; capacity_tokens = capacity_tokens_per_hour × usage_hours.",
    "attributed_cost_usd = cost_usd × min(1, tokens_served / capacity_tokens); idle_cost_usd = the rest.",
    "cost_per_mtok_usd = cost_usd / tokens_served × 1e6 (null when none served).",
]


def _weekend(day: date) -> bool:
    return day.weekday() >= 5


def _left_running(spec: SampleSpec) -> set[date]:
    """The first weekend of the period (both its days that fall inside it): nobody scaled the instances down."""
    weekend = [spec.day(i) for i in range(spec.days) if _weekend(spec.day(i))]
    if not weekend:
        return set()
    first = weekend[0] - timedelta(days=weekend[0].weekday() - 5)
    return {d for d in weekend if first <= d <= first + timedelta(days=1)}


def _weekday_calls(spec: SampleSpec, share: float) -> int:
    return max(20, round(spec.calls_per_day * share))


def capacities(spec: SampleSpec) -> dict[str, int]:
    """Tokens per instance- / model-unit-hour, so that a weekday runs near TARGET_UTILISATION."""
    llama = _weekday_calls(spec, LLAMA_SHARE) * MEAN_TOKENS[LLAMA] / (TARGET_UTILISATION * 24 * len(INSTANCES))
    pt = _weekday_calls(spec, PT_SHARE) * MEAN_TOKENS[PT] / (TARGET_UTILISATION * 24)
    return {LLAMA: int(round(llama, -3)) or 1000, PT: int(round(pt, -3)) or 1000}


def config(spec: SampleSpec) -> str:
    """The ``tokenbooks.yaml`` lines that tell the pipeline about the two endpoints."""
    cap = capacities(spec)
    return (f"endpoints:\n"
            f"  {LLAMA}:\n    models: [{LLAMA_MODEL}]\n    capacity_tokens_per_hour: {cap[LLAMA]}\n"
            f"    reference_model: openai/gpt-4o-mini\n    app: {APP}\n"
            f"  {PT}:\n    provider: aws\n    resources: [\"{PT_ARN}\"]\n    models: [\"{PT_ARN}\"]\n"
            f"    capacity_tokens_per_hour: {cap[PT]}\n    app: {APP}\n")


def _hex(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


@dataclass
class EndpointDay:
    calls: list[dict]  # canonical call lines
    cur: list[dict]  # CUR 2.0 rows
    truth: list[dict]  # per endpoint


def _calls(rng: np.random.Generator, day: date, endpoint: str, n: int) -> list[dict]:
    provider, model, feature = (("self_hosted", LLAMA_MODEL, LLAMA_FEATURE) if endpoint == LLAMA
                                else ("aws", PT_ARN, PT_FEATURE))
    med_in, med_out = MEDIANS[endpoint]
    seconds = np.sort(rng.integers(7 * 3600, 19 * 3600, n))
    inputs = np.maximum(1, np.round(rng.lognormal(np.log(med_in), 0.4, n))).astype(int)
    outputs = np.maximum(1, np.round(rng.lognormal(np.log(med_out), 0.4, n))).astype(int)
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    out = []
    for i in range(n):
        at = start + timedelta(seconds=int(seconds[i]))
        row = dict.fromkeys(CALL_COLUMNS + LEVER_COLUMNS)
        row.update({
            "call_id": f"call_{_hex(endpoint, day, i)[:24]}", "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "provider": provider, "model": model, "app": APP, "feature": feature,
            "session_id": f"sess_{_hex('s', endpoint, day, i)[:20]}", "prompt_version": f"{feature}@v1",
            "input_tokens": int(inputs[i]), "cached_input_tokens": 0, "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0, "output_tokens": int(outputs[i]), "reasoning_tokens": 0, "is_batch": False,
            "status": "ok", "attempt": 1, "latency_ms": int(400 + outputs[i] * 12), "response_cache_hit": False,
            "finish_reason": "stop",
        })
        out.append(row)
    return out


def _cur_row(hour: datetime, usage_type: str, operation: str, resource: str, rate: Decimal, product: str,
             tags: dict, description: str) -> dict:
    start, end = (f"{t.isoformat()}Z" for t in (hour, hour + timedelta(hours=1)))
    return {
        "bill_billing_period_start_date": f"{hour.date().replace(day=1).isoformat()}T00:00:00Z",
        "bill_payer_account_id": AWS_ACCOUNT, "identity_line_item_id": _hex(start, usage_type, resource)[:52],
        "line_item_usage_start_date": start, "line_item_usage_end_date": end,
        "line_item_usage_account_id": AWS_ACCOUNT, "line_item_line_item_type": "Usage",
        "line_item_product_code": "AmazonEC2" if "BoxUsage" in usage_type else "AmazonBedrock",
        "line_item_usage_type": usage_type, "line_item_operation": operation, "line_item_usage_amount": "1",
        "line_item_unblended_rate": format(rate, "f"), "line_item_unblended_cost": format(rate, "f"),
        "line_item_currency_code": "USD", "line_item_line_item_description": description,
        "line_item_resource_id": resource, "line_item_iam_principal": "", "pricing_unit": "Hrs", "product": product,
        "resource_tags": json.dumps(tags),
    }


def endpoint_day(spec: SampleSpec, day: date) -> EndpointDay:
    """The day's calls, CUR rows and truth for both endpoints."""
    rng = np.random.default_rng([spec.seed, 19, day.toordinal()])
    weekend = _weekend(day)
    n_llama = 0 if weekend else _weekday_calls(spec, LLAMA_SHARE)
    n_pt = _weekday_calls(spec, PT_SHARE) // (2 if weekend else 1)
    instances = INSTANCES if not weekend or day in _left_running(spec) else INSTANCES[:1]
    llama, pt = _calls(rng, day, LLAMA, n_llama), _calls(rng, day, PT, n_pt)
    rows = []
    for h in range(24):
        hour = datetime.combine(day, time(h))
        rows += [_cur_row(hour, f"USE1-BoxUsage:{INSTANCE_TYPE}", "RunInstances", i, INSTANCE_RATE, EC2_PRODUCT,
                          {"user_endpoint": LLAMA, "user_app": APP},
                          f"${INSTANCE_RATE} per On Demand Linux {INSTANCE_TYPE} Instance Hour") for i in instances]
        rows.append(_cur_row(hour, PT_USAGE_TYPE, "ProvisionedThroughput", PT_ARN, PT_RATE, BEDROCK_PRODUCT, {},
                             f"${PT_RATE} per model unit-hour, no commitment, Claude Haiku 4.5"))
    cap = capacities(spec)
    truth = [_truth(day, LLAMA, "compute", "self_hosted", len(instances) * 24, INSTANCE_RATE, llama, cap[LLAMA]),
             _truth(day, PT, "provisioned", "aws", 24, PT_RATE, pt, cap[PT])]
    return EndpointDay(llama + pt, rows, truth)


def _truth(day: date, endpoint: str, kind: str, provider: str, hours: int, rate: Decimal, calls: list[dict],
           capacity_per_hour: int) -> dict:
    cost = rate * hours
    tokens = sum(c["input_tokens"] + c["output_tokens"] for c in calls)
    capacity = capacity_per_hour * hours
    attributed = cost * min(Decimal(1), Decimal(tokens) / capacity)
    return {"day": day.isoformat(), "endpoint": endpoint, "endpoint_kind": kind, "provider": provider,
            "usage_hours": hours, "cost_usd": cost, "calls": len(calls), "tokens_served": tokens,
            "capacity_tokens": capacity, "attributed_cost_usd": attributed, "idle_cost_usd": cost - attributed,
            "cost_per_mtok_usd": cost * 1_000_000 / tokens if tokens else None}


def patch_day(d: DayTruth, ep: EndpointDay, training: Decimal) -> DayTruth:
    """The classic day truth plus the endpoints: their calls are logged calls, their rows billed (self-hosted
    under ``self_hosted``, the provisioned throughput under ``aws``)."""
    billed = dict(d.billed_usd)
    for t in ep.truth:
        billed[t["provider"]] = billed.get(t["provider"], Decimal(0)) + t["cost_usd"]
    billed["openai"] = billed.get("openai", Decimal(0)) + training  # the fine-tuning job (finetune.py)
    return replace(d, logged_calls=d.logged_calls + len(ep.calls), billed_usd=billed,
                   billed_total_usd=sum(billed.values(), Decimal(0)))


def summary(spec: SampleSpec, days: list[dict]) -> dict:
    return {"config": config(spec), "rules": RULES, "capacity_tokens_per_hour": capacities(spec),
            "left_running_days": sorted(d.isoformat() for d in _left_running(spec)), "days": days}
