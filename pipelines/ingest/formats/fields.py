"""The typed field every reader picks out of a record, and the one SQL renderer of JSON records.

A :class:`Field` says where a value is (a JSONPath in a JSON record; a header in an export), its DuckDB type and
whether it is required. :func:`records_sql` renders any source of JSON records into one typed column per field
plus ``_error_field``/``_error_reason`` for the records to quarantine (:func:`pipelines.ingest.formats.base.split_errors`
splits them off): the one rule set (:func:`field_checks`) every JSON reader applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.db import sql_str
from pipelines.ingest.formats.values import not_a, typed_sql


@dataclass(frozen=True)
class Field:
    """One typed field out of a record.

    ``source`` says where: a JSONPath in a JSON record; in an export, the header (alternatives separated by ``|``,
    matched case-insensitively, first present wins; see ``readers.typed_records``). ``type`` is a DuckDB type;
    ``parse``, when given, a SQL template over ``{v}`` (the text) that returns null when the text does not convert.
    """

    name: str
    source: str
    type: str = "VARCHAR"
    required: bool = False
    parse: str | None = None

    @property
    def is_identity(self) -> bool:
        """A required text field (an id, a provider, a model): it must be a JSON string, and not blank."""
        return self.required and self.type == "VARCHAR"

    def typed(self, text: str) -> str:
        """SQL: the value of the field's ``text`` (a VARCHAR expression), or null when it does not convert."""
        return self.parse.replace("{v}", text) if self.parse else typed_sql(text, self.type)


# JSON keys whose numbers are money in the formats read (OpenAI amount.value, OpenRouter usage, GCP cost, rate and
# credits[].amount, an outcome's value). DuckDB's JSON functions read a number as a double, so 987654.321098765432
# would come back as 987654.3210987655: these numbers are quoted in the raw text first and reach DECIMAL as written.
MONEY_KEYS = ("value", "amount", "usage", "cost", "currency_conversion_rate")
_MONEY_NUMBER = r'("(?:' + "|".join(MONEY_KEYS) + r')"\s*:\s*)(-?[0-9][0-9.eE+-]*)'


def money_as_text(json_text: str) -> str:
    """SQL: the JSON text ``json_text`` (an expression) with each number under a money key written as a string.
    A key inside a JSON string has its quotes escaped, so only real keys match."""
    return f"regexp_replace({json_text}, {sql_str(_MONEY_NUMBER)}, '\\1\"\\2\"', 'g')"


def has_money(types: list[str]) -> bool:
    return any(t.upper().startswith("DECIMAL") for t in types)

# A record's first error, written ``field|reason`` (``_err``), as the two columns ``split_errors`` reads.
ERROR_COLUMNS = ("split_part(_err, '|', 1) as _error_field, "
                 "nullif(substr(_err, length(split_part(_err, '|', 1)) + 2), '') as _error_reason")


def export_checks(f: Field, text: str, typed: str) -> list[tuple[str, str]]:
    """(condition, reason) SQL for each way field ``f`` of an export makes its record bad, given its ``text`` (blank
    is null) and ``typed`` value: the rule set of the tabular readers (``readers.typed_records``)."""
    checks = []
    if f.required:
        checks.append((f"{text} is null", "'missing required value'"))
    if f.type != "VARCHAR" or f.parse:
        checks.append((f"{text} is not null and {typed} is null and trim({text}) <> ''",
                       f"'not {not_a(f.type)}: ' || left({text}, 80)"))
    return checks


def field_checks(f: Field, text: str, typed: str, json_type: str | None = None) -> list[tuple[str, str]]:
    """(condition, reason) SQL for each way field ``f`` makes its record bad, given the field's ``text``, its
    ``typed`` value and (for an identity field) the SQL of its JSON type: the one rule set both JSON readers below
    apply."""
    checks = []
    if f.required:
        checks.append((f"{text} is null", "'missing required field'"))
    if f.is_identity and json_type is not None:
        kind = (f"(case {json_type} when 'OBJECT' then 'an object' when 'ARRAY' then 'an array' "
                f"when 'BOOLEAN' then 'a boolean' else 'a number' end)")
        checks.append((f"{json_type} <> 'VARCHAR'", f"'must be a string, not ' || {kind} || ': ' || left({text}, 80)"))
    if f.is_identity:
        checks.append((f"trim({text}) = ''", "'empty value'"))
    if f.type != "VARCHAR":
        checks.append((f"{text} is not null and {typed} is null", f"'not {not_a(f.type)}: ' || left({text}, 80)"))
    return checks


def records_sql(source: str, fields: list[Field]) -> str:
    """SQL picking typed ``fields`` out of the JSON records of ``source`` (columns ``_record``, ``raw``,
    ``_readable``: null, or why the record could not be read).

    One column per field and ``_raw_<field>`` text, plus ``_error_field``/``_error_reason`` for records to
    quarantine (feed the result to ``split_errors``): not JSON, not an object, a required field missing, a
    value that does not convert to its type.
    """
    paths = ", ".join(sql_str(f.source) for f in fields)
    typed = ",\n".join(f"{f.typed(f'_v[{i + 1}]')} as {f.name}, _v[{i + 1}] as _raw_{f.name}" for i, f in enumerate(fields))
    identities = [f for f in fields if f.is_identity]
    if identities:
        typed += ", " + ", ".join(f"_t[{i + 1}] as _type_{f.name}" for i, f in enumerate(identities))
    checks = [
        f"when {condition} then {sql_str(f.name + '|')} || {reason}"
        for f in fields
        for condition, reason in field_checks(f, f"_raw_{f.name}", f.name, f"_type_{f.name}")
    ]
    # The JSON type of identity fields: a number or an object where an id belongs is refused, not turned into text.
    json_types = (
        f", case when json_valid(raw) then json_type(raw, [{', '.join(sql_str(f.source) for f in identities)}]) end as _t"
        if identities else ""
    )
    check_sql = " ".join(checks) or "when false then null"
    # The line's text and the fields' text only matter for lines that go to quarantine: null elsewhere,
    # so a good row does not carry its whole line (and each field twice) through Arrow and Polars.
    raw_if_bad = ", ".join(
        f"case when _err is not null then {c} end as {c}" for c in ["raw", *(f"_raw_{f.name}" for f in fields)]
    )
    text = money_as_text("raw") if has_money([f.type for f in fields]) else "raw"
    parsed = f"""
        select _record, raw, _readable, json_valid(raw) as _ok,
               case when json_valid(raw) then json_extract_string({text}, [{paths}]) end as _v{json_types}
        from lines where raw is not null and trim(raw) <> ''"""
    sql = f"""
        with lines as ({source}),
        parsed as ({parsed}),
        typed as (select _record, raw, _readable, _ok, {typed} from parsed),
        checked as (
            select *,
                   case when _readable is not null then '$|' || _readable
                        when not _ok then '$|not valid JSON'
                        when json_type(raw) <> 'OBJECT' then '$|not a JSON object'
                        {check_sql} end as _err
            from typed
        )
        select * exclude (_err, _ok, _readable{"".join(f", _type_{f.name}" for f in identities)}) replace ({raw_if_bad}),
               {ERROR_COLUMNS}
        from checked
    """
    return sql
