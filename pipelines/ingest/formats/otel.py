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

from pipelines.db import connect
from pipelines.ingest.attributes import FIELDS, AttributeMapping, Params
from pipelines.ingest.formats.base import Parsed, ParseContext, Sample, read_error, split_errors
from pipelines.ingest.formats.calllog import CallLog, CallLogFormat, Rule, dimensions, mapped_fields, render
from pipelines.ingest.formats.lines import lines_sql
from pipelines.ingest.formats.tokens import bigint_sql, input_tokens_sql, output_tokens_sql
from pipelines.ingest.formats.values import bool_sql, whole_number_sql
from pipelines.ingest.formats.vocabulary import finish_reason_sql, provider_sql, status_sql

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


class OtelGenAISpans(CallLogFormat):
    name = "otel_genai_spans"
    description = "OpenTelemetry GenAI spans (OTLP/JSON lines from the Collector file exporter)"
    line_records = True  # one TracesData per line: a big file lands in pieces cut at line ends

    def sniff(self, sample: Sample) -> bool:
        # On the raw head only: the first line of a 1 GB file must not be parsed whole.
        return bool(_HEAD.match(sample.text))

    def params(self, path: Path, ctx: ParseContext) -> Params:
        return Params(path=str(path), schema=json.dumps(TRACES_DATA))

    def declare(self, path: Path, ctx: ParseContext, mapping: AttributeMapping, params: Params, **source) -> CallLog:
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
        dims = mapped_fields(mapping, lookup, params, native=native, fields=FIELDS)
        cached = bigint_sql(f"coalesce({a('gen_ai.usage.cache_read.input_tokens')}, {a('gen_ai.usage.cache_read_input_tokens')})")
        write = bigint_sql(
            f"coalesce({a('gen_ai.usage.cache_creation.input_tokens')}, {a('gen_ai.usage.cache_creation_input_tokens')})"
        )
        reasoning = bigint_sql(f"coalesce({a('gen_ai.usage.reasoning.output_tokens')}, {a('gen_ai.usage.reasoning_tokens')})")
        input_reported = bigint_sql(f"coalesce({a('gen_ai.usage.input_tokens')}, {a('gen_ai.usage.prompt_tokens')})")
        output_reported = bigint_sql(f"coalesce({a('gen_ai.usage.output_tokens')}, {a('gen_ai.usage.completion_tokens')})")
        counts = [k for k in GENAI_KEYS if k.startswith("gen_ai.usage.")] + EXTRA_KEYS["cache_write_1h"] + EXTRA_KEYS["attempt"]
        model = f"nullif(trim(coalesce({a('gen_ai.response.model')}, {a('gen_ai.request.model')})), '')"
        provider_raw = f"coalesce({a('gen_ai.provider.name')}, {a('gen_ai.system')})"
        op = f"lower({a('gen_ai.operation.name')})"
        entries = (
            "(x.key, coalesce(x.value.stringValue, x.value.intValue, x.value.doubleValue, x.value.boolValue, "
            "x.value.arrayValue['values'][1].stringValue)) "
            f"for x in coalesce({{}}, []) if list_contains({keys}, x.key)"
        )
        return CallLog(
            # One record per line (a TracesData object), numbered in tb_otlp_lines; a batch of lines per query.
            records="""
                select _record, raw, try(from_json(raw, $schema)) as doc
                from tb_otlp_lines where _record between $first and $last""",
            stages={
                "bad_lines": """
                    select
                        _record,
                        case
                            when not json_valid(raw) then 'not valid JSON'
                            when doc is null then 'not an OTLP TracesData object (a value of the wrong type)'
                            else 'not an OTLP TracesData object (no resourceSpans)'
                        end as line_error
                    from records
                    where doc is null or doc.resourceSpans is null""",
                "resources": "select _record, unnest(doc.resourceSpans) as rs from records where doc.resourceSpans is not null",
                # Only the attributes a call row may need are kept, per resource and per span.
                "scopes": f"""
                    select _record, map_from_entries([{entries.format('rs.resource.attributes')}]) as ra,
                           unnest(rs.scopeSpans) as ss
                    from resources where rs is not null""",
                # Materialized: list functions on the spans of an unnested list would walk the whole
                # line's attributes for every span (quadratic); copied, each span holds only its own.
                "spans": "select _record, ra, unnest(ss.spans) as s from scopes where ss is not null",
                # Materialized: else the optimiser inlines the attribute maps into every lookup of them.
                "attributed": f"""
                    select
                        _record, ra, s.traceId as trace_id, s.spanId as span_id, s.parentSpanId as parent_span_id,
                        s.name as span_name,
                        {whole_number_sql('s.startTimeUnixNano')} as start_ns,
                        {whole_number_sql('s.endTimeUnixNano')} as end_ns,
                        s.status.code as status_code, s.status.message as status_message,
                        map_from_entries([{entries.format('s.attributes')}]) as sa
                    from spans where s is not null""",
                # The spans that are model calls, and the lines that are no TracesData (as records to quarantine).
                "calls": f"""
                    select * from attributed
                    where case
                        when list_contains({not_calls}, {op}) then false
                        when {op} is not null then true
                        else {provider_raw} is not null
                            and ({model} is not null or {input_reported} is not null or {output_reported} is not null)
                    end
                    union all by name
                    select _record, line_error from bad_lines""",
            },
            materialized=("spans", "attributed"),
            fields={
                "call_id": f"coalesce({dims['call_id']}, nullif(span_id, ''), {dims['provider_request_id']})",
                "occurred_at": "case when start_ns > 0 then make_timestamp(start_ns // 1000)::timestamptz end",
                "provider": provider_sql(provider_raw, model, params),
                "model_raw": model,
                "model_served": f"nullif(trim({a('gen_ai.response.model')}), '') is not null",
                **dimensions(dims),
                "input_tokens": input_tokens_sql(input_reported, cached, write),
                "cached_input_tokens": f"coalesce({cached}, 0)",
                "cache_write_tokens": f"coalesce({write}, 0)",
                "cache_write_1h_tokens": f"least(coalesce({bigint_sql(extra_attr('cache_write_1h'))}, 0), coalesce({write}, 0))",
                "output_tokens": output_tokens_sql(output_reported, reasoning),
                "reasoning_tokens": f"coalesce({reasoning}, 0)",
                "is_batch": bool_sql(extra_attr("is_batch")),
                "status": status_sql(
                    f"{a('error.type')} is not null or status_code in ('2', 'STATUS_CODE_ERROR')",
                    f"concat_ws(' ', {a('error.type')}, status_message)",
                ),
                "attempt": f"coalesce({whole_number_sql(extra_attr('attempt'), 'INTEGER')}, 1)",
                "latency_ms": "case when end_ns >= start_ns and start_ns > 0 then (end_ns - start_ns) // 1000000 end",
                "response_cache_hit": bool_sql(extra_attr("response_cache_hit")),
                "provider_request_id": dims["provider_request_id"],
                "max_output_tokens": bigint_sql(a("gen_ai.request.max_tokens")),
                "finish_reason": finish_reason_sql(a("gen_ai.response.finish_reasons"), params),
                "trace_id": dims["trace_id"],
                "parent_call_id": dims["parent_call_id"],
            },
            helpers={"_line_error": "line_error", "_trace_id": "trace_id", "_span_name": "span_name"},
            unreadable=Rule("$", "line_error is not null", "_line_error"),
            rules=[
                Rule("startTimeUnixNano", "occurred_at is null", "'missing or not a nanosecond timestamp'"),
                Rule("gen_ai.request.model", "model_raw is null",
                     "'GenAI span without gen_ai.response.model or gen_ai.request.model'"),
                Rule("spanId", "call_id is null", "'span without spanId or gen_ai.response.id'"),
            ],
            counts={k: a(k) for k in counts},
            # Quarantine names the span, never its attributes: they may hold prompt text.
            raw="case when _line_error is null then json_object('traceId', _trace_id, 'spanId', call_id, 'name', _span_name)::varchar end",
        )

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        params = self.params(path, ctx)
        sql = render(self.declare(path, ctx, AttributeMapping.from_settings(ctx.settings), params))
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


def _split(rows: pl.DataFrame) -> Parsed:
    good, quarantine = split_errors(rows)
    # The lines that are no TracesData first, then the spans, each in file order.
    quarantine = quarantine.sort(pl.col("field") != "$", maintain_order=True)
    return Parsed(rows=good, quarantine=quarantine, records_in=rows.height)
