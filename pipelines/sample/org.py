"""The sample organisation: its apps, features, models, provider owners and planted problems.

Everything here is a constant; ``calls.py`` turns it into rows. Model names are
the canonical genai-prices ids; ``Model.billed_as`` is the string the provider
itself reports in usage and cost exports (a dated snapshot where one exists).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Model:
    provider: str  # genai-prices provider id: openai, anthropic, google
    name: str  # canonical model id
    billed_as: str  # model string in the provider's usage/cost exports
    tier: str  # large | medium | small
    ms_per_token: float  # decode speed, for latencies
    operation: str = "chat"  # OTel gen_ai.operation.name
    key: str = ""  # unique id routes name it by, when ``name`` is served by two providers or channels
    price_ref: str = ""  # the genai-prices model id, when it is not ``name`` (Bedrock ids)
    via: str = ""  # how it is reached, where the bill tells it apart: "gemini_api", or a Bedrock profile ARN

    @property
    def ref(self) -> str:
        return self.key or self.name

    @property
    def priced_as(self) -> str:
        return self.price_ref or self.name


MODELS: tuple[Model, ...] = (
    Model("openai", "gpt-4.1", "gpt-4.1-2025-04-14", "large", 14.0),
    Model("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "small", 8.0),
    Model("openai", "o4-mini", "o4-mini-2025-04-16", "medium", 9.0),
    Model("openai", "text-embedding-3-small", "text-embedding-3-small", "small", 0.0, "embeddings"),
    Model("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "large", 16.0),
    Model("anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "medium", 7.0),
    Model("google", "gemini-2.5-flash", "gemini-2.5-flash", "medium", 5.0),
    Model("google", "gemini-2.5-pro", "gemini-2.5-pro", "large", 11.0),
)


@dataclass(frozen=True)
class Owner:
    """Who a provider bills a call to: the ids the provider's exports carry."""

    key: str  # short name used in ground truth
    provider: str
    project_id: str | None = None  # OpenAI project or GCP project
    workspace_id: str | None = None  # Anthropic workspace (None = default workspace)
    api_key_id: str | None = None

    @property
    def label(self) -> str:
        """Most specific owner, as ``kind:id`` (workspace/project before key)."""
        if self.project_id:
            return f"project:{self.project_id}"
        if self.workspace_id:
            return f"workspace:{self.workspace_id}"
        return f"key:{self.api_key_id}"


@dataclass(frozen=True)
class CloudOwner(Owner):
    """An owner a cloud bill names by a resource (Azure OpenAI account, IAM role), not a project or key."""

    resource: str = ""

    @property
    def label(self) -> str:
        return f"resource:{self.resource}"


OWNERS: tuple[Owner, ...] = (
    Owner("support-bot/openai", "openai", project_id="proj_SupportBot7Hq2", api_key_id="key_SbProd01"),
    Owner("support-bot/anthropic", "anthropic", workspace_id="wrkspc_01SupportBot",
          api_key_id="apikey_01SupportBotProd"),
    Owner("docs-search/openai", "openai", project_id="proj_DocsSearch4Nw8", api_key_id="key_DsProd01"),
    # docs-search calls Anthropic from the organisation's default workspace: workspace_id is null in exports.
    Owner("docs-search/anthropic", "anthropic", api_key_id="apikey_01DocsSearchProd"),
    Owner("docs-search/google", "google", project_id="docs-search-prod"),
    Owner("sales-copilot/openai", "openai", project_id="proj_SalesCopilot3Pz", api_key_id="key_ScProd01"),
    Owner("sales-copilot/anthropic", "anthropic", workspace_id="wrkspc_01SalesCopilot",
          api_key_id="apikey_01SalesCopilotProd"),
    # Planted gaps: billed usage no application logs.
    Owner("nightly-batch/openai", "openai", project_id="proj_DataEnrich5Tx", api_key_id="key_DataEnrichSvc"),
    Owner("playground/anthropic", "anthropic", workspace_id="wrkspc_playground",
          api_key_id="apikey_01PlaygroundShared"),
)
GCP_PROJECT = {"id": "docs-search-prod", "number": "481516234200", "name": "docs-search-prod"}
GCP_BILLING_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"


@dataclass(frozen=True)
class Route:
    """One model a feature calls, its share of the feature's calls, and the strings the app logs for it."""

    model: str  # Model.ref
    share: float
    raw: tuple[tuple[str, float], ...]
    observers: tuple[str, ...] = ()  # log sources that see its calls, when not the feature's
    batch_ok: bool = True  # the feature's Batch API share goes to routes that have a batch API


@dataclass(frozen=True)
class Prompt:
    version: str  # e.g. summarise@v7
    start: float  # fraction of the period at which it ships (0 = before the period)
    input_mult: float = 1.0  # prompt length relative to the feature's base
    output_mult: float = 1.0  # answer length relative to the feature's base


