"""App-log formats as declarations: what a call log says, field by field, rendered into one DuckDB query.

A call-log format (LiteLLM spend logs, Langfuse observations, Bedrock invocation logs) declares a :class:`CallLog`:
where its records come from, the steps that unpack a record, the SQL of each canonical field of a call, and its
own error rules. :func:`render` builds the one query every such format runs: the canonical row, the error
classification (a record that is not JSON first, then the format's rules in order, then token counts that are not
whole numbers >= 0) and what quarantine keeps of a bad record. A new app-log format is a sniff rule and a
``declare`` that returns its mappings.

Every expression is SQL built from code constants and bound parameters (``Params``), never from data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.db import bound
from pipelines.ingest.attributes import DIMENSIONS, AttributeMapping, Params
from pipelines.ingest.formats.base import InputFormat, Parsed, ParseContext, split_errors
from pipelines.ingest.formats.jsonsource import run_sql
from pipelines.ingest.formats.tokens import count_errors_sql

# The mapped fields a call log reads through the attribute mapping (configured keys, the source's own, conventions).
MAPPED = (*DIMENSIONS, "call_id", "provider_request_id", "trace_id", "parent_call_id")


@dataclass(frozen=True)
class Rule:
    """A record is bad when ``condition`` holds: quarantined under ``field`` (a name) with ``reason`` (SQL text)."""

    field: str
    condition: str
    reason: str

    @classmethod
    def timestamp(cls, field: str, text: str, what: str = "an RFC 3339 timestamp") -> Rule:
        """The record's time did not parse: the reason quotes (the start of) the text it had, ``text`` (SQL)."""
        return cls(field, "occurred_at is null", f"'missing or not {what}: ' || coalesce(left({text}, 40), 'null')")


@dataclass
class CallLog:
    """A call log's declaration.

    ``records``: SQL of the records, ``(_record, j JSON)`` (``j`` null for a record that is not JSON).
    ``stages``: named steps after it (``name -> SQL``, each reading the one before); the last feeds the mapping.
    ``fields``: canonical field -> SQL over the last stage, in the order of the rows.
    ``helpers``: further values the rules and ``raw`` read (SQL), dropped from the rows.
    ``rules``: the format's own errors, first match wins, after "not valid JSON".
    ``counts``: token count name -> its text; present but not a whole number >= 0 quarantines the record.
    ``raw``: what quarantine keeps of a record: what names it, never its prompt or response.
    """

    records: str
    fields: dict[str, str]
    stages: dict[str, str] = field(default_factory=dict)
    helpers: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    counts: dict[str, str] = field(default_factory=dict)
    raw: str = "null::varchar"
    materialized: tuple[str, ...] = ()  # stages DuckDB must compute once, not inline into each use
    # A record that cannot be read at all (its condition over the last stage; its reason over fields and helpers).
    unreadable: Rule = Rule("$", "j is null", "'not valid JSON'")


def render(log: CallLog) -> str:
    """The query of a call log: its rows with ``_error_field``/``_error_reason`` and ``raw`` (see ``split_errors``)."""
    ctes = {"records": log.records, **log.stages}
    count_field, count_reason = count_errors_sql(log.counts) if log.counts else ("null", "null")
    # The record's own columns are read in ``mapped``; the rules see its fields and helpers.
    helpers = {"_unreadable": log.unreadable.condition, **log.helpers, "_count_field": count_field, "_count_reason": count_reason}
    unreadable = Rule(log.unreadable.field, "_unreadable", log.unreadable.reason)
    rules = [unreadable, *log.rules, Rule("", "_count_field is not null", "_count_reason")]
    error_field = " ".join(f"when {r.condition} then {_field(r)}" for r in rules)
    error_reason = " ".join(f"when {r.condition} then {r.reason}" for r in rules)
    columns = ",\n                ".join(f"{sql} as {name}" for name, sql in {**log.fields, **helpers}.items())
    steps = ",\n            ".join(
        f"{name} as {'materialized ' if name in log.materialized else ''}({sql})" for name, sql in ctes.items()
    )
    return f"""
        with {steps},
        mapped as (
            select
                _record,
                {columns}
            from {list(ctes)[-1]}
        )
        select
            * exclude ({", ".join(helpers)}),
            case {error_field} end as _error_field,
            case {error_reason} end as _error_reason,
            {log.raw} as raw
        from mapped
    """


def _field(rule: Rule) -> str:
    # The token-count rule names the count the record got wrong, from its own SQL.
    return "_count_field" if rule.field == "" else "'" + rule.field.replace("'", "''") + "'"


def mapped_fields(mapping: AttributeMapping, lookup, params: Params, tags: str | None = None,
                  native: dict[str, tuple[str, ...]] | None = None, fields=MAPPED) -> dict[str, str]:
    """SQL of each mapped field: configured keys, then the source's own (``native``), then the conventions."""
    return {f: mapping.sql(f, lookup, params, tags=tags, native=(native or {}).get(f, ())) for f in fields}


def dimensions(dims: dict[str, str]) -> dict[str, str]:
    """The attribution dimensions of ``dims``, in the canonical order of a call row."""
    return {f: dims[f] for f in DIMENSIONS}


class CallLogFormat(InputFormat):
    """A call-log format: ``sniff`` and ``declare`` (its :class:`CallLog`); parsing is the shared renderer's."""

    table = "calls"

    def declare(self, path: Path, ctx: ParseContext, mapping: AttributeMapping, params: Params, **source) -> CallLog:
        """The format's CallLog; ``params`` takes what its SQL binds, ``source`` what ``read`` was given."""
        raise NotImplementedError  # pragma: no cover - interface

    def params(self, path: Path, ctx: ParseContext) -> Params:
        """Values bound to the query: the file, and whatever the format's declaration adds."""
        return Params(path=str(path))

    def parse(self, path: Path, ctx: ParseContext) -> Parsed:
        return self.read(path, ctx, self.params(path, ctx))

    def read(self, path: Path, ctx: ParseContext, params: Params, **source) -> Parsed:
        """Render the declaration and run it: the rows, and the records it could not read."""
        log = self.declare(path, ctx, AttributeMapping.from_settings(ctx.settings), params, **source)
        sql = render(log)
        good, quarantine = split_errors(run_sql(path, sql, bound(sql, params)))
        return Parsed(rows=good, quarantine=quarantine)
