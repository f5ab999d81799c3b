"""The sample organisation end to end: its planted drift is found on the right day with the right explanation,
its planted incident shows up, and its normal days raise no drift event at all."""

import json
from datetime import date

import dagster as dg

from pipelines.db import frame, open_warehouse
from pipelines.ingest.pending import land_pending
from pipelines.sample import SampleSpec, generate
from pipelines.settings import load_settings
from pipelines.warehouse.run import build_days

# At 2,000 calls a day the sample spends ~$20 a day: the planted drift moves about $1 a day, so the
# materiality floor is set at $0.50 (the default, $1 or 0.5 % of daily spend, suits the 5,000-call demo).
CONFIG = """
drift:
  min_effect_usd: 0.5
budgets:
  - {name: org-monthly, limit_usd: 500}
  - {name: summarise-daily, limit_usd: 3, period: daily, scope: feature, value: summarise}
"""


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
    incidents = {date.fromisoformat(d) for d in truth["org"]["incident_days"]}
    con = open_warehouse(settings)
    events = frame(con, "select * from drift_events order by day").to_dicts()
    budgets = frame(con, "select * from budget_status")
    con.close()

    subject = f"{drift['app']}/{drift['feature']}"
    onset = [e for e in events if e["subject"] == subject and e["is_new"]]
    assert onset and {e["day"] for e in onset} == {first}
    tokens = next(e for e in onset if e["metric"] == "input_tokens_per_request")
    assert tokens["new_prompt_version"] == drift["prompt_version"] and tokens["new_prompt_since"] == first
    assert f"since prompt {drift['prompt_version']} on {first:%m-%d}" in tokens["explanation"]
    assert "tokens per call +" in tokens["explanation"]
    assert abs(tokens["change_pct"] - drift["input_tokens_change_pct"]) < 15

    # The planted incident (billed retries the app never logged) is seen on its days...
    assert any(e["day"] in incidents and e["metric"] == "unattributed_share" for e in events)
    # ...and every other day raises nothing: the measured false-alarm rate on normal days is zero.
    normal = [e for e in events if e["day"] not in incidents and e["day"] < first]
    assert normal == []
    related = {subject, drift["app"], f"openai/{drift['model']}", "all"}
    assert {e["subject"] for e in events if e["day"] >= first} <= related

    assert budgets.height == 2 * 30 and set(budgets["status"]) <= {"ok", "at_risk", "over"}
