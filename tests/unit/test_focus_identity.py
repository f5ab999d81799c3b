"""Model identity and participating entities of the FOCUS export (schemas/exports/focus_identity.yaml)."""

import pytest

from pipelines.exports.identity import model_identity, providers


@pytest.mark.parametrize(
    ("model", "identity"),
    [
        ("claude-sonnet-4-5", ("Anthropic", "Claude Sonnet", "4.5")),
        ("claude-3-5-sonnet", ("Anthropic", "Claude Sonnet", "3.5")),
        ("claude-haiku-4-5", ("Anthropic", "Claude Haiku", "4.5")),
        ("gpt-4o-mini", ("OpenAI", "GPT", "4o")),
        ("gpt-4.1", ("OpenAI", "GPT", "4.1")),
        ("o4-mini", ("OpenAI", "o-series", "4")),
        ("text-embedding-3-small", ("OpenAI", "text-embedding", "3")),
        ("gemini-2.5-flash-lite", ("Google", "Gemini Flash-Lite", "2.5")),
        ("gemini-2.5-pro", ("Google", "Gemini Pro", "2.5")),
        ("titan-embed-text-v2", ("Amazon", "Titan Embed-Text", "2")),
        ("llama-3-70b-ft", ("Meta", "Llama", "3")),
        ("my-own-model", (None, None, None)),
    ],
)
def test_model_identity(model, identity):
    assert model_identity(model) == identity


def test_resellers_publish_other_developers_models():
    known = {r["provider"]: r for r in providers().iter_rows(named=True)}
    assert set(known) == {"openai", "anthropic", "google", "aws", "azure", "openrouter"}
    assert {p for p, r in known.items() if r["resells"]} == {"google", "aws", "azure", "openrouter"}
    assert known["aws"]["invoice_issuer"] == "Amazon Web Services"
    assert known["openrouter"]["service_provider"] == known["openrouter"]["invoice_issuer"] == "OpenRouter"
