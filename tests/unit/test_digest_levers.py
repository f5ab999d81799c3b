"""The digest's "Output ceilings" and "Runaway sessions" sections, and the drift metrics behind them, on a small
real warehouse built by hand: an agent feature whose sessions run 4 steps and on the last day one session loops
for 120 steps; a summariser (named like an attack) with no cap, three very long answers a day and on the last
day answers twice as long; a tagger capped too tight as usual. Figures are the marts'."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from pipelines.ingest.land import land_file
from pipelines.monitoring.build import monitor_day
from pipelines.reporting.digest import load_digest, render, usd
from pipelines.settings import load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish
from tests.conftest import call, write_jsonl
from tests.unit.test_digest import warehouse

DAY = date(2026, 11, 10)
DAYS = 10
AGENT = "resolve"
EVIL = '<img src=x onerror="alert(1)">'
LOOP = 120


def agent_calls(day: date) -> list[dict]:
    out = []
    sessions = [(f"{day}-a{s}", 4) for s in range(12)] + ([(f"{day}-loop", LOOP)] if day == DAY else [])
    for sid, steps in sessions:
        for k in range(steps):
            out.append(call(call_id=f"{sid}-{k}", occurred_at=f"{day}T09:{k // 60:02d}:{k % 60:02d}Z", app="agents",
                            feature=AGENT, session_id=sid, user_id=f"u-{sid}", input_tokens=5000, output_tokens=200 + 40 * (k % 5),
                            parent_call_id=f"{sid}-{k - 1}" if k else None,
                            finish_reason="tool_calls" if k < steps - 1 else "stop"))
    return out


def summary_calls(day: date) -> list[dict]:
    grow = 2 if day == DAY else 1
    tokens = [(300 + 10 * (n % 10)) * grow for n in range(197)] + [20_000, 40_000, 60_000]
    return [call(call_id=f"{day}-m{n}", occurred_at=f"{day}T11:00:00Z", app="docs", feature=EVIL, user_id=f"m{n % 20}",
                 output_tokens=t, finish_reason="stop") for n, t in enumerate(tokens)]


def tagger_calls(day: date) -> list[dict]:
    # A cap of 60 tokens; a quarter of the answers would have run past it and are cut.
    return [call(call_id=f"{day}-t{n}", occurred_at=f"{day}T10:00:00Z", app="support", feature="tagger",
                 user_id=f"t{n}", output_tokens=60 if n % 4 == 0 else 20, max_output_tokens=60,
                 finish_reason="length" if n % 4 == 0 else "stop")
            for n in range(40)]


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    root = tmp_path_factory.mktemp("levers")
    settings = load_settings(home=root)
    settings.ensure_dirs()
    landing = root / "in"
    days = [DAY - timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
    for day in days:
        write_jsonl(landing / f"calls-{day}.jsonl", agent_calls(day) + summary_calls(day) + tagger_calls(day))
    for path in sorted(landing.iterdir()):
        assert land_file(path, settings).error is None
    for day in days:
        build_day(day, settings)
        monitor_day(day, settings)
    publish(settings)
    return settings


def test_runaway_sessions_show_with_their_steps_cost_and_share(org):
    d = load_digest(org, DAY)
    assert [r["session_key"] for r in d.runaways] == [f"{DAY}-loop"]
    r = d.runaways[0]
    cost, share = warehouse(org, "select cost_usd, feature_cost_share from mart_sessions where session_key = $s",
                            {"s": f"{DAY}-loop"})[0]
    assert (r["feature"], r["steps"], r["calls"], r["cost_usd"]) == (AGENT, LOOP, LOOP, cost)
    assert r["feature_cost_share"] == pytest.approx(share) and 0.6 < share < 0.8  # 120 of the day's 168 calls
    text = render(d, "digest.txt.j2")
    assert "Runaway sessions (1, costing " + usd(cost) + ")" in text
    assert f"session {DAY}-loop (11-10): 120 steps, 120 calls, {usd(cost)}" in text


def test_output_ceilings_show_the_uncapped_feature_and_its_saving(org):
    d = load_digest(org, DAY)
    rows = {r["feature"]: r for r in d.output_ceilings}
    # The tagger is capped; the agent sets no cap but a cap at its p99 would save nothing (no long tail).
    assert set(rows) == {EVIL}
    o = rows[EVIL]
    saving, p95 = warehouse(org, "select sum(whatif_cap_p99_saving_usd), max(output_p95_tokens) from mart_output_ceilings "
                                 "where day = $d and feature = $f", {"d": DAY, "f": EVIL})[0]
    # p99 of 200 calls is the 198th smallest (20,000 tokens): the two longer answers lose 20,000 + 40,000 tokens.
    assert saving == Decimal(60_000) * o["saving_usd"] / 60_000 and saving > Decimal("0.01")
    assert o["saving_usd"] == saving and o["uncapped_share"] == 1
    assert (o["output_p95_tokens"], o["previous_p95_tokens"], o["rising"]) == (p95, 390, True) and p95 == 780
    assert f"p95 780 (was 390), no cap on 100 %: would save {usd(saving)}" in render(d, "digest.txt.j2")


def test_hostile_feature_names_stay_escaped(org):
    html = render(load_digest(org, DAY))
    assert "Output ceilings" in html and "Runaway sessions" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "<img src=x" not in html


def test_sections_hide_when_empty(org):
    d = load_digest(org, DAY - timedelta(days=1))
    assert d.runaways == []
    text, html = render(d, "digest.txt.j2"), render(d)
    assert "Runaway sessions" not in text and "Runaway sessions" not in html


def test_the_loop_is_a_drift_event_on_calls_per_session(org):
    events = warehouse(org, "select subject, metric, baseline, observed from drift_events where day = $d "
                            "and metric in ('calls_per_session', 'truncation_rate', 'output_p95_tokens')", {"d": DAY})
    found = {(s, m): (b, o) for s, m, b, o in events}
    # Told at the feature, and at the organisation its story groups with it.
    base, observed = found[(f"agents/{AGENT}", "calls_per_session")]
    assert base == 4 and observed == (Decimal(12 * 4 + LOOP) / 13).quantize(Decimal("1e-12"))
    assert found[(f"docs/{EVIL}", "output_p95_tokens")] == (390, 780)
    # The tagger's truncation is its usual quarter: no event, nor on any day before.
    assert not warehouse(org, "select * from drift_events where metric = 'truncation_rate' or day < $d", {"d": DAY})
