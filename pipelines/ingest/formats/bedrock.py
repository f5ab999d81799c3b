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

from pipelines.ingest.attributes import AttributeMapping, Params, dimension_columns, json_dotted_path, member_sql
from pipelines.ingest.formats.jsonsource import json_records_sql, run_sql
from pipelines.ingest.formats.tokens import bigint_sql, count_errors_sql
from pipelines.ingest.formats.values import rfc3339_sql
from pipelines.ingest.formats.vocabulary import finish_reason_sql, status_sql
from pipelines.ingest.formats.aws import PROVIDER
from pipelines.ingest.formats.base import InputFormat, Parsed, ParseContext, Sample, split_errors
from pipelines.ingest.formats.readers import json_head

IAM_ROLE = r"^(arn:aws[a-z-]*:sts::\d+:assumed-role/[^/]+)/.*$"


class BedrockInvocationCalls(InputFormat):
    name = "bedrock_invocation_calls"
    table = "calls"
    description = "Amazon Bedrock model invocation logs (JSON lines) as call logs, one row per invocation"
    line_records = True

    def sniff(self, sample: Sample) -> bool:
        first = json_head(sample)
        return isinstance(first, dict) and first.get("schemaType") == "ModelInvocationLog"

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        mapping = AttributeMapping.from_settings(ctx.settings)
        owners = ctx.settings.owners
        params = Params(
            path=str(path),
            owner_ids=list(owners) or [""],
            owner_apps=[str(v.get("app") or "") for v in owners.values()] or [""],
        )

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
        dims = {
            f: mapping.sql(f, lookup, params, native=native_app if f == "app" else ())
            for f in ("app", "feature", "user_id", "tenant_id", "session_id", "prompt_version", "call_id",
                      "trace_id", "parent_call_id")
        }
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
        count_field, count_reason = count_errors_sql({k: top(k) for k in COUNTS})
        sql = f"""
            with records as ({json_records_sql(path)}),
            logs as (
                select _record, j, j->'requestMetadata' as rm from records
                where j is null or j->>'schemaType' = 'ModelInvocationLog'
            ),
            mapped as (
                select
                    _record,
                    coalesce({dims['call_id']}, {top('requestId')}) as call_id,
                    {rfc3339_sql(top('timestamp'))} as occurred_at,
                    '{PROVIDER}' as provider,
                    {model} as model_raw,
                    false as model_served,  -- modelId: what the request named (a profile ARN or a model id)
                    {dimension_columns(dims)},
                    -- inputTokenCount excludes cache reads and writes (Claude); the others report no cache.
                    coalesce({uncached}, 0) + coalesce({cached}, 0) + coalesce({write}, 0) as input_tokens,
                    coalesce({cached}, 0) as cached_input_tokens,
                    coalesce({write}, 0) as cache_write_tokens,
                    0::bigint as cache_write_1h_tokens,
                    coalesce({bigint_sql(top('output.outputTokenCount'))}, 0) as output_tokens,
                    0::bigint as reasoning_tokens,
                    false as is_batch,
                    {status_sql(f"{error} is not null", error)} as status,
                    1 as attempt,
                    null::bigint as latency_ms,
                    false as response_cache_hit,
                    {top('requestId')} as provider_request_id,
                    null::decimal(38, 12) as reported_cost_usd,
                    {max_tokens} as max_output_tokens,
                    {finish_reason_sql(stop, params)} as finish_reason,
                    {dims['trace_id']} as trace_id,
                    {dims['parent_call_id']} as parent_call_id,
                    j is null as _unreadable,
                    {count_field} as _bad_count,
                    {count_reason} as _bad_count_reason,
                    {top('requestId')} as _request_id,
                    {top('timestamp')} as _ts_text
                from logs
            )
            select
                * exclude (_unreadable, _request_id, _ts_text, _bad_count, _bad_count_reason),
                case
                    when _unreadable then '$'
                    when _request_id is null then 'requestId'
                    when occurred_at is null then 'timestamp'
                    when model_raw is null then 'modelId'
                    when _bad_count is not null then _bad_count
                end as _error_field,
                case
                    when _unreadable then 'not valid JSON'
                    when _request_id is null then 'missing requestId'
                    when occurred_at is null then 'missing or not an RFC 3339 timestamp: ' || coalesce(left(_ts_text, 40), 'null')
                    when model_raw is null then 'missing modelId'
                    when _bad_count is not null then _bad_count_reason
                end as _error_reason,
                case when _request_id is not null then json_object('requestId', _request_id)::varchar end as raw
            from mapped
        """
        good, quarantine = split_errors(run_sql(path, sql, params))
        return Parsed(rows=good, quarantine=quarantine)


COUNTS = ["input.inputTokenCount", "input.cacheReadInputTokenCount", "input.cacheWriteInputTokenCount",
          "output.outputTokenCount"]
