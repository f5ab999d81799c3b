"""`tokenbooks doctor`: what stands between the bill and full attribution, ranked by dollars.

Read from the warehouse after a build, over a range of days:

- models the data could not resolve (a deployment, proxy model group or inference profile name that neither
  another source of the same call nor the bill's own lines tie to a model): their calls have no list price and
  so take no share of the bill; the fix is one ``model_aliases`` line;
- bill owners no app is linked to (no ``owners:`` line, no app-naming tag on the bill's lines);
- coverage per provider, model and owner, with the reason of the gap;
- channels that delivered the same usage, and which one stands;
- calls merged without a shared id.

Every finding names the config line that would resolve it where one would. ``--strict`` fails while an
unresolved model or an unowned unattributed dollar remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

from pipelines.db import frame

UNRESOLVED_MODELS = """
    with calls as (
        select provider, model, model_raw, day, count(*) as calls,
        from fct_llm_calls
        -- an endpoint's calls carry its hourly cost (mart_endpoints), no list price: nothing to alias or price
        where day between $start and $end and not is_priced and status <> 'rate_limited' and not response_cache_hit
          and endpoint is null
        group by all
    ),
    provider_gap as (
        select day, provider, sum(unattributed_cost_usd) as unattributed_usd
        from fct_reconciliation where day between $start and $end group by all
    )
    select calls.provider, calls.model, min(calls.model_raw) as model_raw, sum(calls.calls) as calls,
           count(distinct calls.day) as days, coalesce(sum(provider_gap.unattributed_usd), 0) as unattributed_usd,
    from calls left join provider_gap using (day, provider)
    group by all
    order by unattributed_usd desc, calls desc
"""
UNOWNED = """
    select provider, unattributed_owner as owner, string_agg(distinct gap_reason, ', ' order by gap_reason) as reasons,
           sum(unattributed_cost_usd) as unattributed_usd,
    from fct_reconciliation
    where day between $start and $end and owner_app is null and unattributed_cost_usd > 0
    group by all
    having sum(unattributed_cost_usd) >= 0.005
    order by unattributed_usd desc
"""
COVERAGE = """
    select provider, model, owner, owner_app, sum(billed_cost_usd) as billed_usd,
           sum(attributed_cost_usd) as attributed_usd, sum(unattributed_cost_usd) as unattributed_usd,
           case when sum(billed_cost_usd) > 0 then sum(attributed_cost_usd) / sum(billed_cost_usd) end as coverage,
           arg_max(gap_reason, abs(unattributed_cost_usd)) as gap_reason,
    from fct_reconciliation
    where day between $start and $end
    group by all
    order by unattributed_usd desc, billed_usd desc
"""
CHANNELS = """
    with per_channel as (
        select provider, model, channel, min(channel_rank) as channel_rank, bool_or(stands) as stands,
               max(abs(tokens_vs_standing)) as token_difference, count(distinct day) as days,
        from fct_usage_channels
        where day between $start and $end and channels > 1
        group by all
    )
    select provider, model,
           string_agg(channel || case when stands then ' (stands)' else '' end, ', ' order by channel_rank, channel)
               as channels,
           max(token_difference) as max_token_difference, max(days) as days,
    from per_channel
    group by all
    order by provider, model
"""
MERGED = """
    select sources, count(*) as calls
    from fct_llm_calls
    where day between $start and $end and merged_without_id
    group by all
    order by calls desc
"""
TOTALS = """
    select coalesce(sum(billed_cost_usd), 0) as billed_usd, coalesce(sum(attributed_cost_usd), 0) as attributed_usd,
           coalesce(sum(unattributed_cost_usd), 0) as unattributed_usd
    from fct_reconciliation where day between $start and $end
