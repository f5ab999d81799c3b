"""Amazon Bedrock model invocation logs (``schemaType: ModelInvocationLog``), JSON lines, one per billed call.

The provider's own per-request record: a second channel for the same Bedrock usage the CUR bills.
``requestId`` is Bedrock's request id (the app logs it as ``provider_request_id``); ``modelId`` is
what the caller passed: the application inference profile ARN for ``escalate``, the model id for
Titan. For Claude, ``inputTokenCount`` is the uncached input (cache reads and writes are counted
apart). Calls through a cross-region profile name the region that served them
(``inferenceRegion``). Text logging is off: no ``inputBodyJson``/``outputBodyJson``.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import polars as pl

from pipelines.sample.org_mixed import AWS_ACCOUNT, AWS_REGION, BEDROCK_PRINCIPAL
from pipelines.sample.orgs import ALL_MODELS

REGIONS = ("us-east-1", "us-east-2", "us-west-2")  # where the US cross-region profile routes


def write_invocations(calls: pl.DataFrame, rng: np.random.Generator, out: BinaryIO) -> int:
    """Append one invocation log line per call (billed Bedrock calls); return lines written."""
    aws = [i for i, m in enumerate(ALL_MODELS) if m.provider == "aws"]
    df = calls
    profile = {i: ALL_MODELS[i].via for i in aws if ALL_MODELS[i].via}
    df = df.with_columns(
        pl.col("feature").cast(pl.String), pl.col("app").cast(pl.String),
        pl.col("_model").is_in(list(profile)).alias("_profile"),
        pl.Series("_region", np.array(REGIONS)[rng.integers(0, len(REGIONS), df.height)]),
    )
    common = [
        pl.lit("ModelInvocationLog").alias("schemaType"), pl.lit("1.0").alias("schemaVersion"),
        pl.from_epoch(pl.col("_ms"), time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("timestamp"),
        pl.lit(AWS_ACCOUNT).alias("accountId"), pl.struct(pl.lit(BEDROCK_PRINCIPAL).alias("arn")).alias("identity"),
        pl.lit(AWS_REGION).alias("region"), pl.col("provider_request_id").alias("requestId"),
    ]
    uncached = pl.col("input_tokens") - pl.col("cached_input_tokens") - pl.col("cache_write_tokens")
    converse = pl.struct(
        *common, pl.lit("Converse").alias("operation"),
        pl.col("_model").replace_strict(profile, default=None, return_dtype=pl.String).alias("modelId"),
        pl.struct(pl.col("app"), pl.col("feature")).alias("requestMetadata"),
        pl.struct(pl.lit("application/json").alias("inputContentType"), uncached.alias("inputTokenCount"),
                  pl.col("cached_input_tokens").alias("cacheReadInputTokenCount"),
                  pl.col("cache_write_tokens").alias("cacheWriteInputTokenCount")).alias("input"),
        pl.struct(pl.lit("application/json").alias("outputContentType"),
                  pl.col("output_tokens").alias("outputTokenCount")).alias("output"),
        pl.col("_region").alias("inferenceRegion"),
    ).struct.json_encode()
    embed = pl.struct(
        *common, pl.lit("InvokeModel").alias("operation"), pl.col("_response_model").cast(pl.String).alias("modelId"),
        pl.struct(pl.lit("application/json").alias("inputContentType"),
                  pl.col("input_tokens").alias("inputTokenCount")).alias("input"),
        pl.struct(pl.lit("application/json").alias("outputContentType")).alias("output"),
    ).struct.json_encode()
    lines = df.select(pl.when(pl.col("_profile")).then(converse).otherwise(embed).alias("line"))
    out.write(("\n".join(lines["line"].to_list()) + "\n").encode())
    return df.height
