"""What the provider usage/billing formats agree on once their files are read (``readers``).

The same billed fact read from two channels (an API page and a dashboard CSV) must come
out with the same columns and so the same ``line_key``:

- ``token_type`` uses one vocabulary: input, cached_input, cache_write_5m,
  cache_write_1h, output, reasoning.
- ``owner`` is the most specific owner the data names, as ``kind:id``.
- ``owner_app`` is the app the line's own tags or labels name (:func:`tag_app`,
  :func:`json_tag_app`), ``resource_id`` the billed resource where the export names one
  (a Bedrock application inference profile's ARN, an Azure resource).
- Token counts are normalised to tokens: a quantity in "1K"/"1M tokens"/"1000 count" units is
  scaled by :func:`unit_scale`.
- Rows are summed to the line-key grain (:func:`to_key_grain`): dimensions the
  lake does not keep (user, context window) never make two rows with one key.
"""

from __future__ import annotations

import polars as pl

from pipelines.ingest.formats.base import record_count

MONEY = "DECIMAL(38,12)"
USAGE_SUMS = [
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "requests",
]
USAGE_DIMS = ["day", "provider", "model_raw", "owner", "is_batch", "service_tier", "is_long_context", "project_id",
              "workspace_id", "api_key_id", "owner_app", "resource_id"]
COST_SUMS = ["billed_amount", "billed_cost_usd", "usage_hours"]
COST_DIMS = [
    "day",
    "provider",
    "model_raw",
    "owner",
    "is_batch",
    "cost_type",
    "token_type",
    "line_item",
    "currency",
    "project_id",
    "workspace_id",
    "api_key_id",
    "owner_app",
    "resource_id",
    "endpoint",
]


def owner(*candidates: tuple[str, pl.Expr]) -> pl.Expr:
    """The first non-empty candidate as ``kind:id`` (most specific first)."""
    exprs = [
        pl.when(expr.is_not_null() & (expr.cast(pl.String).str.strip_chars() != ""))
        .then(pl.lit(kind + ":") + expr.cast(pl.String).str.strip_chars())
        .otherwise(None)
        for kind, expr in candidates
    ]
    return pl.coalesce(exprs).alias("owner")


def to_key_grain(df: pl.DataFrame, dims: list[str], sums: list[str]) -> pl.DataFrame:
    """Sum rows that share every dimension (one row per billed fact); keep the first record number.

    ``_n`` says how many of the file's records each row holds (1 per row unless a reader already
    summed them), so landing counts records, not rows: records in = landed + quarantined.
    """
    if "_n" not in df.columns:
        df = df.with_columns(pl.lit(1, pl.Int64).alias("_n"))
    if df.is_empty():
        return df
    dims = [d for d in dims if d in df.columns]
    sums = [s for s in sums if s in df.columns]
    aggs = [pl.col("_record").min(), pl.col("_n").sum()]
    for s in sums:
        # A sum of nulls stays null (e.g. requests Anthropic does not report).
        aggs.append(pl.when(pl.col(s).is_null().all()).then(None).otherwise(pl.col(s).sum()).alias(s))
    return df.group_by(dims, maintain_order=True).agg(aggs)


def in_scope(df: pl.DataFrame, keep: pl.Expr) -> tuple[pl.DataFrame, int]:
    """The rows about LLM spend or usage, and how many records the others held (reported as skipped)."""
    kept = df.filter(keep)
    return kept, record_count(df) - record_count(kept)


def nz(col: str) -> pl.Expr:
    """A token count with null read as zero."""
    return pl.col(col).fill_null(0).cast(pl.Int64)


# Tag/label keys that name an owner, most specific first; tokenbooks.yaml's ``attributes`` for
# team/app/feature are tried before these.
OWNER_TAG_KEYS = ["team", "owner", "app", "application", "service", "feature", "cost-center", "cost_center", "costcenter"]
# Tag/label keys that name the app a line belongs to; tokenbooks.yaml's ``attributes: app:`` keys are tried first.
APP_TAG_KEYS = ["app", "application", "app_name", "app-name", "appname", "service", "service_name", "service-name"]


