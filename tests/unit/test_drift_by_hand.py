"""The drift arithmetic checked against figures worked out by hand: the Shapley split of a spend change and the
robust baseline. Expected values are literals; the working is in the comments, not in code."""

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from pipelines.monitoring.baseline import baseline
from pipelines.monitoring.decompose import Mix, _rounded, decompose

D = Decimal
A, B = ("openai", "gpt-4.1"), ("openai", "gpt-4o-mini")
# Effects are rounded to 12 decimals and the rounding residue (a few 1e-12) lands on one of them: compare with
# the hand-worked figures to within that, so the test does not depend on where the residue goes.
ROUNDING = D("5e-12")


def period(models: dict, other: str = "0") -> Mix:
    """models: key -> (calls, price-weighted tokens, spend in USD)."""
    m = Mix(other=Fraction(other))
    for key, (calls, tokens, cost) in models.items():
        m.calls[key], m.tokens[key], m.cost[key] = Fraction(calls), Fraction(tokens), Fraction(cost)
    return m


def close(actual: Decimal, expected: str) -> bool:
    return abs(actual - D(expected)) <= ROUNDING


def test_volume_tokens_and_price_change_together():
    """One model. Before: N = 100 calls, t = 1,000 tokens a call, p = $0.00001 a token -> $1, plus $0.50 of spend
    with no calls. After: N = 200, t = 1,500, p = $0.000012 -> $3.60, plus $0.70. The change is $2.80.

    With three factors changing, factor x's Shapley effect is Δx × (1/3·y0z0 + 1/6·(y1z0 + y0z1) + 1/3·y1z1)
    over the other two (y, z):
    - volume: 100 × (1/3·(1000·0.00001) + 1/6·(1500·0.00001 + 1000·0.000012) + 1/3·(1500·0.000012))
              = 100 × (0.01/3 + 0.027/6 + 0.018/3) = 100 × 0.0138333… = 1.383333…
    - tokens: 500 × (1/3·(100·0.00001) + 1/6·(200·0.00001 + 100·0.000012) + 1/3·(200·0.000012))
              = 500 × (0.001/3 + 0.0032/6 + 0.0024/3) = 500 × 0.0016666… = 0.833333…
    - price:  0.000002 × (1/3·(100·1000) + 1/6·(200·1000 + 100·1500) + 1/3·(200·1500))
              = 0.000002 × (100000/3 + 350000/6 + 300000/3) = 0.000002 × 191666.66… = 0.383333…
    - mix: one model, shares 1 and 1: 0.  Spend without calls: 0.70 − 0.50 = 0.20.
    1.383333… + 0.833333… + 0.383333… + 0.20 = 2.80.
    """
    e = decompose(period({A: (100, 100_000, "1")}, "0.5"), period({A: (200, 300_000, "3.6")}, "0.7"))
    assert close(e.volume, "1.383333333333")
    assert close(e.tokens, "0.833333333333")
    assert close(e.price, "0.383333333333")
    assert e.mix == 0 and e.other == D("0.2")
    assert e.total == D("2.8")


def test_volume_and_model_mix_change_together():
    """Before: 100 calls on A (1,000 tokens a call at $0.00001: $0.01 a call) -> $1. After: the same 100 on A plus
    100 on B (1,000 tokens a call at $0.0000025: $0.0025 a call) -> $1.25. Tokens per call and price per token of
    each model do not change; volume N goes 100 -> 200 and the shares (A, B) go (1, 0) -> (0.5, 0.5), so spend per
    call goes 0.01 -> 0.5·0.01 + 0.5·0.0025 = 0.00625. Two factors, each effect the mean of its two orders:
    - volume: ½ × (100 × 0.01 + 100 × 0.00625) = ½ × 1.625 = 0.8125
    - mix:    ½ × (100 × (0.00625 − 0.01) + 200 × (0.00625 − 0.01)) = ½ × (−0.375 − 0.75) = −0.5625
    0.8125 − 0.5625 = 0.25 = 1.25 − 1.
    """
    e = decompose(period({A: (100, 100_000, "1")}), period({A: (100, 100_000, "1"), B: (100, 100_000, "0.25")}))
    assert (e.volume, e.mix, e.tokens, e.price, e.other) == (D("0.8125"), D("-0.5625"), 0, 0, 0)


def test_effects_that_do_not_add_up_are_an_error_not_a_residue():
    """Rounding five effects and the total to 12 decimals can miss by a few 1e-12; a dollar missing is a bug."""
    exact = {"volume": Fraction(1, 3), "tokens": Fraction(2, 3), "price": Fraction(0), "mix": Fraction(0)}
    assert _rounded(exact, Fraction(1), Fraction(0)).total == 1
    with pytest.raises(ArithmeticError, match="do not add up"):
        _rounded({**exact, "volume": Fraction(4, 3)}, Fraction(1), Fraction(0))


DAY = date(2026, 11, 18)


def test_the_baseline_is_the_14_days_before_the_judged_day():
    """The judged day is 100 and in the history; the 7 days before it are 100, the 14 before those 200.
    The baseline rests on exactly the 14 days before the judged day: 7 × 100 and 7 × 200, median (100 + 200) / 2
    = 150. Every day is 50 away from it, so the MAD is 50 and the spread 1.4826 × 50 = 74.13.
    (With the judged day in the window: 8 × 100 and 6 × 200, median 100; with 13 days: 7 × 100 and 6 × 200,
    median 100; with 15: 7 × 100 and 8 × 200, median 200.)"""
    history = {DAY: D(100)}
    history |= {DAY - timedelta(days=i): D(100) for i in range(1, 8)}
    history |= {DAY - timedelta(days=i): D(200) for i in range(8, 22)}
    b = baseline(history, DAY)
    assert (b.value, b.spread, b.days) == (D(150), D("74.13"), 14)


def test_six_days_before_the_judged_day_are_not_enough():
    """Seven days of history are needed; the judged day itself does not count towards them."""
    history = {DAY - timedelta(days=i): D(100) for i in range(0, 7)}  # the judged day and 6 before it
    assert baseline(history, DAY) is None
    history[DAY - timedelta(days=7)] = D(100)
    assert baseline(history, DAY).days == 7
