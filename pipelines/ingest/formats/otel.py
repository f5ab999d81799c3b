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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.attributes import AttributeMapping, FIELDS, Params, dimension_columns
from pipelines.ingest.formats.lines import lines_sql
from pipelines.ingest.formats.tokens import bigint_sql, count_errors_sql, input_tokens_sql, output_tokens_sql
from pipelines.ingest.formats.values import bool_sql, whole_number_sql
from pipelines.ingest.formats.vocabulary import finish_reason_sql, provider_sql, status_sql
from pipelines.db import connect
from pipelines.ingest.formats.base import InputFormat, Parsed, ParseContext, Sample, read_error

_VALUE = {"stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR", "boolValue": "VARCHAR",
          # gen_ai.response.finish_reasons is a string array: its first element is the call's reason.
          "arrayValue": {"values": [{"stringValue": "VARCHAR"}]}}
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
                            "parentSpanId": "VARCHAR",
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
    "gen_ai.request.max_tokens",
    "gen_ai.response.finish_reasons",
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

        native = {"trace_id": ("nullif(trace_id, '')",), "parent_call_id": ("nullif(parent_span_id, '')",)}
        dims = {f: mapping.sql(f, lookup, params, native=native.get(f, ())) for f in FIELDS}
        cached = bigint_sql(f"coalesce({a('gen_ai.usage.cache_read.input_tokens')}, {a('gen_ai.usage.cache_read_input_tokens')})")
        write = bigint_sql(
            f"coalesce({a('gen_ai.usage.cache_creation.input_tokens')}, {a('gen_ai.usage.cache_creation_input_tokens')})"
        )
        reasoning = bigint_sql(f"coalesce({a('gen_ai.usage.reasoning.output_tokens')}, {a('gen_ai.usage.reasoning_tokens')})")
        input_reported = bigint_sql(f"coalesce({a('gen_ai.usage.input_tokens')}, {a('gen_ai.usage.prompt_tokens')})")
        output_reported = bigint_sql(f"coalesce({a('gen_ai.usage.output_tokens')}, {a('gen_ai.usage.completion_tokens')})")
        counts = [k for k in GENAI_KEYS if k.startswith("gen_ai.usage.")] + EXTRA_KEYS["cache_write_1h"] + EXTRA_KEYS["attempt"]
        count_field, count_reason = count_errors_sql({k: a(k) for k in counts})
        model = f"nullif(trim(coalesce({a('gen_ai.response.model')}, {a('gen_ai.request.model')})), '')"
        provider_raw = f"coalesce({a('gen_ai.provider.name')}, {a('gen_ai.system')})"
        op = f"lower({a('gen_ai.operation.name')})"
        entries = (
            "(x.key, coalesce(x.value.stringValue, x.value.intValue, x.value.doubleValue, x.value.boolValue, "
            "x.value.arrayValue['values'][1].stringValue)) "
            f"for x in coalesce({{}}, []) if list_contains({keys}, x.key)"
        )
        sql = f"""
            with docs as (
                select _record, raw, try(from_json(raw, $schema)) as doc
                from tb_otlp_lines where _record between $first and $last
            ),
            bad_lines as (
                select
                    _record,
                    case
                        when not json_valid(raw) then 'not valid JSON'
                        when doc is null then 'not an OTLP TracesData object (a value of the wrong type)'
                        else 'not an OTLP TracesData object (no resourceSpans)'
                    end as line_error
                from docs
                where doc is null or doc.resourceSpans is null
            ),
            resources as (
                select _record, unnest(doc.resourceSpans) as rs from docs where doc.resourceSpans is not null
            ),
            scopes as (
                -- Only the attributes a call row may need are kept, per resource and per span.
                select _record, map_from_entries([{entries.format('rs.resource.attributes')}]) as ra,
                       unnest(rs.scopeSpans) as ss
                from resources where rs is not null
            ),
            spans as materialized (
                -- Materialized: list functions on the spans of an unnested list would walk the whole
                -- line's attributes for every span (quadratic); copied, each span holds only its own.
                select _record, ra, unnest(ss.spans) as s from scopes where ss is not null
            ),
            attributed as materialized (
                -- Materialized: else the optimiser inlines the attribute maps into every lookup of them.
                select
                    _record,
                    ra,
                    s.traceId as trace_id,
                    s.spanId as span_id,
                    s.parentSpanId as parent_span_id,
                    s.name as span_name,
                    {whole_number_sql('s.startTimeUnixNano')} as start_ns,
                    {whole_number_sql('s.endTimeUnixNano')} as end_ns,
                    s.status.code as status_code,
                    s.status.message as status_message,
                    map_from_entries([{entries.format('s.attributes')}]) as sa
                from spans where s is not null
            ),
            calls as (
                select * from attributed
                where case
                    when list_contains({not_calls}, {op}) then false
                    when {op} is not null then true
                    else {provider_raw} is not null
                        and ({model} is not null or {input_reported} is not null or {output_reported} is not null)
                end
            ),
            mapped as (
                select
                    _record,
                    coalesce({dims['call_id']}, nullif(span_id, ''), {dims['provider_request_id']}) as call_id,
                    case when start_ns > 0 then make_timestamp(start_ns // 1000)::timestamptz end as occurred_at,
                    {provider_sql(provider_raw, model, params)} as provider,
                    {model} as model_raw,
                    nullif(trim({a('gen_ai.response.model')}), '') is not null as model_served,
                    {dimension_columns(dims)},
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
                    coalesce({whole_number_sql(extra_attr('attempt'), 'INTEGER')}, 1) as attempt,
                    case when end_ns >= start_ns and start_ns > 0 then (end_ns - start_ns) // 1000000 end as latency_ms,
                    {bool_sql(extra_attr('response_cache_hit'))} as response_cache_hit,
                    {dims['provider_request_id']} as provider_request_id,
                    {bigint_sql(a('gen_ai.request.max_tokens'))} as max_output_tokens,
                    {finish_reason_sql(a('gen_ai.response.finish_reasons'), params)} as finish_reason,
                    {dims['trace_id']} as trace_id,
                    {dims['parent_call_id']} as parent_call_id,
                    span_name,
                    {count_field} as _count_field,
                    {count_reason} as _count_reason
                from calls
            )
            select
                * exclude (_count_field),
                case
                    when occurred_at is null then 'startTimeUnixNano'
                    when model_raw is null then 'gen_ai.request.model'
                    when call_id is null then 'spanId'
                    when _count_field is not null then _count_field
                end as _error_field,
                null as line_error
            from mapped
            union all by name
            select _record, '$' as _error_field, line_error from bad_lines
        """
        con = connect()
        try:
            # Numbering lines is sequential; parsing them is not. The numbered lines go into a table, and
            # its batches are parsed concurrently, one per core: a batch holds too few lines (rows) for
            # DuckDB to split one query across threads.
            con.execute(f"create table tb_otlp_lines as select * from (select row_number() over () as _record, "
                        f"raw from {lines_sql(numbered=False)}) where trim(raw) <> ''", {"path": str(path)})
            del params["path"]
            batches = _batches(con) or [(1, 0)]  # a file of blank lines still gets its (empty) typed frame
            threads = int(con.execute("select current_setting('threads')").fetchone()[0])
            con.execute("set threads = 1")  # each batch's query on its own thread; the pool gives the cores

            def parse_batch(bounds: tuple[int, int]) -> pl.DataFrame:
                cur = con.cursor()
                try:
                    # A cursor is a new session in the machine's zone: span instants must be read in UTC.
                    cur.execute("set TimeZone = 'UTC'")
                    return cur.sql(sql, params={**params, "first": bounds[0], "last": bounds[1]}).pl()
                finally:
                    cur.close()

            with ThreadPoolExecutor(max_workers=max(1, min(threads, len(batches)))) as pool:
                rows = pl.concat(list(pool.map(parse_batch, batches)), how="vertical_relaxed")
        except (duckdb.InvalidInputException, duckdb.ConversionException) as e:
            raise read_error(path, e) from None
        finally:
            con.close()
        return _split(rows)


