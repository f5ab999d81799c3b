"""Amazon Bedrock model invocation logs read as call logs: one ``calls`` row per invocation.

The same JSON lines (``schemaType: ModelInvocationLog``) can also land as provider usage
(``aws.BedrockInvocationUsage``, summed per day × model × principal). Detection by content keeps
picking that one, as before; the call-log reading is chosen by name:
``tokenbooks ingest --format bedrock_invocation_calls FILE`` (``land_file(path, settings,
fmt="bedrock_invocation_calls")``). A file already landed under the other format needs ``force``:
landing is idempotent per file content.

Per record: ``requestId`` (call id and provider request id), ``timestamp``, ``modelId`` (a model id,
an inference profile id, or an application inference profile ARN — ``model_aliases`` maps it to a
model), ``identity.arn`` (the IAM principal), ``requestMetadata`` (the Converse API's key-value
pairs: mapped like OTel attributes), ``input.inputTokenCount``, ``input.cacheReadInputTokenCount``,
``input.cacheWriteInputTokenCount``, ``output.outputTokenCount``, ``errorCode``. For Claude
``inputTokenCount`` excludes cache reads and writes: input = the three added up. The app is the
``owners`` entry (``tokenbooks.yaml``) of the application inference profile (``profile:<ARN>``),
else of the principal (``iam:<role ARN>``), unless an attribute mapping says otherwise.
Request and response bodies (``inputBodyJson``, ``outputBodyJson``) are never read.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.attributes import AttributeMapping, Params, json_dotted_path, member_sql
from pipelines.ingest.formats.aws import PROVIDER
from pipelines.ingest.formats.base import ParseContext, Sample
from pipelines.ingest.formats.calllog import CallLog, CallLogFormat, Rule, dimensions, mapped_fields
from pipelines.ingest.formats.jsonsource import json_records_sql
from pipelines.ingest.formats.readers import json_head
from pipelines.ingest.formats.tokens import bigint_sql
from pipelines.ingest.formats.values import rfc3339_sql
from pipelines.ingest.formats.vocabulary import finish_reason_sql, status_sql

IAM_ROLE = r"^(arn:aws[a-z-]*:sts::\d+:assumed-role/[^/]+)/.*$"
COUNTS = ["input.inputTokenCount", "input.cacheReadInputTokenCount", "input.cacheWriteInputTokenCount",
          "output.outputTokenCount"]


class BedrockInvocationCalls(CallLogFormat):
    name = "bedrock_invocation_calls"
    description = "Amazon Bedrock model invocation logs (JSON lines) as call logs, one row per invocation"
    line_records = True

    def sniff(self, sample: Sample) -> bool:
        first = json_head(sample)
        return isinstance(first, dict) and first.get("schemaType") == "ModelInvocationLog"

    def params(self, path: Path, ctx: ParseContext) -> Params:
        owners = ctx.settings.owners
        return Params(
            path=str(path),
            owner_ids=list(owners) or [""],
            owner_apps=[str(v.get("app") or "") for v in owners.values()] or [""],
        )

    def declare(self, path: Path, ctx: ParseContext, mapping: AttributeMapping, params: Params, **source) -> CallLog:
        def top(key: str) -> str:
            return f"nullif(trim(json_extract_string(j, {params.add(json_dotted_path(key))})), '')"

        def lookup(key: str) -> str:
            return f"coalesce({member_sql('rm', key, params)}, json_extract_string(j, {params.add(json_dotted_path(key))}))"

        def owner_app(owner: str) -> str:
            return f"nullif($owner_apps[list_position($owner_ids, {owner})], '')"

        model = top("modelId")
        principal = top("identity.arn")
        native_app = (
            owner_app(f"'profile:' || {model}"),
            owner_app(f"'iam:' || regexp_replace({principal}, '{IAM_ROLE}', '\\1')"),
            owner_app(f"'iam:' || {principal}"),
        )
        dims = mapped_fields(mapping, lookup, params, native={"app": native_app},
                             fields=("app", "feature", "user_id", "tenant_id", "session_id", "prompt_version",
                                     "call_id", "trace_id", "parent_call_id"))
        # One scalar each out of the bodies, never their messages: the cap the request set (Converse
        # inferenceConfig.maxTokens, Anthropic max_tokens) and the reason the model stopped.
        max_tokens = bigint_sql(f"coalesce({top('input.inputBodyJson.inferenceConfig.maxTokens')}, "
                                f"{top('input.inputBodyJson.max_tokens')})")
        stop = (f"coalesce({top('output.outputBodyJson.stopReason')}, {top('output.outputBodyJson.stop_reason')}, "
                f"{top('stopReason')})")
        uncached = bigint_sql(top("input.inputTokenCount"))
        cached = bigint_sql(top("input.cacheReadInputTokenCount"))
        write = bigint_sql(top("input.cacheWriteInputTokenCount"))
        error = f"coalesce({top('errorCode')}, {top('error.code')}, {top('error')})"
        return CallLog(
            records=json_records_sql(path),
            stages={"logs": """
                select _record, j, j->'requestMetadata' as rm from records
                where j is null or j->>'schemaType' = 'ModelInvocationLog'"""},
            fields={
                "call_id": f"coalesce({dims['call_id']}, {top('requestId')})",
                "occurred_at": rfc3339_sql(top("timestamp")),
                "provider": f"'{PROVIDER}'",
                "model_raw": model,
                "model_served": "false",  # modelId: what the request named (a profile ARN or a model id)
                **dimensions(dims),
                # inputTokenCount excludes cache reads and writes (Claude); the others report no cache.
                "input_tokens": f"coalesce({uncached}, 0) + coalesce({cached}, 0) + coalesce({write}, 0)",
                "cached_input_tokens": f"coalesce({cached}, 0)",
                "cache_write_tokens": f"coalesce({write}, 0)",
                "cache_write_1h_tokens": "0::bigint",
                "output_tokens": f"coalesce({bigint_sql(top('output.outputTokenCount'))}, 0)",
                "reasoning_tokens": "0::bigint",
                "is_batch": "false",
                "status": status_sql(f"{error} is not null", error),
                "attempt": "1",
                "latency_ms": "null::bigint",
                "response_cache_hit": "false",
                "provider_request_id": top("requestId"),
                "reported_cost_usd": "null::decimal(38, 12)",
                "max_output_tokens": max_tokens,
                "finish_reason": finish_reason_sql(stop, params),
                "trace_id": dims["trace_id"],
                "parent_call_id": dims["parent_call_id"],
            },
            helpers={"_request_id": top("requestId"), "_ts_text": top("timestamp")},
            rules=[
                Rule("requestId", "_request_id is null", "'missing requestId'"),
                Rule.timestamp("timestamp", "_ts_text"),
                Rule("modelId", "model_raw is null", "'missing modelId'"),
            ],
            counts={k: top(k) for k in COUNTS},
            raw="case when _request_id is not null then json_object('requestId', _request_id)::varchar end",
        )
