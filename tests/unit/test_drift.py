"""Drift detection: the decomposition adds up exactly, the baseline ignores weekends and noise, and a planted
prompt change is found on its first day with the right explanation (synthetic points; the generated sample
organisation is tested end to end in tests/pipeline/test_drift_sample.py)."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.monitoring.baseline import baseline
from pipelines.monitoring.decompose import Mix, decompose
from pipelines.monitoring.drift import DriftConfig, detect
from pipelines.monitoring.series import collect

START = date(2026, 10, 1)  # a Thursday
MODELS = [("openai", "gpt-4.1"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-haiku-4-5")]


def mix(rows: dict, other: str = "0") -> Mix:
    m = Mix(other=Fraction(Decimal(other)))
    for key, (calls, tokens, cost) in rows.items():
        m.calls[key], m.tokens[key], m.cost[key] = Fraction(calls), Fraction(tokens), Fraction(Decimal(cost))
    return m


def test_pure_volume_change_is_all_volume():
    e = decompose(mix({MODELS[0]: (100, 1000, "10")}), mix({MODELS[0]: (150, 1500, "15")}))
    assert e.volume == Decimal("5") and e.tokens == e.price == e.mix == e.other == 0


def test_longer_prompts_are_tokens_and_a_switch_is_mix():
    e = decompose(mix({MODELS[0]: (100, 1000, "10")}), mix({MODELS[0]: (100, 1350, "13.5")}))
    assert e.tokens == Decimal("3.5") and e.volume == e.price == e.mix == 0
    # half the calls move to a model four times cheaper per token, same tokens per call
    e = decompose(mix({MODELS[0]: (100, 1000, "10")}),
                  mix({MODELS[0]: (50, 500, "5"), MODELS[1]: (50, 500, "1.25")}))
    assert e.mix == Decimal("-3.75") and e.total == Decimal("-3.75")


money = st.decimals(min_value=0, max_value=10_000, places=12, allow_nan=False, allow_infinity=False)
model_rows = st.dictionaries(
    st.sampled_from(MODELS),
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**9), money),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(model_rows, model_rows, money, money)
def test_effects_add_up_exactly(before, after, other0, other1):
    """Volume + tokens + price + mix + unattributed = the change, to the last of 12 decimals, whatever the mix:
    models appearing and disappearing, calls without tokens, spend without calls."""
    b = mix({k: (c, t, str(v)) for k, (c, t, v) in before.items()}, str(other0))
    a = mix({k: (c, t, str(v)) for k, (c, t, v) in after.items()}, str(other1))
    e = decompose(b, a)
    expected = sum((v for *_, v in after.values()), Decimal(0)) + other1 - sum(
        (v for *_, v in before.values()), Decimal(0)) - other0
    assert e.total == expected


def weekly(day: date, weekday: float, weekend: float) -> Decimal:
    return Decimal(str(weekend if day.weekday() >= 5 else weekday))


def test_weekends_are_compared_with_weekends():
    days = [START + timedelta(days=i) for i in range(28)]
    history = {d: weekly(d, 100, 40) for d in days}
    saturday = next(d for d in (START + timedelta(days=28 + i) for i in range(7)) if d.weekday() == 5)
    b = baseline(history, saturday, seasonal=True)
    assert b.value == Decimal(40)
    monday = next(d for d in (START + timedelta(days=28 + i) for i in range(7)) if d.weekday() == 0)
    assert baseline(history, monday, seasonal=True).value == Decimal(100)


def test_one_odd_day_does_not_move_the_median():
    days = [START + timedelta(days=i) for i in range(14)]
    history = {d: Decimal(100) for d in days}
    history[days[5]] = Decimal(10_000)
    assert baseline(history, START + timedelta(days=14)).value == Decimal(100)


# ---- synthetic points: a small organisation, one feature's prompt gets 35 % longer on DRIFT ----

DRIFT = START + timedelta(days=24)
FEATURES = {
    # feature: (app, model, calls per weekday, input median, output median, price per M input, per M output)
    "summarise": ("sales", MODELS[0], 400, 8000, 600, 2.0, 8.0),
    "triage": ("support", MODELS[1], 1500, 1500, 60, 0.15, 0.6),
    "tiny": ("support", MODELS[2], 40, 500, 50, 1.0, 5.0),
}


def synthetic_points(days: int = 35, seed: int = 3, drift: date | None = DRIFT, scale: float = 1.0) -> pl.DataFrame:
    """``scale`` multiplies every feature's calls: 0.1 is an organisation spending ~$1.50 a day."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(days):
        day = START + timedelta(days=i)
        for feature, (app, (provider, model), calls, inp, out, p_in, p_out) in FEATURES.items():
            n = int(rng.poisson(calls * scale * (0.4 if day.weekday() >= 5 else 1.0)))
            longer = 1.35 if drift and feature == "summarise" and day >= drift else 1.0
            tokens_in = np.round(rng.lognormal(np.log(inp * longer), 0.4, n))
            tokens_out = np.round(rng.lognormal(np.log(out), 0.5, n))
            cost = (tokens_in * p_in + tokens_out * p_out) / 1e6
            errors = int(rng.binomial(n, 0.02))
            version = f"{feature}@v7" if longer > 1 else f"{feature}@v6"
            base = {
                "day": day, "provider": provider, "model": model, "prompt_version": None,
                "requests": n, "failed_requests": errors, "retried_requests": errors // 2,
                "cache_hit_requests": int(n * 0.3), "input_tokens": int(tokens_in.sum()),
                "output_tokens": int(tokens_out.sum()),
                "cost_usd": Decimal(str(round(float(cost.sum()), 9))), "unattributed_cost_usd": Decimal(0),
                "requests_sq": float(n), "cost_sq": float((cost**2).sum()), "cost_x_requests": float(cost.sum()),
                "input_sq": float((tokens_in**2).sum()), "input_x_requests": float(tokens_in.sum()),
                "output_sq": float((tokens_out**2).sum()), "output_x_requests": float(tokens_out.sum()),
            }
            for scope, keys in (("total", {}), ("app", {"app": app}), ("feature", {"app": app, "feature": feature}),
                                ("tenant", {"tenant_id": f"t-{feature}"})):
                rows.append({**base, "scope": scope, "app": None, "feature": None, "tenant_id": None, **keys})
            rows.append({**base, "scope": "prompt", "app": app, "feature": feature, "tenant_id": None,
                         "provider": None, "model": None, "prompt_version": version})
    frame = pl.DataFrame(rows)
    # the org-level rows are sums over features
    return frame


