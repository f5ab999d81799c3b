"""A call-log format is a declaration: its records, a mapping of canonical fields and its own error rules.

The shared renderer (``formats/calllog.py``) does the rest: the canonical row, the error classification and
what quarantine keeps. A new format here is a dozen lines of mappings.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.ingest.attributes import AttributeMapping, Params, member_sql
from pipelines.ingest.formats.base import ParseContext, Sample
from pipelines.ingest.formats.calllog import CallLog, CallLogFormat, Rule, dimensions, mapped_fields
from pipelines.ingest.formats.jsonsource import json_records_sql
from pipelines.ingest.formats.tokens import bigint_sql
from pipelines.ingest.formats.values import rfc3339_sql
from pipelines.settings import load_settings


class TinyLog(CallLogFormat):
    """A made-up app log: {"id", "at", "model", "in", "out", "app"} per line."""

    name = "tiny_log"

    def sniff(self, sample: Sample) -> bool:
        return True

    def declare(self, path: Path, ctx: ParseContext, mapping: AttributeMapping, params: Params, **source) -> CallLog:
        def top(key: str) -> str:
            return f"nullif(trim({member_sql('j', key, params)}), '')"

        dims = mapped_fields(mapping, lambda key: member_sql("j", key, params), params)
        return CallLog(
            records=json_records_sql(path),
            fields={
                "call_id": f"coalesce({dims['call_id']}, {top('id')})",
                "occurred_at": rfc3339_sql(top("at")),
                "model_raw": top("model"),
                **dimensions(dims),
                "input_tokens": f"coalesce({bigint_sql(top('in'))}, 0)",
                "output_tokens": f"coalesce({bigint_sql(top('out'))}, 0)",
            },
            helpers={"_id": top("id")},
            rules=[
                Rule("id", "_id is null", "'missing id'"),
                Rule("at", "occurred_at is null", "'not an RFC 3339 timestamp'"),
            ],
            counts={"in": top("in"), "out": top("out")},
            raw="case when _id is not null then json_object('id', _id)::varchar end",
        )


def test_a_declared_call_log_gives_rows_and_classified_errors(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "c1", "at": "2026-01-02T03:04:05Z", "model": "gpt-4o", "in": 10, "out": "5", "app": "chat"}),
        "{not json",
        json.dumps({"at": "2026-01-02T03:04:05Z", "model": "gpt-4o", "in": 1, "out": 1}),
        json.dumps({"id": "c4", "at": "yesterday", "model": "gpt-4o", "in": 1, "out": 1}),
        json.dumps({"id": "c5", "at": "2026-01-02T03:04:05Z", "model": "gpt-4o", "in": -3, "out": 1}),
    ]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(lines) + "\n")
    parsed = TinyLog().parse(path, ParseContext(settings=load_settings(home=tmp_path / "home")))

    row = parsed.rows.row(0, named=True)
    assert parsed.rows.height == 1
    assert (row["_record"], row["call_id"], row["model_raw"], row["app"]) == (1, "c1", "gpt-4o", "chat")
    assert (row["input_tokens"], row["output_tokens"]) == (10, 5)
    assert not {"_id", "_unreadable", "_count_field", "_count_reason", "_error_field", "raw"} & set(parsed.rows.columns)

    quarantine = parsed.quarantine.sort("record").rows()
    assert quarantine == [
        (2, "$", "not valid JSON", None),
        (3, "id", "missing id", None),
        (4, "at", "not an RFC 3339 timestamp", '{"id":"c4"}'),
        (5, "in", "not a token count (a whole number >= 0): -3", '{"id":"c5"}'),
    ]
