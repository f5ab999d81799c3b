"""The digest's output-ceiling and runaway-session sections, from mart_output_ceilings and mart_sessions.

Same rules as ``sections.py``: the period, its comparison days and the audience are bound parameters; nothing
from the data is formatted into SQL.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipelines.reporting.sections import AUDIENCE, rows

# A feature is shown when most of its calls set no cap and a cap at its p99 would save at least a cent, or when
# its output p95 rose by RISING or more against the comparison days (the median of their p95s).
UNCAPPED = 0.5
RISING = Decimal("1.2")


def output_ceilings(con, p: dict[str, Any], limit: int = 6) -> list[dict[str, Any]]:
    """Features with no cap or a rising output p95, with what capping at the feature's p99 would have saved (a
    what-if at list output prices; whether shorter answers would still do is not assessed). A feature's p95 on
    a day is its largest model's p95 (mart rows are per model); over a week, the week's highest."""
    found = rows(con, f"""
        with m as (
            select * from mart_output_ceilings
            where (day between $start and $end or list_contains($cdays::date[], day)) and {AUDIENCE}
        ),
        daily as (
            select day, app, feature, max(output_p95_tokens) as p95 from m group by all
        ),
        before as (
            select app, feature, median(p95) as previous_p95_tokens
            from daily where list_contains($cdays::date[], day) group by all
        ),
        now as (
            select app, feature,
                   sum(calls) as calls,
                   sum(uncapped_share * calls) / sum(calls) as uncapped_share,
                   max(output_p95_tokens) as output_p95_tokens,
                   max(cap_p50_tokens) as cap_p50_tokens,
                   sum(truncated_calls) as truncated_calls,
                   max(cap_p99_tokens) as cap_p99_tokens,
                   coalesce(sum(whatif_cap_p99_saving_usd), 0) as saving_usd,
            from m where day between $start and $end group by all
        )
        select now.*, before.previous_p95_tokens
        from now
        left join before on before.app is not distinct from now.app and before.feature is not distinct from now.feature
        order by saving_usd desc, calls desc
    """, p)
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
    return rows(con, f"""
        select day, app, feature, session_key, session_kind, calls, steps, cost_usd, feature_cost_share,
               runaway_reason, count(*) over () as runaways, sum(cost_usd) over () as runaways_cost_usd,
        from mart_sessions
        where day between $start and $end and is_runaway and {AUDIENCE}
        order by cost_usd desc, day, session_key
        limit $limit
    """, {**p, "limit": limit})