def run(points: pl.DataFrame, day: date, cfg: DriftConfig = DriftConfig(), previous: dict | None = None) -> list[dict]:
    days = sorted(set(points["day"].to_list()))
    h = collect(points.filter(pl.col("day") <= day), [d for d in days if d <= day])
    weights = {MODELS[0]: (Decimal(2), Decimal(8)), MODELS[1]: (Decimal("0.15"), Decimal("0.6"))}
    return detect(h, day, cfg, weights, previous)


def carried(events: list[dict]) -> dict:
    """What monitor_day hands the next day: (scope, subject, metric) -> (onset, sign, story)."""
    return {(e["scope"], e["subject"], e["metric"]): (e["onset_day"], 1 if e["observed"] > e["baseline"] else -1,
                                                      (e["story_scope"], e["story"])) for e in events}


def test_planted_prompt_change_is_found_on_its_first_day_and_explained():
    points = synthetic_points()
    events = run(points, DRIFT)
    feature = [e for e in events if e["scope"] == "feature"]
    assert {e["subject"] for e in feature} == {"sales/summarise"}
    tokens = next(e for e in feature if e["metric"] == "input_tokens_per_request")
    assert 25 < tokens["change_pct"] < 45
    assert tokens["new_prompt_version"] == "summarise@v7" and tokens["new_prompt_since"] == DRIFT
    assert tokens["explanation"].startswith("sales/summarise: input tokens per call ")
    assert f"(+{round(tokens['change_pct'])} %) since prompt summarise@v7 ({DRIFT:%m-%d})." in tokens["explanation"]
    assert tokens["is_new"] and tokens["onset_day"] == DRIFT
    # The feature, its app, its model and the organisation moved together: one story, told from the feature.
    assert {e["story"] for e in events} == {"sales/summarise"} and {e["scope"] for e in events} >= {"app", "model"}
    assert all(e["driver"] == "sales/summarise" for e in events if e["scope"] != "feature")
    for e in events:  # the five effects add up to the subject's change in spend, exactly
        effects = sum(e[k] for k in ("volume_effect_usd", "tokens_effect_usd", "price_effect_usd", "mix_effect_usd",
                                     "unattributed_effect_usd"))
        assert effects == e["cost_observed_usd"] - e["cost_baseline_usd"]
        assert abs(e["tokens_effect_usd"]) >= abs(e["volume_effect_usd"])


def test_normal_days_raise_nothing_weekends_included():
    points = synthetic_points(drift=None, days=49)
    events = [e for d in range(14, 49) for e in run(points, START + timedelta(days=d))]
    assert events == []


def test_a_tiny_feature_doubling_does_not_page():
    points = synthetic_points(drift=None)
    last = START + timedelta(days=34)
    doubled = points.with_columns(
        pl.when((pl.col("day") == last) & (pl.col("feature") == "tiny"))
        .then(pl.col("input_tokens") * 2).otherwise(pl.col("input_tokens")).alias("input_tokens"))
    assert not [e for e in run(doubled, last) if e["subject"] == "support/tiny"]


def test_a_persisting_change_is_one_story_with_its_first_day():
    points = synthetic_points()
    first = run(points, DRIFT)
    second = run(points, DRIFT + timedelta(days=1), previous=carried(first))
    assert second and {e["story"] for e in second} == {"sales/summarise"}
    assert {(e["onset_day"], e["is_new"]) for e in second} == {(DRIFT, False)}


def test_sensitivity_scales_with_the_organisation():
    """At half the volume (~$4.70 a day) the prompt change moves ~$0.60 a day: clear of the day's noise, but
    under the fixed $1 floor it was never reported; the floor is now 1 % of the organisation's usual spend."""
    points = synthetic_points(scale=0.5)
    events = run(points, DRIFT)
    assert {e["story"] for e in events if e["is_new"]} == {"sales/summarise"}
    assert all(abs(e["effect_usd"]) < 1 for e in events)


def test_a_small_organisations_normal_days_raise_nothing_weekends_included():
    points = synthetic_points(drift=None, days=49, scale=0.2)
    events = [e for d in range(14, 49) for e in run(points, START + timedelta(days=d))]
    assert events == []
