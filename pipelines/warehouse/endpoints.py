"""Serving endpoints from tokenbooks.yaml (``endpoints:``) as the build's dim tables.

An endpoint is infrastructure that costs money by the hour whether called or not (GPU instances, a SageMaker /
Vertex AI / Azure ML endpoint, Bedrock provisioned throughput, Azure OpenAI PTU), and the calls it served:

```yaml
endpoints:
  llama-chat:
    resources: [i-0gpu0001]            # billed resource ids (besides lines tagged endpoint=llama-chat)
    models: [llama-3.1-70b]            # models its calls log, as logged
    provider: self_hosted              # the provider its calls log (default); aws for Bedrock provisioned throughput
    capacity_tokens_per_hour: 2000000  # per instance- (or model-unit-) hour; default: busiest hour × 24
    reference_model: openai/gpt-4o-mini  # the API it is compared with
    app: support-bot                   # owner of its idle cost
```

A call is the endpoint's when its provider is the endpoint's name, or its model (as logged or resolved) is one
of the endpoint's models under its provider. Its lines and calls are reconciled under the endpoint's provider
(``self_hosted`` unless ``provider:`` says), whichever cloud bills the lines.
"""

from __future__ import annotations

import polars as pl

from pipelines.settings import Settings

SELF_HOSTED = "self_hosted"

ENDPOINTS = {
    "endpoint": pl.String,
    "provider": pl.String,
    "capacity_tokens_per_hour": pl.Decimal(38, 6),
    "reference_provider": pl.String,
    "reference_model": pl.String,
    "app": pl.String,
}


def endpoint_tables(settings: Settings) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(dim_endpoints, dim_endpoint_resources, dim_endpoint_keys): one row per endpoint; resource id -> endpoint;
    lookup key (``provider:<name>`` or ``model:<provider>/<model>``) -> endpoint."""
    endpoints, resources, keys = [], [], []
    for name, spec in settings.endpoints.items():
        provider = str(spec.get("provider") or SELF_HOSTED)
        reference = str(spec.get("reference_model") or "")
        ref_provider, _, ref_model = reference.partition("/")
        capacity = spec.get("capacity_tokens_per_hour")
        endpoints.append((name, provider, None if capacity is None else str(capacity), ref_provider or None,
                          ref_model or None, spec.get("app")))
        resources += [(str(r), name) for r in spec.get("resources") or []]
        keys.append((f"provider:{name}", name))
        keys += [(f"model:{provider}/{m}", name) for m in spec.get("models") or []]
    dims = pl.DataFrame(endpoints, schema={k: pl.String for k in ENDPOINTS}, orient="row").cast(ENDPOINTS)
    return (
        dims,
        pl.DataFrame(resources, schema={"resource_id": pl.String, "endpoint": pl.String}, orient="row"),
        pl.DataFrame(keys, schema={"key": pl.String, "endpoint": pl.String}, orient="row"),
    )


def reference_models(settings: Settings) -> pl.DataFrame:
    """The API models endpoints are compared with, to be priced with the day's prices."""
    dims, _, _ = endpoint_tables(settings)
    return dims.select(provider="reference_provider", model="reference_model").drop_nulls()
