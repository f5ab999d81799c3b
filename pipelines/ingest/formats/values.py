"""How a value's text becomes a typed value: exactly as written, or not at all (null, so the record is quarantined).

DuckDB's casts are lenient where the books must not be: ``try_cast('1.5' as BIGINT)`` rounds to 2 and reads
``0x1F`` and ``1_000`` as numbers; a timestamp without a zone is taken as UTC and an offset of ``+25:00`` is
accepted (moving the call by a day). Every reader of every format builds its typed values with these instead.
Each returns SQL over ``text`` (an SQL expression of type VARCHAR, a code constant, never data).
"""

from __future__ import annotations

INTEGER_TYPES = ("BIGINT", "INTEGER")
# A whole number with a sign, leading zeros or a zero fraction ("59200.0", as exports write counts), or an exponent
# ("1.2e3").
_ZERO_FRACTION = r"[+-]?\d+(\.0*)?"
_EXPONENT = r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+"


def whole_number_sql(text: str, type: str = "BIGINT") -> str:
    """The integer ``text`` writes, or null: a fraction (``1.5``) is never rounded, a value outside ``type``'s range
    (a negative count passes here: the contracts' lower bounds say what is allowed) or any other spelling
    (``0x1F``, ``1_000``, ``true``) is not a number.

    Plain digits are checked by casting back (no regular expression on the common path).
    """
    t = f"trim({text})"
    exact = f"try_cast(try_cast({t} as DECIMAL(38,18)) as {type})"
    return (
        f"(case when try_cast({t} as BIGINT)::VARCHAR = {t} then try_cast({t} as {type})"
        f" when regexp_full_match({t}, '{_ZERO_FRACTION}') then try_cast(split_part({t}, '.', 1) as {type})"
        f" when regexp_full_match({t}, '{_EXPONENT}')"
        f" and try_cast({t} as DECIMAL(38,18)) = trunc(try_cast({t} as DECIMAL(38,18))) then {exact} end)"
    )


# RFC 3339 date-time: a date, a time and a zone (Z or an offset of at most 23:59). The canonical call log and the
# app-log sources that promise it (Langfuse, Bedrock invocation logs, Anthropic report buckets) are read with it.
RFC3339 = r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
# An offset after a time ("…:05+05:30", "…:05.123 -0800"), and the offsets that exist (hours 00-23, minutes 00-59).
_ANY_OFFSET = r":\d\d(\.\d+)?\s*[+-]\d+(:?\d+)?\s*$"
_VALID_OFFSET = r":\d\d(\.\d+)?\s*[+-]([01]\d|2[0-3])(:?[0-5]\d)?\s*$"


def rfc3339_sql(text: str) -> str:
    """The instant an RFC 3339 date-time names, or null: no zone, a date alone or an offset past 23:59 is refused."""
    return f"(case when regexp_full_match(trim({text}), '{RFC3339}') then try_cast(upper(trim({text})) as TIMESTAMPTZ) end)"


def instant_sql(text: str) -> str:
    """An instant from ISO-like text where the source documents zone-less times as UTC (LiteLLM, billing exports;
    the connection's zone is UTC); an offset past 23:59 is still refused, never moved to another day.

    The offset check runs only on text that has a sign after its date (most exports write Z or nothing).
    """
    t = f"trim({text})"
    signed = f"(contains(substr({t}, 11), '+') or contains(substr({t}, 11), '-'))"
    bad_offset = f"({signed} and regexp_matches({t}, '{_ANY_OFFSET}') and not regexp_matches({t}, '{_VALID_OFFSET}'))"
    return f"(case when not {bad_offset} then try_cast({t} as TIMESTAMPTZ) end)"


def not_a(type: str) -> str:
    """What a value that does not convert to ``type`` is not, for a quarantine reason (which names the value too)."""
    if type in INTEGER_TYPES:
        return "a whole number"
    if type == "TIMESTAMPTZ":
        return "an RFC 3339 timestamp with a time zone"
    return f"a valid {type.lower()}"


def typed_sql(text: str, type: str) -> str:
    """``text`` as ``type`` for a JSON field: integers exact, TIMESTAMPTZ as RFC 3339, anything else cast."""
    if type in INTEGER_TYPES:
        return whole_number_sql(text, type)
    if type == "TIMESTAMPTZ":
        return rfc3339_sql(text)
    if type == "VARCHAR":
        return text
    return f"try_cast({text} as {type})"


# ---- typed values out of JSON text (app logs) -----------------------------------------------------


def money_sql(expr: str) -> str:
    """A USD amount from its text (decimal strings and JSON numbers alike) straight to DECIMAL, never a float."""
    return f"coalesce(try_cast({expr} as decimal(38, 12)), try_cast(try_cast({expr} as double) as decimal(38, 12)))"


def bool_sql(expr: str) -> str:
    """True for ``true``/``True``/``1``/``yes``; false otherwise (a missing flag is false)."""
    return f"coalesce(lower(trim({expr})) in ('true', '1', 'yes', 't', 'hit'), false)"


def timestamp_sql(expr: str) -> str:
    """An instant from ISO text where the source documents zone-less times as UTC (LiteLLM); sources that promise
    RFC 3339 read with ``values.rfc3339_sql``. An offset past 23:59 is refused either way."""
    return instant_sql(expr)


def latency_sql(start: str, end: str) -> str:
    return f"case when {end} >= {start} then (epoch_ms({end}) - epoch_ms({start}))::bigint end"


def json_object_sql(expr: str) -> str:
    """A JSON object whether the source holds it as an object or as JSON text in a string (CSV exports)."""
    return (
        f"(case when json_type({expr}) = 'OBJECT' then {expr} "
        f"when json_type({expr}) = 'VARCHAR' and json_valid({expr}->>'$') "
        f"and json_type(({expr}->>'$')::json) = 'OBJECT' then ({expr}->>'$')::json end)"
    )


def json_list_sql(expr: str) -> str:
    """A list of strings from a JSON array, or from JSON text holding one (tags in CSV exports)."""
    return (
        f"(case when json_type({expr}) = 'ARRAY' then from_json({expr}, '[\"VARCHAR\"]') "
        f"when json_type({expr}) = 'VARCHAR' and json_valid({expr}->>'$') "
        f"and json_type(({expr}->>'$')::json) = 'ARRAY' then from_json(({expr}->>'$')::json, '[\"VARCHAR\"]') end)"
    )
