"""What the provider usage/billing formats agree on once their files are read (``readers``).

The same billed fact read from two channels (an API page and a dashboard CSV) must come
out with the same columns and so the same ``line_key``:

- ``token_type`` uses one vocabulary: input, cached_input, cache_write_5m,
  cache_write_1h, output, reasoning.
- ``owner`` is the most specific owner the data names, as ``kind:id``.
- Rows are summed to the line-key grain (:func:`to_key_grain`): dimensions the
  lake does not keep (user, context window) never make two rows with one key.
"""

from __future__ import annotations

import polars as pl

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
              "workspace_id", "api_key_id", "resource_id"]
COST_SUMS = ["billed_amount", "billed_cost_usd"]
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
    "resource_id",
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


def records(df: pl.DataFrame) -> int:
    """How many of the file's records the rows hold (``_n`` each when a reader summed them, else 1)."""
    return int(df["_n"].sum()) if "_n" in df.columns and df.height else df.height


def in_scope(df: pl.DataFrame, keep: pl.Expr) -> tuple[pl.DataFrame, int]:
    """The rows about LLM spend or usage, and how many records the others held (reported as skipped)."""
    kept = df.filter(keep)
    return kept, records(df) - records(kept)


def nz(col: str) -> pl.Expr:
    """A token count with null read as zero."""
    return pl.col(col).fill_null(0).cast(pl.Int64)


# Tag/label keys that name an owner, most specific first; tokenbooks.yaml's ``attributes`` for
# team/app/feature are tried before these.
OWNER_TAG_KEYS = ["team", "owner", "app", "application", "service", "feature", "cost-center", "cost_center", "costcenter"]


def owner_tag_keys(settings) -> list[str]:
    mapped = []
    for field_name in ("team", "app", "feature"):
        mapped += [str(k) for k in settings.attribute_mapping.get(field_name, [])]
    return list(dict.fromkeys([k.lower() for k in mapped] + OWNER_TAG_KEYS))


def tag_owner(tags: pl.Expr, keys: list[str]) -> pl.Expr:
    """``tag:key=value`` for the first preferred key present in ``tags`` (a list of {key, value} structs)."""
    candidates = []
    for key in keys:
        value = tags.list.eval(
            pl.element().filter(pl.element().struct.field("key").str.to_lowercase().str.strip_chars() == key)
            .struct.field("value")
        ).list.first()
        candidates.append(
            pl.when(value.is_not_null() & (value.str.strip_chars() != "")).then(pl.lit(f"tag:{key}=") + value.str.strip_chars())
        )
    return pl.coalesce(candidates) if candidates else pl.lit(None, pl.String)


def normalise_text(expr: pl.Expr) -> pl.Expr:
    """Trim and collapse runs of whitespace (SKU and meter names carry stray spaces)."""
    return expr.str.strip_chars().str.replace_all(r"\s+", " ")


def first_rule(text: pl.Expr, rules: list[tuple[str, str]], default: str | None = None) -> pl.Expr:
    """The value of the first ``(regex, value)`` rule whose regex matches ``text``; rules are data."""
    out = pl.lit(default, pl.String)
    for pattern, value in reversed(rules):
        out = pl.when(text.str.contains(pattern)).then(pl.lit(value, pl.String)).otherwise(out)
    return out


def json_tag_owner(text: pl.Expr, keys: list[str], prefixes: tuple[str, ...] = ("",)) -> pl.Expr:
    """``tag:key=value`` for the first preferred key in a JSON object of tags (text), or null.

    ``prefixes`` are how the export spells a tag key (CUR 2.0: ``user_team``). Azure writes the
    object without its braces; both forms are read.
    """
    obj = pl.when(text.str.strip_chars().str.starts_with("{")).then(text).otherwise(pl.lit("{") + text + pl.lit("}"))
    candidates = []
    for key in keys:
        for prefix in prefixes:
            for spelled in dict.fromkeys([key, key.capitalize(), key.upper()]):
                value = obj.str.json_path_match("$['" + (prefix + spelled).replace("'", "") + "']").str.strip_chars()
                candidates.append(pl.when(value.is_not_null() & (value != "")).then(pl.lit(f"tag:{key}=") + value))
    return pl.coalesce(candidates) if candidates else pl.lit(None, pl.String)


def iam_owner(arn: pl.Expr) -> pl.Expr:
    """``iam:<arn>`` with an assumed role's session name dropped (it is per-session, often a person)."""
    role = arn.str.strip_chars().str.replace(r"^(arn:aws[a-z-]*:sts::\d+:assumed-role/[^/]+)/.*$", "${1}")
    return pl.when(role.is_not_null() & (role != "")).then(pl.lit("iam:") + role)


def with_distinct(df: pl.DataFrame, column: str, expr: pl.Expr, alias: str) -> pl.DataFrame:
    """Add ``alias`` = ``expr`` (a function of ``column`` only) computed once per distinct value."""
    mapping = df.select(pl.col(column).unique()).with_columns(expr.alias(alias))
    return df.join(mapping, on=column, how="left", nulls_equal=True)
