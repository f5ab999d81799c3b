"""`tokenbooks doctor`: what stands between the bill and full attribution, ranked by dollars.

Read from the warehouse after a build, over a range of days (the queries: ``models/reports/doctor_*.sql``):

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
from pipelines.warehouse.models import query_sql


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
    rows = lambda name: frame(con, query_sql(f"doctor_{name}"), p).to_dicts()  # noqa: E731 - models/reports/doctor_*.sql
    return Diagnosis(
        start=start, end=end, totals=rows("totals")[0], unresolved_models=rows("unresolved_models"),
        unowned=rows("unowned"), coverage=rows("coverage"), channels=rows("channels"),
        merged_without_id=rows("merged_without_id"),
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