@dataclass(frozen=True)
class Feature:
    app: str
    name: str
    share: float  # of all calls
    session_calls: float  # mean calls per session
    routes: tuple[Route, ...]
    input_median: float
    output_median: float
    input_sigma: float = 0.55
    output_sigma: float = 0.6
    cache: str = "none"  # provider prompt cache behaviour: none | openai | anthropic | google
    prefix_tokens: int = 0  # cacheable prompt prefix (system prompt, tools, documents)
    cache_hit: float = 0.0  # chance a call that could read the cache does
    ttl_1h: float = 0.0  # Anthropic: share of sessions that write 1-hour cache entries
    shared_prefix: bool = False  # Anthropic: the cached prefix is the same for everyone (rarely re-written)
    reasoning: tuple[float, float, float] | None = None  # (chance of thinking, reasoning/visible ratio lo, hi)
    response_cache: float = 0.0  # app-side response cache hit rate
    streaming: bool = False  # streamed replies can be aborted by the user
    batch: float = 0.0  # share sent through the provider's batch API (logged)
    long_context: float = 0.0  # share of calls over the 200k long-context threshold
    history_growth: float = 0.0  # input grows by this fraction per earlier call in the session
    prompts: tuple[Prompt, ...] = ()
    outcome: tuple[str, float, str] | None = None  # (kind, chance per session, value: count | money)
    observers: tuple[str, ...] = ("canonical",)  # log sources that see its calls (mixed organisation)
    max_output: int = 0  # output cap the calls ask for (0: none); an answer that reaches it is cut (finish "length")
    agent: bool = False  # each session is an agent run: one trace, each step's parent is the step before


def _r(model: str, share: float, *raw: tuple[str, float]) -> Route:
    return Route(model, share, raw or ((model, 1.0),))


FEATURES: tuple[Feature, ...] = (
    Feature(
        "support-bot", "triage", 0.22, 1.4,
        (_r("gpt-4o-mini", 1.0, ("gpt-4o-mini", 0.5), ("gpt-4o-mini-2024-07-18", 0.5)),),
        input_median=1500, output_median=60, cache="openai", prefix_tokens=1250, cache_hit=0.55,
        response_cache=0.03, batch=0.04,
        prompts=(Prompt("triage@v3", 0.0), Prompt("triage@v4", 0.4, 0.97)),
        outcome=("ticket_routed", 0.4, "count"),
    ),
    Feature(
        "support-bot", "reply_draft", 0.16, 3.0,
        (_r("claude-sonnet-4-5", 1.0, ("claude-sonnet-4-5-20250929", 0.7), ("claude-sonnet-4-5", 0.3)),),
        input_median=6000, output_median=420, cache="anthropic", prefix_tokens=3600, cache_hit=0.9, ttl_1h=0.2,
        streaming=True, long_context=0.003, history_growth=0.25,
        prompts=(Prompt("reply_draft@v12", 0.0),),
        outcome=("ticket_resolved", 0.5, "count"),
    ),
    Feature(
        "docs-search", "embed", 0.20, 1.5,
        (_r("text-embedding-3-small", 1.0),),
        input_median=380, output_median=0, input_sigma=0.7,
    ),
    Feature(
        "docs-search", "rerank", 0.10, 1.5,
        (_r("claude-haiku-4-5", 1.0, ("claude-haiku-4-5-20251001", 0.6), ("claude-haiku-4-5", 0.4)),),
        input_median=5200, output_median=40, cache="anthropic", prefix_tokens=4200, cache_hit=0.85,
        shared_prefix=True,
        prompts=(Prompt("rerank@v2", 0.0),),
    ),
    Feature(
        "docs-search", "answer", 0.14, 2.0,
        (_r("gemini-2.5-flash", 0.88), _r("gemini-2.5-pro", 0.12)),
        input_median=3200, output_median=330, cache="google", prefix_tokens=2400, cache_hit=0.35,
        reasoning=(0.6, 0.3, 1.2), response_cache=0.15, streaming=True, history_growth=0.1,
        prompts=(Prompt("answer@v5", 0.0), Prompt("answer@v6", 0.7, 0.95)),
        outcome=("answer_accepted", 0.4, "count"),
    ),
    Feature(
        "sales-copilot", "summarise", 0.07, 1.2,
        (_r("gpt-4.1", 1.0, ("gpt-4.1-2025-04-14", 0.6), ("gpt-4.1", 0.4)),),
        input_median=8000, output_median=600, input_sigma=0.45, cache="openai", prefix_tokens=2200, cache_hit=0.4,
        prompts=(Prompt("summarise@v6", 0.0), Prompt("summarise@v7", 0.6, 1.35)),
        outcome=("summary_accepted", 0.55, "count"),
    ),
    Feature(
        "sales-copilot", "email_draft", 0.08, 1.6,
        (_r("claude-haiku-4-5", 1.0, ("claude-haiku-4-5-20251001", 1.0)),),
        input_median=2400, output_median=320, streaming=True,
        prompts=(Prompt("email_draft@v3", 0.0),),
        outcome=("email_sent", 0.5, "count"),
    ),
    Feature(
        "sales-copilot", "research", 0.03, 1.3,
        (_r("o4-mini", 1.0, ("o4-mini-2025-04-16", 0.8), ("o4-mini", 0.2)),),
        input_median=4200, output_median=700, cache="openai", prefix_tokens=1800, cache_hit=0.3,
        reasoning=(1.0, 1.0, 4.0),
        prompts=(Prompt("research@v1", 0.0),),
        outcome=("opportunity_updated", 0.35, "money"),
    ),
)

# The planted drift: this prompt ships on DRIFT_AT of the period and makes the feature's prompts longer.
DRIFT_FEATURE = "summarise"
DRIFT_PROMPT = "summarise@v7"


@dataclass(frozen=True)
class Gaps:
    """Sizes of the planted unlogged usage (scaled by calls per day)."""

    retry_feature: str = "reply_draft"  # SDK-level retries the app never logs
    retry_share: float = 0.12  # of the feature's billed calls on incident days
    incident_at: float = 0.3  # first incident day, as a fraction of the period; the next day too
    batch_requests_per_call: float = 0.06  # nightly batch requests per logged call of the day
    batch_model: str = "gpt-4.1"
    playground_requests_per_call: float = 0.004
    playground_model: str = "claude-sonnet-4-5"


GAPS = Gaps()
