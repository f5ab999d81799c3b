"""The input formats tokenbooks knows, and how a file is matched to one.

Formats register themselves by being listed in ``FORMATS``; detection tries them
in order, so more specific formats come before general ones.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.formats.base import InputError, InputFormat, Sample
from pipelines.ingest.formats.canonical import CanonicalCalls, CanonicalOutcomes
from pipelines.ingest.formats.openai import OpenAICostsCsv, OpenAICostsPage, OpenAIUsageCsv, OpenAIUsagePage
from pipelines.ingest.formats.anthropic import AnthropicCostReport, AnthropicUsageReport
from pipelines.ingest.formats.google import GoogleBillingCsv, GoogleBillingJsonl
from pipelines.ingest.formats.aws import AwsCurCsv, AwsCurParquet, BedrockInvocationUsage
from pipelines.ingest.formats.azure import AzureCostDetails
from pipelines.ingest.formats.openrouter import OpenRouterActivity
from pipelines.ingest.formats.otel import OtelGenAISpans
from pipelines.ingest.formats.litellm import LiteLLMSpendLogs
from pipelines.ingest.formats.langfuse import LangfuseObservations
from pipelines.ingest.formats.bedrock import BedrockInvocationCalls

FORMATS: list[InputFormat] = [
    OpenAIUsagePage(),
    OpenAICostsPage(),
    AnthropicUsageReport(),
    AnthropicCostReport(),
    OpenAIUsageCsv(),
    OpenAICostsCsv(),
    GoogleBillingJsonl(),
    GoogleBillingCsv(),
    AwsCurCsv(),
    AwsCurParquet(),
    AzureCostDetails(),
    OpenRouterActivity(),
    CanonicalOutcomes(),
    CanonicalCalls(),
    OtelGenAISpans(),
    LiteLLMSpendLogs(),
    LangfuseObservations(),
    # Bedrock invocation logs: detected as provider usage (as before); as call logs they are landed
    # by name (fmt="bedrock_invocation_calls"), which is never reached by detection.
    BedrockInvocationUsage(),
    BedrockInvocationCalls(),
]


def by_name(name: str) -> InputFormat:
    for f in FORMATS:
        if f.name == name:
            return f
    known = ", ".join(f.name for f in FORMATS)
    raise InputError("-", f"unknown format {name!r}; known formats: {known}")


def detect(path: Path, fmt: str | None = None) -> InputFormat:
    if fmt:
        return by_name(fmt)
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")
    sample = Sample.of(path)
    for f in FORMATS:
        if f.sniff(sample):
            return f
    raise InputError(path, "format not recognised (not one of: " + ", ".join(f.name for f in FORMATS) + ")")
