"""The sample organisation end to end: its planted drift is found on the right day with the right explanation,
its planted incident is one story, its normal days raise no drift event at all, and the digest tells both in
the words stored in ``golden/`` (golden text: a change to the wording is a change to this file, on purpose)."""

import json
import os
import re
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.db import frame, open_warehouse
from pipelines.ingest.pending import land_pending
from pipelines.reporting.digest import load_digest, render
from pipelines.run import build_days
from pipelines.sample import SampleSpec, generate
from pipelines.settings import load_settings

GOLDEN = Path(__file__).parent / "golden"
# No drift settings: at 2,000 calls a day (~$20 a day) the default money floor, 1 % of the organisation's usual
# daily spend, is what finds the planted changes (the old fixed $1 floor had to be lowered here by hand).
CONFIG = """
budgets:
  - {name: org-monthly, limit_usd: 500}
  - {name: summarise-daily, limit_usd: 3, period: daily, scope: feature, value: summarise}
"""


def drift_text(settings, day: date) -> str:
    """The digest's headline line and its drift section, as the plain-text part shows them."""
    text = render(load_digest(settings, day), "digest.txt.j2")
    spent = next(line for line in text.splitlines() if line.startswith("Spent "))
    section = re.search(r"\nDrift:\n(.*?)\n\n(?=\S)", text, re.S)
    return spent + "\n\nDrift:\n" + (section.group(1) if section else "(none)") + "\n"


def golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TOKENBOOKS_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed; TOKENBOOKS_UPDATE_GOLDEN=1 rewrites it"


def test_planted_drift_found_and_normal_days_quiet(home):
    (home.home / "tokenbooks.yaml").write_text(CONFIG)
    settings = load_settings(home=home.home)
    generate(settings.landing, SampleSpec(days=30, calls_per_day=2000, seed=7))
    truth = json.loads((settings.landing / "ground_truth.json").read_text())
    landed = land_pending(settings)
    assert not [r.error for r in landed if r.error]
    days = sorted({d for r in landed for d in r.days})
    result = build_days(settings, date.fromisoformat(days[0]), date.fromisoformat(days[-1]), with_digest=False,
                        dagster_instance=dg.DagsterInstance.ephemeral())
    assert result.success

    drift = truth["drift"]
    first = date.fromisoformat(drift["first_day"])
    incidents = sorted(date.fromisoformat(d) for d in truth["org"]["incident_days"])
    con = open_warehouse(settings)
    events = frame(con, "select * from drift_events order by day").to_dicts()
    budgets = frame(con, "select * from budget_status")
    con.close()

    subject = f"{drift['app']}/{drift['feature']}"
    onset = [e for e in events if e["story"] == subject and e["is_new"]]
    assert onset and {e["day"] for e in onset} == {first}
    tokens = next(e for e in onset if e["metric"] == "input_tokens_per_request" and e["subject"] == subject)
    assert tokens["new_prompt_version"] == drift["prompt_version"] and tokens["new_prompt_since"] == first
    assert f"since prompt {drift['prompt_version']} ({first:%m-%d})" in tokens["explanation"]
    assert abs(tokens["change_pct"] - drift["input_tokens_change_pct"]) < 15
    # The prompt change is one story on its day: the feature's app and model findings are told with it...
    assert {e["story"] for e in events if e["day"] == first} == {subject}
    # ...and while it lasts it is the same story, never a new one.
    assert all(not e["is_new"] and e["onset_day"] == first for e in events if e["story"] == subject and e["day"] > first)

    # The planted incident (billed retries the app never logged) is one story that starts on its first day.
    incident = {e["story"] for e in events if e["day"] == incidents[0]}
    assert incident == {f"support-bot/{truth['org']['retry_feature']}"}
    assert any(e["metric"] == "unattributed_share" for e in events if e["day"] in incidents)
    # Every other day raises nothing new: the measured false-alarm rate on normal days is zero.
    new_elsewhere = [e for e in events if e["is_new"] and e["day"] not in (first, incidents[0])]
    assert new_elsewhere == []
    related = {subject, drift["app"], f"openai/{drift['model']}", "all"}
    assert {e["subject"] for e in events if e["day"] >= first} <= related

    golden("incident-day.txt", drift_text(settings, incidents[0]))
    golden("incident-second-day.txt", drift_text(settings, incidents[1]))
    golden("prompt-change-day.txt", drift_text(settings, first))

    assert budgets.height == 2 * 30 and set(budgets["status"]) <= {"ok", "at_risk", "over"}
