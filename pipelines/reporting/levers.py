"""The digest's output-ceiling and runaway-session sections, from mart_output_ceilings and mart_sessions.

Same rules as ``sections.py``: the queries are ``models/reports/digest_*.sql``; the period, its comparison days and
the audience are bound parameters; nothing from the data is formatted into SQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipelines.reporting.sections import query, rows

# A feature is shown when most of its calls set no cap and a cap at its p99 would save at least a cent, or when
# its output p95 rose by RISING or more against the comparison days (the median of their p95s).
UNCAPPED = 0.5
RISING = Decimal("1.2")


def output_ceilings(con, p: dict[str, Any], limit: int = 6) -> list[dict[str, Any]]:
    """Features with no cap or a rising output p95, with what capping at the feature's p99 would have saved (a
    what-if at list output prices; whether shorter answers would still do is not assessed). A feature's p95 on
    a day is its largest model's p95 (mart rows are per model); over a week, the week's highest."""
    found = rows(con, query("digest_output_ceilings"), p)
    out = []
    for r in found:
        before = r["previous_p95_tokens"]
        r["rising"] = bool(before and r["output_p95_tokens"] and Decimal(r["output_p95_tokens"]) >= RISING * Decimal(before))
        r["uncapped"] = r["uncapped_share"] >= UNCAPPED
        if r["rising"] or (r["uncapped"] and r["saving_usd"] >= Decimal("0.01")):
            out.append(r)
    return out[:limit]


def runaway_sessions(con, p: dict[str, Any], limit: int = 5) -> list[dict[str, Any]]:
    """The period's runaway sessions (mart_sessions.is_runaway), the costliest first, with their share of their
    feature's day."""
    return rows(con, query("digest_runaway_sessions"), {**p, "limit": limit})
