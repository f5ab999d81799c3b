"""Token counts of an app log's call: exact whole numbers, and input/output that include their parts.

Sources count cache reads, cache writes and reasoning either inside the input and output or beside them; these
rules give every call the one convention the lake holds (parts never exceed the whole; see
``pipelines.ingest.validate.TOKEN_PARTS``).
"""

from __future__ import annotations

from pipelines.ingest.formats.values import whole_number_sql


def bigint_sql(expr: str) -> str:
    """A token count from text that may read ``12``, ``12.0`` or ``1.2e3``; null for ``1.5`` (never rounded)."""
    return whole_number_sql(expr)


def count_errors_sql(counts: dict[str, str]) -> tuple[str, str]:
    """(field, reason) SQL naming the first of ``counts`` (field name -> SQL of its text) that is present but not a
    whole number >= 0, else null: the record is quarantined rather than its count read as 0 or rounded."""
    bad = {name: f"({text} is not null and coalesce({bigint_sql(text)} < 0, true))" for name, text in counts.items()}
    field = " ".join(f"when {cond} then '{name}'" for name, cond in bad.items())
    reason = " ".join(
        f"when {cond} then 'not a token count (a whole number >= 0): ' || left({counts[name]}, 40)" for name, cond in bad.items()
    )
    return f"(case {field} end)", f"(case {reason} end)"


def input_tokens_sql(reported: str, cached: str, write: str) -> str:
    """Input including cache reads and writes, whichever way the source counted.

    Sources that follow the convention already include them (then reads + writes <= input);
    when reads + writes exceed the reported input, the source counted uncached input only
    and the cache parts are added.
    """
    return (
        f"(case when coalesce({cached}, 0) + coalesce({write}, 0) > coalesce({reported}, 0) "
        f"then coalesce({reported}, 0) + coalesce({cached}, 0) + coalesce({write}, 0) "
        f"else coalesce({reported}, 0) end)"
    )


def output_tokens_sql(reported: str, reasoning: str) -> str:
    """Output including reasoning tokens (added when the source reported them separately)."""
    return (
        f"(case when coalesce({reasoning}, 0) > coalesce({reported}, 0) "
        f"then coalesce({reported}, 0) + coalesce({reasoning}, 0) else coalesce({reported}, 0) end)"
    )
