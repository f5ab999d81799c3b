"""OpenAI's other channels for the same facts: the dashboard's CSV exports, and a restated Costs API page.

The dashboard exports (taken the morning after the period, so the last bucket is an empty day)
cover every day of the period in one file per kind, grouped by project, model and batch only
(no API key), counts written as floats, booleans ``TRUE``/``FALSE``. They repeat what the Usage
and Costs API pages already say: two channels, one set of facts.

The restatement: one day's Costs API page landed again three days later, complete, with one line
moved to another project. The first delivery (``costs-D.json``) had that line under the wrong
project; the restated one (``costs-D.restated-D+3.json``, a name that sorts after it, written
after it, file time three days later) is the truth, and nothing of the first delivery still counts.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from pipelines.sample.exports import OpenAIDay, _day_bounds
from pipelines.sample.orgs import ALL_OWNERS, OWNER_INDEX

USAGE_COLUMNS = {
    "completions": ["start_time", "end_time", "start_time_iso", "end_time_iso", "project_id", "num_model_requests",
                    "user_id", "api_key_id", "model", "batch", "service_tier", "input_tokens", "output_tokens",
                    "input_cached_tokens", "input_uncached_tokens", "input_text_tokens", "output_text_tokens",
                    "input_cached_text_tokens", "input_audio_tokens", "input_cached_audio_tokens",
                    "output_audio_tokens", "input_image_tokens", "input_cached_image_tokens", "output_image_tokens"],
    "embeddings": ["start_time", "end_time", "start_time_iso", "end_time_iso", "project_id", "num_model_requests",
                   "user_id", "api_key_id", "model", "input_tokens"],
}
COST_COLUMNS = ["start_time", "end_time", "start_time_iso", "end_time_iso", "amount_value", "amount_currency",
                "line_item", "project_id", "organization_id", "organization_name"]
ORGANIZATION = ("org-7Hk2mQ9sLx3Vb1Nc", "Example Corp")
COUNTS = ["num_model_requests", "input_tokens", "output_tokens", "input_cached_tokens"]


def _bucket(day: date) -> dict[str, str]:
    start, end = _day_bounds(day)
    return {"start_time": str(start), "end_time": str(end), "start_time_iso": f"{day.isoformat()}T00:00:00+00:00",
            "end_time_iso": f"{(day + timedelta(days=1)).isoformat()}T00:00:00+00:00"}


class Dashboard:
    """Collects the period's Usage and Costs API results; writes them as the dashboard's exports."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {"completions": [], "embeddings": [], "cost": []}

    def add(self, day: date, results: OpenAIDay) -> None:
        for kind, items in (("completions", results.completions), ("embeddings", results.embeddings)):
            grouped: dict[tuple, dict] = {}
            for r in items:  # the dashboard groups by project, model, batch: keys and users are summed away
                g = grouped.setdefault((r["project_id"], r["model"], r.get("batch")), {c: 0 for c in COUNTS})
                for c in COUNTS:
                    g[c] += r.get(c, 0)
            for (project, model, batch), sums in sorted(grouped.items(), key=lambda kv: (*kv[0][:2], bool(kv[0][2]))):
                row = {**_bucket(day), "project_id": project, "model": model, "user_id": "", "api_key_id": "",
                       **{c: f"{float(v):.1f}" for c, v in sums.items()}}
                if kind == "completions":
                    uncached = sums["input_tokens"] - sums["input_cached_tokens"]
                    row.update(batch="TRUE" if batch else "FALSE", service_tier="default",
                               input_uncached_tokens=f"{float(uncached):.1f}", input_text_tokens=row["input_tokens"],
                               output_text_tokens=row["output_tokens"],
                               input_cached_text_tokens=row["input_cached_tokens"],
                               **{c: "0.0" for c in USAGE_COLUMNS["completions"][18:]})
                self.rows[kind].append(row)
        for c in results.costs:
            self.rows["cost"].append({**_bucket(day), "amount_value": c["amount"]["value"], "amount_currency": "usd",
                                      "line_item": c["line_item"], "project_id": c["project_id"],
                                      "organization_id": ORGANIZATION[0], "organization_name": ORGANIZATION[1]})

    def write(self, out: Path, first: date, last: date) -> list[Path]:
        folder = out / "openai" / "dashboard"
        folder.mkdir(parents=True, exist_ok=True)
        empty = _bucket(last + timedelta(days=1))  # exported the next morning: today's bucket is still empty
        paths = []
        for kind, columns in (*USAGE_COLUMNS.items(), ("cost", COST_COLUMNS)):
            name = f"{kind}_usage" if kind != "cost" else "cost"
            path = folder / f"{name}_{first.isoformat()}_{(last + timedelta(days=1)).isoformat()}.csv"
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=columns, restval="", extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.rows[kind] + [empty])
            path.write_text(buf.getvalue(), encoding="utf-8")
            paths.append(path)
        return paths


def restate(out: Path, day: date) -> dict:
    """Deliver ``day``'s Costs API page twice; the first with one line under the wrong project."""
    true_path = out / "openai" / f"costs-{day.isoformat()}.json"
    page = json.loads(true_path.read_text(encoding="utf-8"))
    results = page["data"][0]["results"]
    home, away = (ALL_OWNERS[OWNER_INDEX[k]].project_id for k in ("support-bot/openai", "sales-copilot/openai"))
    lines = [r for r in results if r["project_id"] == home and not r["line_item"].startswith("batch")]
    if not lines:
        return {}
    moved = max(lines, key=lambda r: Decimal(r["amount"]["value"]))  # the project's biggest line
    restated = out / "openai" / f"costs-{day.isoformat()}.restated-{(day + timedelta(days=3)).isoformat()}.json"
    restated.write_text(true_path.read_text(encoding="utf-8"), encoding="utf-8")
    moved["project_id"] = away
    true_path.write_text(json.dumps(page, indent=1) + "\n", encoding="utf-8")
    for path, late in ((true_path, 1), (restated, 3)):
        when = datetime.combine(day + timedelta(days=late), time(6), tzinfo=timezone.utc).timestamp()
        os.utime(path, (when, when))
    return {"day": day.isoformat(), "superseded_file": str(true_path.relative_to(out)),
            "restated_file": str(restated.relative_to(out)), "line_item": moved["line_item"],
            "project_in_superseded": away, "project_in_restated": home, "amount_usd": moved["amount"]["value"]}
