"""The two fast paths of per-call money give the very values of the exact DECIMAL arithmetic they replace.

- ``money_times_rate(amount, rate)`` (models/macros/money_times_rate.sql, the attribution of each call) against
  ``(amount * rate)::decimal(38, 12)``, DuckDB's own rounding, on random and adversarial values: exact halves of
  a unit (the tie rule), both signs, the edges of the fast range and beyond it, nulls.
- Prices typed DECIMAL(18, 6) when exact in micro-dollars (``build._narrow_prices``): the list cost of the same
  tokens is the same as at DECIMAL(38, 12), and a price with a seventh decimal keeps the full scale, its cost
  still rounded exactly.
"""

from decimal import ROUND_HALF_UP, Decimal

import duckdb
import polars as pl
import pytest

from pipelines.pricing.prices import MONEY, PRICE_COLUMNS
from pipelines.warehouse.build import _narrow_prices
from pipelines.warehouse.models import create_macros

UNIT = Decimal("0.000000000001")


@pytest.fixture
def con():
    con = duckdb.connect()
    create_macros(con)
    yield con
    con.close()


def _mismatches(con, cases: str) -> list[tuple]:
    return con.execute(
        f"""
        select amount, rate, money_times_rate(amount, rate), (amount * rate)::decimal(38, 12)
        from ({cases})
        where money_times_rate(amount, rate) is distinct from (amount * rate)::decimal(38, 12)
        limit 5
        """
    ).fetchall()


def test_random_amounts_and_rates_round_as_the_cast(con):
    # Amounts of every size from a unit to a million dollars, rates near 1 (a bill close to list), far from it,
    # negative (a credit larger than the day's usage) and beyond the fast range.
    cases = """
        select (sign(random() - 0.2) * random() * pow(10, (i % 19) - 12))::decimal(38, 12) as amount,
               (case i % 4 when 0 then 0.95 + random() * 0.1 when 1 then random() * 3
                           when 2 then -random() * 2 else random() * 2000 end)::decimal(38, 15) as rate
        from range(300000) as t(i)
    """
    assert _mismatches(con, cases) == []


def test_exact_halves_go_away_from_zero(con):
    # amount × rate exactly k + ½ units of 10⁻¹²: the guess may land on either side; the cast goes away from zero.
    cases = """
        select (s * k * 0.000000000001)::decimal(38, 12) as amount, r::decimal(38, 15) as rate
        from range(1, 20001, 2) as a(k), (values (1), (-1)) as b(s), (values (0.5), (1.5), (-0.5), (2.5)) as c(r)
        union all
        -- halves near the top of the fast range (|product| just under 100) and just over it
        select (s * (99.999999999999 + k * 0.000000000001))::decimal(38, 12), 1.5::decimal(38, 15)
        from range(0, 4) as a(k), (values (1), (-1)) as b(s)
    """
    ties = con.execute(
        f"select count(*) from ({cases}) "
        "where (amount * rate)::decimal(38, 12) <> amount * rate and (2 * amount * rate)::decimal(38, 12) = 2 * amount * rate"
    ).fetchone()[0]
    assert ties > 40000  # the cases do hold exact halves
    assert _mismatches(con, cases) == []


def test_edges_and_nulls(con):
    cases = """
        select * from (values
            (null::decimal(38, 12), 1::decimal(38, 15)),
            (1::decimal(38, 12), null::decimal(38, 15)),
            (0::decimal(38, 12), 0.123456789012345::decimal(38, 15)),
            (99.999999999999::decimal(38, 12), 1::decimal(38, 15)),
            (100::decimal(38, 12), 0.999999999999999::decimal(38, 15)),
            (999999.999999999999::decimal(38, 12), 0.000000000000001::decimal(38, 15)),
            (1000000::decimal(38, 12), 0.000000000000001::decimal(38, 15)),
            (12345678.123456789012::decimal(38, 12), 1.000000000000001::decimal(38, 15)),
            (0.000000000001::decimal(38, 12), 999.999999999999999::decimal(38, 15))
        ) as t(amount, rate)
    """
    assert _mismatches(con, cases) == []
    assert con.execute("select money_times_rate(null::decimal(38, 12), 1::decimal(38, 15))").fetchone()[0] is None


def _prices(values: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"provider": "p", "model": "m", **{c: Decimal(values.get(c, "1")) for c in PRICE_COLUMNS}}]
    ).with_columns(pl.col(PRICE_COLUMNS).cast(MONEY))


TOKENS = [(1, 0, 0, 0, 0), (123_457, 40_001, 30_003, 10_007, 9_999), (7, 3, 2, 1, 999_999_937), (0, 0, 0, 0, 1)]


def _list_costs(con) -> list[Decimal]:
    rows = ", ".join(f"({a}, {b}, {c}, {d}, {e})" for a, b, c, d, e in TOKENS)
    return [r[0] for r in con.execute(
        f"""
        select list_cost_usd(i, cr, cw, cw1h, o, input_usd_per_mtok, cached_input_usd_per_mtok,
                             cache_write_5m_usd_per_mtok, cache_write_1h_usd_per_mtok, output_usd_per_mtok)
        from (values {rows}) as t(i, cr, cw, cw1h, o), dim_prices order by i, o
        """
    ).fetchall()]


def _by_hand(p: dict[str, str]) -> list[Decimal]:
    def price(k):
        return Decimal(p.get(f"{k}_usd_per_mtok", "1"))

    out = []
    for i, cr, cw, cw1h, o in sorted(TOKENS, key=lambda t: (t[0], t[4])):
        exact = ((i - cr - cw) * price("input") + cr * price("cached_input") + (cw - cw1h) * price("cache_write_5m")
                 + cw1h * price("cache_write_1h") + o * price("output")) / 1_000_000
        out.append(exact.quantize(UNIT, rounding=ROUND_HALF_UP))
    return out


@pytest.mark.parametrize(
    ("prices", "narrow"),
    [
        ({"input_usd_per_mtok": "3", "cached_input_usd_per_mtok": "0.3", "cache_write_5m_usd_per_mtok": "3.75",
          "output_usd_per_mtok": "0.000001"}, True),
        # 0.0375 × (1 − 17.5 %): a seventh decimal; the full scale is kept and 1 token costs 3.09375e-8,
        # rounded half up at the 12th decimal
        ({"input_usd_per_mtok": "0.0309375", "output_usd_per_mtok": "15"}, False),
    ],
)
def test_narrow_prices_cost_the_same(con, prices, narrow):
    dim_prices = _prices(prices)  # noqa: F841 - read by DuckDB
    con.execute("create temp table dim_prices as select * from dim_prices")
    wide = _list_costs(con)
    _narrow_prices(con)
    types = {r[0] for r in con.execute(
        "select data_type from information_schema.columns where table_name = 'dim_prices' and column_name like '%usd_per_mtok'"
    ).fetchall()}
    assert types == ({"DECIMAL(18,6)"} if narrow else {"DECIMAL(38,12)"})
    assert _list_costs(con) == wide == _by_hand(prices)
