"""The mixed organisation: the same company, observed and billed the way real companies are.

Same apps, users and planted gaps as ``org.py``, but each app is seen by the log sources a
real company has (``Feature.observers``), and two more clouds bill part of the traffic:

- support-bot logs canonical JSON lines; its triage moved 65 % of its calls to Azure OpenAI
  (deployment ``triage-prod``), which go through the LiteLLM proxy and are traced with OTel;
  a new ``escalate`` feature calls Claude Haiku 4.5 on Bedrock through an application
  inference profile (the app logs the profile ARN as its model), ``kb_embed`` calls Titan.
- docs-search is traced with OTel spans and all its calls also pass the LiteLLM proxy;
  ``suggest`` calls Gemini through the Gemini API (an AI Studio key), ``answer`` through Vertex.
- sales-copilot logs to Langfuse (read back through the v2 observations API).

Models and owners here extend ``org.MODELS``/``org.OWNERS`` (appended, so indices of the
original organisation never move); routes name a model by ``Model.ref``.
"""

from __future__ import annotations

from dataclasses import replace

from pipelines.sample.org import FEATURES, CloudOwner, Feature, Model, Owner, Prompt, Route

AWS_ACCOUNT = "410987654321"
AWS_REGION = "us-east-1"
# An application inference profile copied from the US cross-region (system) profile of Haiku 4.5.
BEDROCK_PROFILE_ARN = f"arn:aws:bedrock:{AWS_REGION}:{AWS_ACCOUNT}:application-inference-profile/k7m2x9q4ab1c"
BEDROCK_PROFILE_SOURCE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
BEDROCK_ROLE = f"arn:aws:iam::{AWS_ACCOUNT}:role/SupportBotRole"
BEDROCK_PRINCIPAL = f"arn:aws:sts::{AWS_ACCOUNT}:assumed-role/SupportBotRole/support-bot-prod"
TITAN_MODEL_ID = "amazon.titan-embed-text-v2:0"

AZURE_SUBSCRIPTION = "5b7c1e2a-8d34-4f6b-9a10-2c3d4e5f6a7b"
AZURE_ACCOUNT = "support-aoai-prod"
AZURE_RESOURCE = (f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/rg-support-ai/providers/"
                  f"Microsoft.CognitiveServices/accounts/{AZURE_ACCOUNT}")
AZURE_DEPLOYMENT = "triage-prod"
AZURE_ENDPOINT = f"{AZURE_ACCOUNT}.openai.azure.com"

# support-bot's ticket_tag runs on a gpt-4o-mini fine-tuned for it (finetune.py: its training line).
FT_BASE = "gpt-4o-mini-2024-07-18"
FT_MODEL = f"ft:{FT_BASE}:acme-support::tt7Qx2Lm"

MIXED_MODELS: tuple[Model, ...] = (
    Model("azure", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "small", 8.0, key="azure/gpt-4o-mini"),
    Model("aws", "claude-haiku-4-5", "anthropic.claude-haiku-4-5-20251001-v1:0", "medium", 7.0,
          key="aws/claude-haiku-4-5", price_ref=BEDROCK_PROFILE_SOURCE, via=BEDROCK_PROFILE_ARN),
    Model("aws", "titan-embed-text-v2", TITAN_MODEL_ID, "small", 0.0, "embeddings",
          key="aws/titan-embed-text-v2", price_ref=TITAN_MODEL_ID),
    Model("google", "gemini-2.5-flash", "gemini-2.5-flash", "medium", 5.0, key="gemini-api/gemini-2.5-flash",
          via="gemini_api"),
    Model("openai", FT_MODEL, FT_MODEL, "small", 8.0),
)

MIXED_OWNERS: tuple[Owner, ...] = (
    CloudOwner("support-bot/azure", "azure", resource=AZURE_RESOURCE),
    CloudOwner("support-bot/aws", "aws", resource=BEDROCK_ROLE),
)

_BY_NAME = {f.name: f for f in FEATURES}
TRACED = ("otlp", "litellm")  # docs-search: OTel spans, and every call also through the LiteLLM proxy


def _route(model: str) -> Route:
    return Route(model, 1.0, ((model, 1.0),))


def _moved(name: str, share: float, observers: tuple[str, ...], **changes) -> Feature:
    return replace(_BY_NAME[name], share=share, observers=observers, **changes)


MIXED_FEATURES: tuple[Feature, ...] = (
    _moved("triage", 0.22, ("canonical",), routes=(
        Route("gpt-4o-mini", 0.35, (("gpt-4o-mini", 0.5), ("gpt-4o-mini-2024-07-18", 0.5))),
        Route("azure/gpt-4o-mini", 0.65, ((AZURE_DEPLOYMENT, 1.0),), observers=TRACED, batch_ok=False),
    )),
    _moved("reply_draft", 0.14, ("canonical",)),
    Feature(
        "support-bot", "escalate", 0.05, 1.2,
        (Route("aws/claude-haiku-4-5", 1.0, ((BEDROCK_PROFILE_ARN, 1.0),)),),
        input_median=3000, output_median=250, cache="anthropic", prefix_tokens=2000, cache_hit=0.7,
        shared_prefix=True, prompts=(Prompt("escalate@v2", 0.0),),
    ),
    Feature(
        "support-bot", "kb_embed", 0.03, 1.3,
        (Route("aws/titan-embed-text-v2", 1.0, ((TITAN_MODEL_ID, 1.0),)),),
        input_median=300, output_median=0, input_sigma=0.6,
    ),
    _moved("embed", 0.17, TRACED),
    _moved("rerank", 0.09, TRACED),
    _moved("answer", 0.10, TRACED),
    Feature(
        "docs-search", "suggest", 0.02, 2.5,
        (Route("gemini-api/gemini-2.5-flash", 1.0, (("gemini-2.5-flash", 1.0),)),),
        input_median=400, output_median=40, observers=TRACED,
        prompts=(Prompt("suggest@v1", 0.0),),
    ),
    # Output caps and agents (levers.py): no cap and longer answers after a prompt change; a cap too tight
    # for its answers; an agent whose sessions are traces of parent-linked steps, a few of them runaways.
    Feature(
        "support-bot", "kb_answer", 0.10, 1.5, (_route("gpt-4o-mini"),),
        input_median=2200, output_median=260, output_sigma=0.5,
        prompts=(Prompt("kb_answer@v1", 0.0), Prompt("kb_answer@v2", 0.5, 1.0, 1.9)),
    ),
    Feature(
        "support-bot", "ticket_tag", 0.08, 1.0, (_route(FT_MODEL),),
        input_median=900, output_median=60, output_sigma=0.45, max_output=64,
        prompts=(Prompt("ticket_tag@v1", 0.0),),
    ),
    Feature(
        "support-bot", "resolve_agent", 0.05, 4.0, (_route("claude-haiku-4-5"),),
        input_median=3000, output_median=150, output_sigma=0.5, max_output=1024, agent=True,
        prompts=(Prompt("resolve_agent@v1", 0.0),),
    ),
    _moved("summarise", 0.07, ("langfuse",)),
    _moved("email_draft", 0.08, ("langfuse",)),
    _moved("research", 0.03, ("langfuse",)),
)
# Id-less twins planted per day: pairs of different embedding calls with the same tokens, close in time.
DECOY_FEATURE = "embed"