"""


@dataclass
class Diagnosis:
    start: date
    end: date
    totals: dict[str, Decimal]
    unresolved_models: list[dict[str, Any]] = field(default_factory=list)
    unowned: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    merged_without_id: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unresolved(self) -> bool:
        """Something the config can resolve and has not: what ``--strict`` fails on."""
        return bool(self.unresolved_models or self.unowned)

    def short(self, limit: int = 3) -> list[str]:
        """A few lines for the digest's unattributed section."""
        lines = [f"{r['provider']}/{r['model']}: {r['calls']:,} calls with no price — "
                 f"add {alias_line(r)} to tokenbooks.yaml" for r in self.unresolved_models[:limit]]
        lines += [f"${r['unattributed_usd']:,.2f} billed to {r['provider']} {r['owner']} names no app — "
                  f"add {owner_line(r)}" for r in self.unowned[:limit]]
        return lines


def alias_line(row: dict[str, Any]) -> str:
    return f'model_aliases: {{"{row["model_raw"] or row["model"]}": <the model it serves>}}'


def owner_line(row: dict[str, Any]) -> str:
    owner = str(row["owner"]).split(", ")[0]
    return f'owners: {{"{owner}": {{app: <app>}}}}'


def diagnose(con: duckdb.DuckDBPyConnection, start: date, end: date) -> Diagnosis:
    p = {"start": start, "end": end}
    rows = lambda sql: frame(con, sql, p).to_dicts()  # noqa: E731
    return Diagnosis(
        start=start, end=end, totals=rows(TOTALS)[0], unresolved_models=rows(UNRESOLVED_MODELS),
        unowned=rows(UNOWNED), coverage=rows(COVERAGE), channels=rows(CHANNELS), merged_without_id=rows(MERGED),
    )


def render(d: Diagnosis, coverage_rows: int = 15) -> str:
    t = d.totals
    share = (t["attributed_usd"] / t["billed_usd"] * 100) if t["billed_usd"] else Decimal(0)
    out = [f"tokenbooks doctor — {d.start} .. {d.end}: billed ${t['billed_usd']:,.2f}, attributed "
           f"${t['attributed_usd']:,.2f} ({share:.1f} %), unattributed ${t['unattributed_usd']:,.2f}", ""]
    out.append("1. Models the data does not resolve (their calls have no price, so no share of the bill)")
    out += [f"   ${r['unattributed_usd']:>10,.2f} unattributed at {r['provider']} those days   {r['provider']}/{r['model']}: "
            f"{r['calls']:,} calls on {r['days']} day(s)\n      fix: {alias_line(r)}" for r in d.unresolved_models] \
        or ["   none: every logged model is resolved and priced"]
    out.append("2. Bill owners no app is linked to (unattributed dollars with no app to show them to)")
    out += [f"   ${r['unattributed_usd']:>10,.2f}  {r['provider']} {r['owner']} ({r['reasons']})\n      fix: {owner_line(r)}"
            for r in d.unowned] or ["   none: every unattributed dollar has an app"]
    out.append(f"3. Coverage per provider, model and owner (the {coverage_rows} largest gaps)")
    for r in d.coverage[:coverage_rows]:
        cov = f"{r['coverage'] * 100:5.1f} %" if r["coverage"] is not None else "    —  "
        out.append(f"   {cov}  ${r['unattributed_usd']:>10,.2f} of ${r['billed_usd']:>10,.2f}  "
                   f"{r['provider']}/{r['model']} {r['owner']}{' → ' + r['owner_app'] if r['owner_app'] else ''}"
                   f"  [{r['gap_reason']}]")
    out.append("4. Usage delivered by more than one channel (counted once: the first listed stands)")
    out += [f"   {r['provider']}/{r['model']}: {r['channels']}; largest token difference {r['max_token_difference']:,} "
            f"over {r['days']} day(s)" for r in d.channels] or ["   none"]
    out.append("5. Calls merged without a shared id (same provider, model, tokens; starts within 2 s)")
    out += [f"   {r['calls']:,} calls seen by {r['sources']}" for r in d.merged_without_id] or ["   none"]
    return "\n".join(out) + "\n"
