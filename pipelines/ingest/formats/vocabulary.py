"""The canonical values of a call, whatever an app log writes: provider ids, status and finish reasons.

Each returns SQL over the source's own text (code constants; the lists are bound through ``Params``).
"""

from __future__ import annotations

from pipelines.ingest.attributes import Params

# Provider names as each source writes them -> the ids genai-prices and the rest of tokenbooks use.
PROVIDER_IDS = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "az.ai.inference": "azure",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_openai": "azure",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "bedrock_converse": "aws",
    "aws_bedrock": "aws",
    "aws": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "gemini": "google",
    "vertex_ai": "google",
    "vertex_ai_beta": "google",
    "vertexai": "google",
    "google": "google",
    "google_genai": "google",
    "openrouter": "openrouter",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "mistral": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "cohere": "cohere",
}


def provider_sql(raw: str, model: str, params: Params) -> str:
    """Canonical provider id from the source's provider name, else from the model name, else 'unknown'.

    Inferring from the model name only uses unambiguous families (gpt-/o-series, claude, gemini);
    a gateway's provider column, when present, always wins.
    """
    names = params.add(list(PROVIDER_IDS))
    ids = params.add(list(PROVIDER_IDS.values()))
    m = f"lower(coalesce({model}, ''))"
    return f"""coalesce(
        {ids}[list_position({names}, lower(trim({raw})))],
        nullif(lower(trim({raw})), ''),
        case
            when regexp_matches({m}, '^(arn:aws:bedrock|(us|eu|apac|global)\\.)') then 'aws'
            when regexp_matches({m}, '^(openai/)?(gpt-|chatgpt-|o[1-9]|text-embedding-|davinci|babbage)') then 'openai'
            when regexp_matches({m}, '^(anthropic/)?claude') then 'anthropic'
            when regexp_matches({m}, '^(google/|models/)?gemini') then 'google'
        end,
        'unknown')"""


def status_sql(failed: str, detail: str) -> str:
    """Canonical status: ``ok`` unless ``failed``; a failure is classified from its error text."""
    d = f"lower(coalesce({detail}, ''))"
    return f"""case
        when not coalesce({failed}, false) then 'ok'
        when regexp_matches({d}, '429|rate.?limit|too.?many.?requests|throttl|quota') then 'rate_limited'
        when regexp_matches({d}, 'timeout|timed.?out|deadline') then 'timeout'
        when regexp_matches({d}, 'cancel|abort|disconnect') then 'aborted'
        else 'error' end"""


# Finish reasons as providers write them -> the canonical five (stop, length, tool_calls, content_filter, error);
# anything else is kept as written. Matched case-insensitively.
FINISH_REASONS = {
    "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "complete": "stop", "eos": "stop",
    "length": "length", "max_tokens": "length", "max_output_tokens": "length", "token_limit": "length",
    "tool_calls": "tool_calls", "tool_use": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter", "safety": "content_filter", "recitation": "content_filter",
    "prohibited_content": "content_filter", "blocklist": "content_filter", "spii": "content_filter",
    "guardrail_intervened": "content_filter", "content_filtered": "content_filter", "refusal": "content_filter",
    "error": "error", "malformed_function_call": "error",
}


def finish_reason_sql(raw: str, params: Params) -> str:
    """The canonical finish reason of ``raw`` (see FINISH_REASONS); an unknown one as written, blank as null."""
    names, values = params.add(list(FINISH_REASONS)), params.add(list(FINISH_REASONS.values()))
    # A list written as JSON text (["stop"]) gives its first element: one choice, one reason.
    first = f"""trim(split_part(trim(trim({raw}), '[]'), ',', 1), ' "')"""
    return f"coalesce({values}[list_position({names}, lower({first}))], nullif({first}, ''))"
