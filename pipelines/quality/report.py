"""Small renderers for check results shown in the Dagster UI."""

from __future__ import annotations

from typing import Any

MAX_CELL = 60


def markdown_table(rows: list[dict[str, Any]], limit: int = 20) -> str:
    """Rows (dicts) as a Markdown table; the columns are the union of the rows' keys, in first-seen order."""
    if not rows:
        return "_none_"
    columns = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows[:limit]:
        lines.append("| " + " | ".join(_cell(r.get(c)) for c in columns) + " |")
    if len(rows) > limit:
        lines.append(f"\n… {len(rows) - limit} more")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
