"""The digest's spend chart: a PNG drawn with matplotlib (Agg, no display), for mail clients.

Gmail and Outlook drop scripts, SVG and ``data:`` URIs but show a PNG attached to the message and referenced
as ``cid:…``, so the chart is a PNG. It shows spend per day (or week), stacked by app (the largest five, the
rest as "other"), weekends shaded, the budget's daily (or weekly) pace as a line, and dated, labelled axes.
Money is Decimal everywhere else; it becomes float here only to be drawn.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any


WIDTH_PX, HEIGHT_PX, DPI = 600, 240, 200  # drawn at 2x for sharp phone screens, shown at WIDTH_PX
MAX_APPS = 5
COLOURS = ["#0969da", "#54aeff", "#1a7f37", "#bf8700", "#8250df", "#8c959f"]
WEEKEND = "#eaeef2"
BUDGET = "#cf222e"


@dataclass(frozen=True)
class BudgetLine:
    label: str  # "budget total: $166.67/day"
    usd: Decimal  # per bar (day or week)


def stacks(trend: Sequence[dict[str, Any]]) -> dict[str, list[Decimal]]:
    """app -> its spend per bar, largest first: every app when they fit the palette, else the largest MAX_APPS
    and the rest summed as 'other'."""
    totals: dict[str, Decimal] = {}
    for t in trend:
        for app, v in t["by_app"].items():
            totals[app] = totals.get(app, Decimal(0)) + v
    ranked = sorted(totals, key=lambda a: (-totals[a], a))
    keep = ranked if len(ranked) <= len(COLOURS) else ranked[:MAX_APPS]
    out = {app: [t["by_app"].get(app, Decimal(0)) for t in trend] for app in keep}
    rest = [a for a in ranked if a not in keep]
    if rest:
        out["other"] = [sum((t["by_app"].get(a, Decimal(0)) for a in rest), Decimal(0)) for t in trend]
    return out


def _usd(v: float, _pos=None) -> str:
    return f"${v:,.0f}" if v >= 10 else f"${v:,.2f}"


def spend_png(trend: Sequence[dict[str, Any]], weekly: bool = False, budget: BudgetLine | None = None) -> bytes:
    """The stacked spend chart; ``trend`` rows have ``label`` (a date: the day, or the week's first day) and
    ``by_app`` (app -> spend)."""
    # matplotlib is imported when a chart is drawn, not with the code location: 1.5 s of every run's start.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(WIDTH_PX * 2 / DPI, HEIGHT_PX * 2 / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels: list[date] = [t["label"] for t in trend]
    x = list(range(len(labels)))
    if not weekly:
        for i, d in enumerate(labels):
            if d.weekday() >= 5:
                ax.axvspan(i - 0.5, i + 0.5, color=WEEKEND, zorder=0, lw=0)
    bottom = [0.0] * len(x)
    for colour, (app, values) in zip(COLOURS, stacks(trend).items()):
        heights = [float(v) for v in values]
        ax.bar(x, heights, bottom=bottom, width=0.7, color=colour, label=app, zorder=2)
        bottom = [b + h for b, h in zip(bottom, heights)]
    if budget is not None:
        ax.axhline(float(budget.usd), color=BUDGET, lw=1.2, ls="--", zorder=3, label=budget.label)
    ax.set_xticks(x)
    ax.set_xticklabels([f"wk {d:%m-%d}" if weekly else f"{d:%a}\n{d:%m-%d}" for d in labels], fontsize=6)
    ax.set_xlim(-0.6, len(x) - 0.4)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax.tick_params(axis="y", labelsize=6)
    ax.set_ylabel("spend per week (USD)" if weekly else "spend per day (USD)", fontsize=6.5)
    ax.set_ylim(bottom=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#d0d7de", lw=0.5, zorder=1)
    ax.set_axisbelow(True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=5.5, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout(pad=0.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
