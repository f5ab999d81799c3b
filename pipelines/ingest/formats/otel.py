"""OpenTelemetry GenAI spans, as the Collector's file exporter writes them (OTLP/JSON lines).

One ``TracesData`` object per line: ``resourceSpans[].scopeSpans[].spans[]``, attributes as
``[{key, value: {stringValue | intValue | doubleValue | boolValue}}]``, int64 values and
``startTimeUnixNano`` as strings. Recognised by a first line starting ``{"resourceSpans"``.

One span that is a model call (see ``is_call`` below) becomes one ``calls`` row; other spans
(HTTP, database, agent and tool spans) are ignored and not counted in ``records_in``.
Current and deprecated ``gen_ai.*`` names are both read; the mapping is documented in
``schemas/inputs/app_log_sources.md``. Span events and message attributes (prompt and
completion text) are never extracted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from pipelines.ingest.attributes import (
    FIELDS,
    AttributeMapping,
    Params,
    bigint_sql,
    bool_sql,
    connect,
    input_tokens_sql,
    lines_sql,
    output_tokens_sql,
    provider_sql,
    status_sql,
)
from pipelines.ingest.formats.base import InputFormat, Parsed, ParseContext, Sample

_VALUE = {"stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR", "boolValue": "VARCHAR"}
_ATTRIBUTES = [{"key": "VARCHAR", "value": _VALUE}]
# Only what a call row needs: events, links and unknown fields are never materialised.
TRACES_DATA = {
    "resourceSpans": [
        {
            "resource": {"attributes": _ATTRIBUTES},
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "VARCHAR",
                            "spanId": "VARCHAR",
                            "name": "VARCHAR",
                            "startTimeUnixNano": "VARCHAR",
                            "endTimeUnixNano": "VARCHAR",
                            "attributes": _ATTRIBUTES,
                            "status": {"code": "VARCHAR", "message": "VARCHAR"},
                        }
                    ]
                }
            ],
        }
    ]
}

GENAI_KEYS = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.system",  # deprecated
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",  # deprecated
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",  # deprecated
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",  # pre-1.37 spelling
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",  # pre-1.37 spelling
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "error.type",
]
# What the GenAI conventions have no attribute for, under the names tokenbooks reads (the sample
# generator writes the ``app.*`` spelling). Documented in schemas/inputs/app_log_sources.md.
EXTRA_KEYS = {
    "attempt": ["tokenbooks.attempt", "app.attempt"],
    "is_batch": ["tokenbooks.batch", "app.batch"],
    "response_cache_hit": ["tokenbooks.response_cache_hit", "app.response_cache_hit"],
    "cache_write_1h": ["tokenbooks.usage.cache_creation_1h.input_tokens", "app.usage.cache_creation_1h.input_tokens"],
}
# Operations that are not one model call (their spans may carry usage summed over inner calls).
NOT_CALLS = ["invoke_agent", "create_agent", "execute_tool"]

_HEAD = re.compile(r'^\s*\{\s*"resourceSpans"\s*:')


class OtelGenAISpans(InputFormat):
    name = "otel_genai_spans"
    table = "calls"
    description = "OpenTelemetry GenAI spans (OTLP/JSON lines from the Collector file exporter)"
    line_records = True  # one TracesData per line: a big file lands in pieces cut at line ends

    def sniff(self, sample: Sample) -> bool:
        # On the raw head only: the first line of a 1 GB file must not be parsed whole.
        return bool(_HEAD.match(sample.text))

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        mapping = AttributeMapping.from_settings(ctx.settings)
        params = Params(path=str(path), schema=json.dumps(TRACES_DATA))
        extra = [k for keys in EXTRA_KEYS.values() for k in keys]
        keys = params.add(list(dict.fromkeys(GENAI_KEYS + extra + mapping.plain_keys())))
        not_calls = params.add(NOT_CALLS)

        def lookup(key: str) -> str:
            k = params.add(key)
            return f"coalesce(sa[{k}], ra[{k}])"

        def a(key: str) -> str:  # a gen_ai attribute of the span
            return f"sa[{params.add(key)}]"

        def extra_attr(name: str) -> str:
            return "coalesce(" + ", ".join(a(k) for k in EXTRA_KEYS[name]) + ")"

        dims = {f: mapping.sql(f, lookup, params) for f in FIELDS}
        cached = bigint_sql(f"coalesce({a('gen_ai.usage.cache_read.input_tokens')}, {a('gen_ai.usage.cache_read_input_tokens')})")
        write = bigint_sql(
            f"coalesce({a('gen_ai.usage.cache_creation.input_tokens')}, {a('gen_ai.usage.cache_creation_input_tokens')})"
        )
        reasoning = bigint_sql(f"coalesce({a('gen_ai.usage.reasoning.output_tokens')}, {a('gen_ai.usage.reasoning_tokens')})")
        input_reported = bigint_sql(f"coalesce({a('gen_ai.usage.input_tokens')}, {a('gen_ai.usage.prompt_tokens')})")
        output_reported = bigint_sql(f"coalesce({a('gen_ai.usage.output_tokens')}, {a('gen_ai.usage.completion_tokens')})")
        model = f"nullif(trim(coalesce({a('gen_ai.response.model')}, {a('gen_ai.request.model')})), '')"
        provider_raw = f"coalesce({a('gen_ai.provider.name')}, {a('gen_ai.system')})"
        op = f"lower({a('gen_ai.operation.name')})"
        sql = f"""
            with docs as (
                select raw, try(from_json(raw, $schema)) as doc from {lines_sql(numbered=False)}
            ),
            lined as (
                -- Each line opens with a header row (a null resource, is_line): the result keeps file order,
                -- so line numbers are a running count of headers and no order-keeping operator serialises
                -- the parse. Every unnest takes a plain column: an expression inside unnest() is evaluated
                -- again for each output chunk.
                select
                    case
                        when raw is null or trim(raw) = '' then null
                        when doc is null and not json_valid(raw) then 'not valid JSON'
                        when doc.resourceSpans is null then 'not an OTLP TracesData object (no resourceSpans)'
                    end as line_error,
                    [null] || list_filter(coalesce(doc.resourceSpans, []), lambda r: r is not null) as rss
                from docs
            ),
            resources as (
                select line_error, unnest(rss) as rs from lined
            ),
            scoped as (
                select
                    rs is null as is_line,
                    line_error,
                    map_from_entries([
                        (x.key, coalesce(x.value.stringValue, x.value.intValue, x.value.doubleValue, x.value.boolValue))
                        for x in coalesce(rs.resource.attributes, []) if list_contains({keys}, x.key)
                    ]) as ra,
                    if(rs is null, [null], rs.scopeSpans) as sss
                from resources
            ),
            scopes as (
                select is_line, line_error, ra, unnest(sss) as ss from scoped
            ),
            spans as (
                -- Attributes are filtered per span before unnesting: list functions on an unnested list
                -- would walk the whole line's attributes once per span.
                select
                    is_line,
                    line_error,
                    ra,
                    if(is_line, [null], [
                        {{
                            'trace_id': s.traceId,
                            'span_id': s.spanId,
                            'span_name': s.name,
                            'start_ns': try_cast(s.startTimeUnixNano as bigint),
                            'end_ns': try_cast(s.endTimeUnixNano as bigint),
                            'status_code': s.status.code,
                            'status_message': s.status.message,
                            'sa': map_from_entries([
                                (x.key, coalesce(x.value.stringValue, x.value.intValue, x.value.doubleValue, x.value.boolValue))
                                for x in coalesce(s.attributes, []) if list_contains({keys}, x.key)
                            ])
                        }}
                        for s in coalesce(ss.spans, [])
                    ]) as sps
                from scopes
            ),
            spans_unnested as (
                -- A plain column: the list is built once per scope, not once per output chunk of the unnest.
                select is_line, line_error, ra, unnest(sps) as sp from spans
            ),
            attributed as (
                select is_line, line_error, ra, unnest(sp) from spans_unnested
            ),
            calls as (
                select * from attributed
                where is_line or case
                    when list_contains({not_calls}, {op}) then false
                    when {op} is not null then true
                    else {provider_raw} is not null
                        and ({model} is not null or {input_reported} is not null or {output_reported} is not null)
                end
            ),
            mapped as (
                select
                    is_line,
                    coalesce({dims['call_id']}, nullif(span_id, ''), {dims['provider_request_id']}) as call_id,
                    case when start_ns > 0 then make_timestamp(start_ns // 1000)::timestamptz end as occurred_at,
                    {provider_sql(provider_raw, model, params)} as provider,
                    {model} as model_raw,
                    {dims['app']} as app,
                    {dims['feature']} as feature,
                    {dims['user_id']} as user_id,
                    {dims['tenant_id']} as tenant_id,
                    {dims['session_id']} as session_id,
                    {dims['prompt_version']} as prompt_version,
                    {input_tokens_sql(input_reported, cached, write)} as input_tokens,
                    coalesce({cached}, 0) as cached_input_tokens,
                    coalesce({write}, 0) as cache_write_tokens,
                    least(coalesce({bigint_sql(extra_attr('cache_write_1h'))}, 0), coalesce({write}, 0)) as cache_write_1h_tokens,
                    {output_tokens_sql(output_reported, reasoning)} as output_tokens,
                    coalesce({reasoning}, 0) as reasoning_tokens,
                    {bool_sql(extra_attr('is_batch'))} as is_batch,
                    {status_sql(
                        f"{a('error.type')} is not null or status_code in ('2', 'STATUS_CODE_ERROR')",
                        f"concat_ws(' ', {a('error.type')}, status_message)",
                    )} as status,
                    coalesce(try_cast({extra_attr('attempt')} as integer), 1) as attempt,
                    case when end_ns >= start_ns and start_ns > 0 then (end_ns - start_ns) // 1000000 end as latency_ms,
                    {bool_sql(extra_attr('response_cache_hit'))} as response_cache_hit,
                    {dims['provider_request_id']} as provider_request_id,
                    trace_id,
                    span_name,
                    line_error
                from calls
            )
            select
                *,
                case
                    when is_line then '$'
                    when occurred_at is null then 'startTimeUnixNano'
                    when model_raw is null then 'gen_ai.request.model'
                    when call_id is null then 'spanId'
                end as _error_field
            from mapped
        """
        con = connect()
        try:
            rows = con.sql(sql, params=params).pl()
        finally:
            con.close()
        return _split(rows)


_REASONS = {
    "startTimeUnixNano": "missing or not a nanosecond timestamp",
    "gen_ai.request.model": "GenAI span without gen_ai.response.model or gen_ai.request.model",
    "spanId": "span without spanId or gen_ai.response.id",
}


def _split(rows: pl.DataFrame) -> Parsed:
    rows = rows.with_columns(pl.col("is_line").cum_sum().cast(pl.Int64).alias("_record"))
    lines = rows.filter(pl.col("is_line"))
    spans = rows.filter(~pl.col("is_line"))
    bad_spans = spans.filter(pl.col("_error_field").is_not_null())
    # Quarantine names the span, never its attributes: they may hold prompt text.
    quarantine = pl.concat(
        [
            lines.filter(pl.col("line_error").is_not_null()).select(
                pl.col("_record").alias("record"),
                pl.lit("$").alias("field"),
                pl.col("line_error").alias("reason"),
                pl.lit(None, pl.String).alias("raw"),
            ),
            bad_spans.select(
                pl.col("_record").alias("record"),
                pl.col("_error_field").alias("field"),
                pl.col("_error_field").replace_strict(_REASONS, default=None, return_dtype=pl.String).alias("reason"),
                pl.struct(traceId="trace_id", spanId="call_id", name="span_name").struct.json_encode().alias("raw"),
            ),
        ]
    )
    good = spans.filter(pl.col("_error_field").is_null()).drop("_error_field", "trace_id", "span_name", "line_error", "is_line")
    records_in = spans.height + lines.filter(pl.col("line_error").is_not_null()).height
    return Parsed(rows=good, quarantine=quarantine, records_in=records_in)