# Lines are parsed this many bytes of text at a time: the parsed spans take several times their
# text in memory, so a landing piece is not held parsed all at once.
BATCH_BYTES = 32 * 1024 * 1024


def _batches(con) -> list[tuple[int, int]]:
    """Consecutive line ranges of about BATCH_BYTES of text each (a longer line is a batch alone)."""
    sizes = con.execute("select _record, length(raw) from tb_otlp_lines order by _record").fetchall()
    out, first, size = [], None, 0
    for record, n in sizes:
        if first is None:
            first = record
        size += n
        if size >= BATCH_BYTES:
            out.append((first, record))
            first, size = None, 0
    if first is not None:
        out.append((first, sizes[-1][0]))
    return out


_REASONS = {
    "startTimeUnixNano": "missing or not a nanosecond timestamp",
    "gen_ai.request.model": "GenAI span without gen_ai.response.model or gen_ai.request.model",
    "spanId": "span without spanId or gen_ai.response.id",
}


def _split(rows: pl.DataFrame) -> Parsed:
    is_line = pl.col("_error_field") == "$"
    bad_lines = rows.filter(is_line)
    spans = rows.filter(~is_line | pl.col("_error_field").is_null())
    bad_spans = spans.filter(pl.col("_error_field").is_not_null())
    # Quarantine names the span, never its attributes: they may hold prompt text.
    quarantine = pl.concat(
        [
            bad_lines.select(
                pl.col("_record").cast(pl.Int64).alias("record"),
                pl.lit("$").alias("field"),
                pl.col("line_error").alias("reason"),
                pl.lit(None, pl.String).alias("raw"),
            ),
            bad_spans.select(
                pl.col("_record").cast(pl.Int64).alias("record"),
                pl.col("_error_field").alias("field"),
                pl.coalesce(
                    pl.col("_error_field").replace_strict(_REASONS, default=None, return_dtype=pl.String), pl.col("_count_reason")
                ).alias("reason"),
                pl.struct(traceId="trace_id", spanId="call_id", name="span_name").struct.json_encode().alias("raw"),
            ),
        ]
    )
    good = spans.filter(pl.col("_error_field").is_null()).drop("_error_field", "span_name", "line_error", "_count_reason")
    return Parsed(rows=good, quarantine=quarantine, records_in=spans.height + bad_lines.height)
