"""Split a change in spend into volume, tokens per call, price and model-mix effects that add up exactly.

Spend with calls is ``C = N · Σ_m s_m · t_m · p_m`` over models ``m``: ``N`` calls, ``s_m`` the share of
calls on model m, ``t_m`` price-weighted tokens per call (input and output tokens weighted by the model's
list prices, so longer prompts and longer answers count at what they cost), ``p_m`` spend per weighted token
(cache reads, batch discounts, negotiated prices and list-price changes all move it). Spend with no calls
(unattributed bills) is a fifth term.

The four effects are the Shapley values of switching each factor from before to after: every order of
switching is averaged, so the split does not depend on an arbitrary order, and the effects telescope to the
total change. Arithmetic is on exact fractions; only the final rounding to 12 decimals leaves a residue of
at most a few 1e-12, which goes to the largest effect so the rounded effects still add up exactly; a larger
residue is an error, never absorbed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from itertools import combinations
from math import factorial

Key = tuple[str, str]  # (provider, model)
FACTORS = ("volume", "mix", "tokens", "price")
Q = Decimal("1e-12")


@dataclass
class Mix:
    """One period's spend by model: calls, price-weighted tokens and spend per model, plus spend without calls."""

    calls: dict[Key, Fraction] = field(default_factory=dict)
    tokens: dict[Key, Fraction] = field(default_factory=dict)
    cost: dict[Key, Fraction] = field(default_factory=dict)
    other: Fraction = Fraction(0)

    @property
    def total(self) -> Fraction:
        return sum(self.cost.values(), Fraction(0)) + self.other

    def scaled(self, factor: Fraction) -> "Mix":
        return Mix(
            {k: v * factor for k, v in self.calls.items()},
            {k: v * factor for k, v in self.tokens.items()},
            {k: v * factor for k, v in self.cost.items()},
            self.other * factor,
        )


@dataclass(frozen=True)
class Effects:
    volume: Decimal
    tokens: Decimal
    price: Decimal
    mix: Decimal
    other: Decimal

    @property
    def total(self) -> Decimal:
        return self.volume + self.tokens + self.price + self.mix + self.other


def _factors(m: Mix, keys: list[Key]) -> tuple[Fraction, dict, dict, dict]:
    n = sum((m.calls.get(k, Fraction(0)) for k in keys), Fraction(0))
    s, t, p = {}, {}, {}
    for k in keys:
        calls, tokens, cost = m.calls.get(k, Fraction(0)), m.tokens.get(k, Fraction(0)), m.cost.get(k, Fraction(0))
        s[k] = calls / n if n else None
        t[k] = tokens / calls if calls else None
        p[k] = cost / tokens if tokens else None
    return n, s, t, p


def _fill(a: dict, b: dict) -> None:
    """Where one period lacks a model (or its tokens), borrow the other period's value: it is multiplied by a zero."""
    for k in a:
        if a[k] is None:
            a[k] = b[k] if b[k] is not None else Fraction(0)
        if b[k] is None:
            b[k] = a[k]


def decompose(before: Mix, after: Mix) -> Effects:
    keys = sorted(set(before.calls) | set(after.calls) | set(before.cost) | set(after.cost))
    before, after = _normalise(before, keys), _normalise(after, keys)
    for k in keys:
        # Spend on calls that carry no tokens (unknown sizes): count calls instead, in both periods alike.
        if any(m.calls.get(k) and not m.tokens.get(k) and m.cost.get(k) for m in (before, after)):
            for m in (before, after):
                if k in m.calls:
                    m.tokens[k] = m.calls[k]
    n0, s0, t0, p0 = _factors(before, keys)
    n1, s1, t1, p1 = _factors(after, keys)
    if not n0 and not n1:
        return _rounded({f: Fraction(0) for f in FACTORS}, after.total - before.total, after.other - before.other)
    if not n0:
        s0 = dict(s1)
    if not n1:
        s1 = dict(s0)
    for a, b in ((s0, s1), (t0, t1), (p0, p1)):
        _fill(a, b)
    levels = {"volume": (n0, n1), "mix": (s0, s1), "tokens": (t0, t1), "price": (p0, p1)}

    def spend(switched: frozenset[str]) -> Fraction:
        n = levels["volume"][1 if "volume" in switched else 0]
        s, t, p = (levels[f][1 if f in switched else 0] for f in ("mix", "tokens", "price"))
        return n * sum((s[k] * t[k] * p[k] for k in keys), Fraction(0))

    values = {}
    for r in range(len(FACTORS) + 1):
        for combo in combinations(FACTORS, r):
            values[frozenset(combo)] = spend(frozenset(combo))
    total_n = len(FACTORS)
    effects = {}
    for f in FACTORS:
        others = [g for g in FACTORS if g != f]
        acc = Fraction(0)
        for r in range(total_n):
            weight = Fraction(factorial(r) * factorial(total_n - r - 1), factorial(total_n))
            for combo in combinations(others, r):
                base = frozenset(combo)
                acc += weight * (values[base | {f}] - values[base])
        effects[f] = acc
    return _rounded(effects, after.total - before.total, after.other - before.other)


def _normalise(m: Mix, keys: list[Key]) -> Mix:
    """Spend on a model with no calls has nothing to split: it joins the spend without calls."""
    out = Mix(other=m.other)
    for k in keys:
        calls, cost = m.calls.get(k, Fraction(0)), m.cost.get(k, Fraction(0))
        if calls:
            out.calls[k], out.tokens[k], out.cost[k] = calls, m.tokens.get(k, Fraction(0)), cost
        else:
            out.other += cost
    return out


def _rounded(effects: dict[str, Fraction], total: Fraction, other: Fraction) -> Effects:
    rounded = {f: _dec(v) for f, v in effects.items()}
    rounded["other"] = _dec(other)
    residue = _dec(total) - sum(rounded.values(), Decimal(0))
    # Each rounded value is within Q/2 of its exact value (and the total too): the residue of rounding is at most
    # (n + 1) × Q/2. Twice that is allowed (the decimal division's own last digit); more is an arithmetic error,
    # which spreading over the largest effect would hide.
    if abs(residue) > Q * (len(rounded) + 1):
        raise ArithmeticError(f"spend effects do not add up: they miss the change of {_dec(total)} by {residue}")
    if residue:
        largest = max(rounded, key=lambda f: abs(rounded[f]))
        rounded[largest] += residue
    return Effects(**rounded)


def _dec(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Q)


def frac(value) -> Fraction:
    """Exact fraction of an int or Decimal (money is never float)."""
    return Fraction(value) if not isinstance(value, float) else Fraction(Decimal(str(value)))