def _configured_tag_keys(settings, fields: tuple[str, ...]) -> list[str]:
    """The keys ``attributes:`` maps to ``fields``, as tag keys (``tag:app`` and ``app`` name the same tag)."""
    keys = [str(k) for name in fields for k in settings.attribute_mapping.get(name, [])]
    return [k.lower().removeprefix("tag:") for k in keys]


# Tag/label keys that name the serving endpoint an infrastructure line (GPU instance, SageMaker / Vertex / Azure ML
# endpoint, provisioned throughput) belongs to; tokenbooks.yaml's ``attributes: endpoint:`` keys are tried first.
ENDPOINT_TAG_KEYS = ["endpoint", "inference_endpoint", "inference-endpoint", "endpoint_name", "endpoint-name"]


def endpoint_tag_keys(settings) -> list[str]:
    return list(dict.fromkeys(_configured_tag_keys(settings, ("endpoint",)) + ENDPOINT_TAG_KEYS))


def hours(amount: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """A quantity in hours, from its unit's text: ``Hrs``, ``hour``, ``1 Hour``, ``100 Hours``, ``ModelUnit-Hours``,
    ``seconds``; null when the unit is not time."""
    low = unit.str.strip_chars().str.to_lowercase()
    per = low.str.extract(r"^(\d+(?:\.\d+)?)\s*h", 1).fill_null("1").cast(pl.Decimal(38, 9))
    value = amount.cast(pl.Decimal(38, 9))
    return (
        pl.when(low.str.contains(r"(?:^|[\s-])(?:hrs?|hours?)$|^\d+(?:\.\d+)?\s*(?:hrs?|hours?)$")).then(value * per)
        .when(low.str.contains(r"^(?:seconds?|s)$")).then(value / 3600)
        .cast(pl.Decimal(38, 9))
    )


def owner_tag_keys(settings) -> list[str]:
    return list(dict.fromkeys(_configured_tag_keys(settings, ("team", "app", "feature")) + OWNER_TAG_KEYS))


def app_tag_keys(settings) -> list[str]:
    return list(dict.fromkeys(_configured_tag_keys(settings, ("app",)) + APP_TAG_KEYS))


def _present(value: pl.Expr) -> pl.Expr:
    return value.is_not_null() & (value.str.strip_chars() != "")


def _label_values(tags: pl.Expr, keys: list[str]) -> list[tuple[str, pl.Expr]]:
    """(key, value) for each key in ``tags``, a list of {key, value} structs (GCP labels)."""
    return [
        (key, tags.list.eval(
            pl.element().filter(pl.element().struct.field("key").str.to_lowercase().str.strip_chars() == key)
            .struct.field("value")
        ).list.first().str.strip_chars())
        for key in keys
    ]


def _json_tag_values(text: pl.Expr, keys: list[str], prefixes: tuple[str, ...]) -> list[tuple[str, pl.Expr]]:
    """(key, value) for each key, as each prefix and case spells it, in a JSON object of tags (text).

    Azure writes the object without its braces; both forms are read.
    """
    obj = pl.when(text.str.strip_chars().str.starts_with("{")).then(text).otherwise(pl.lit("{") + text + pl.lit("}"))
    return [
        (key, obj.str.json_path_match("$['" + (prefix + spelled).replace("'", "") + "']").str.strip_chars())
        for key in keys
        for prefix in prefixes
        for spelled in dict.fromkeys([key, key.capitalize(), key.upper()])
    ]


def _first_owner(values: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """``tag:key=value`` of the first present value, or null."""
    candidates = [pl.when(_present(v)).then(pl.lit(f"tag:{key}=") + v) for key, v in values]
    return pl.coalesce(candidates) if candidates else pl.lit(None, pl.String)


def _first_value(values: list[tuple[str, pl.Expr]]) -> pl.Expr:
    candidates = [pl.when(_present(v)).then(v) for _, v in values]
    return pl.coalesce(candidates) if candidates else pl.lit(None, pl.String)


def tag_owner(tags: pl.Expr, keys: list[str]) -> pl.Expr:
    """``tag:key=value`` for the first preferred key present in ``tags`` (a list of {key, value} structs)."""
    return _first_owner(_label_values(tags, keys))


def tag_app(tags: pl.Expr, keys: list[str]) -> pl.Expr:
    """The value of the first app-naming key present in ``tags`` (a list of {key, value} structs)."""
    return _first_value(_label_values(tags, keys))


def json_tag_owner(text: pl.Expr, keys: list[str], prefixes: tuple[str, ...] = ("",)) -> pl.Expr:
    """``tag:key=value`` for the first preferred key in a JSON object of tags (text), or null.

    ``prefixes`` are how the export spells a tag key (CUR 2.0: ``user_team``).
    """
    return _first_owner(_json_tag_values(text, keys, prefixes))


def json_tag_app(text: pl.Expr, keys: list[str], prefixes: tuple[str, ...] = ("",)) -> pl.Expr:
    """The value of the first app-naming key in a JSON object of tags (text), or null."""
    return _first_value(_json_tag_values(text, keys, prefixes))


# Tokens per unit of a quantity, from the unit's text (lower-cased): "1K", "1M tokens", "1,000 tokens",
# "1000 count", "1000000 count", "count", "tokens"; first match wins. Null: the unit says no scale.
UNIT_SCALES = [
    (r"^1\s*m\b|^1,?000,?000\b|^(?:1\s*)?million\b", "1000000"),
    (r"^1\s*k\b|^1,?000\b|^(?:1\s*)?thousand\b", "1000"),
    (r"^(?:1\s*)?(?:tokens?|count|characters?)$", "1"),
]


def unit_scale(unit: pl.Expr) -> pl.Expr:
    """Tokens per unit of ``unit`` (Int64), or null when the unit names no scale."""
    return first_rule(unit.str.strip_chars().str.to_lowercase(), UNIT_SCALES).cast(pl.Int64)


def scaled_tokens(amount: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """A quantity times its scale, as a whole token count (exact: decimal times integer)."""
    return (amount * scale.cast(pl.Decimal(38, 0))).round(0).cast(pl.Int64)


def normalise_text(expr: pl.Expr) -> pl.Expr:
    """Trim and collapse runs of whitespace (SKU and meter names carry stray spaces)."""
    return expr.str.strip_chars().str.replace_all(r"\s+", " ")


def first_rule(text: pl.Expr, rules: list[tuple[str, str]], default: str | None = None) -> pl.Expr:
    """The value of the first ``(regex, value)`` rule whose regex matches ``text``; rules are data."""
    out = pl.lit(default, pl.String)
    for pattern, value in reversed(rules):
        out = pl.when(text.str.contains(pattern)).then(pl.lit(value, pl.String)).otherwise(out)
    return out


def iam_owner(arn: pl.Expr) -> pl.Expr:
    """``iam:<arn>`` with an assumed role's session name dropped (it is per-session, often a person)."""
    role = arn.str.strip_chars().str.replace(r"^(arn:aws[a-z-]*:sts::\d+:assumed-role/[^/]+)/.*$", "${1}")
    return pl.when(role.is_not_null() & (role != "")).then(pl.lit("iam:") + role)


def with_distinct(df: pl.DataFrame, column: str, **exprs: pl.Expr) -> pl.DataFrame:
    """Add each ``alias=expr`` (functions of ``column`` only) computed once per distinct value of ``column``."""
    mapping = df.select(pl.col(column).unique()).with_columns(**exprs)
    return df.join(mapping, on=column, how="left", nulls_equal=True)
