"""The digest against a small real warehouse: its numbers are the warehouse's, a day is compared with days of
its own type (and says so), a day without data has no digest, everything from the data is escaped, recipients
limited to their apps see only those, weekly sums the week, and it renders the way mail clients need (inline
styles, table bars, one chart inline by Content-ID, no scripts or external images, a text twin)."""

import json
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from email import message_from_bytes
from email.policy import default

import pytest

from pipelines.cli import main
from pipelines.db import open_warehouse
from pipelines.ingest.land import land_file
from pipelines.monitoring.build import monitor_day
from pipelines.reporting.chart import BUDGET, WEEKEND, BudgetLine, spend_png
from pipelines.reporting.deliver import write_digest
from pipelines.reporting.digest import NoData, load_digest, render, usd
from pipelines.reporting.savings import batch_saving
from pipelines.settings import Recipient, load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish
from tests.conftest import call, write_jsonl

DAY = date(2026, 11, 10)
EVIL = "<script>alert(1)</script>"
CONFIG = """
budgets:
  - {name: org, limit_usd: 10}
  - {name: support, limit_usd: 0.1, scope: app, value: support}
recipients:
  - all@example.com
  - {address: sally@example.com, apps: [sales]}
"""


def bills(day: date) -> tuple[dict, dict]:
    """OpenAI usage and cost pages: the logged project plus a batch job no app logged (unattributed)."""
    start = int(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).timestamp())

    def page(results):
        return {"object": "page", "has_more": False, "next_page": None,
                "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}]}

    usage = [{"object": "organization.usage.completions.result", "input_tokens": tokens, "output_tokens": 0,
              "input_cached_tokens": 0, "num_model_requests": 1, "project_id": project, "model": "gpt-4o-mini",
              "batch": batch} for project, tokens, batch in (("proj_app", 90_000, False), ("proj_batch", 2_000_000, True))]
    costs = [{"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
              "line_item": item, "project_id": project}
             for project, item, value in (("proj_app", "gpt-4o-mini, input", "0.05"),
                                          ("proj_batch", "batch | gpt-4o-mini, input", "0.15"))]
    return page(usage), page(costs)


def small_org(settings, days: int = 10, last: date = DAY, weekend_share: float = 1.0) -> None:
    """`days` days of two apps' calls (one feature named like an attack), billed on the last day, built;
    weekends carry ``weekend_share`` of a weekday's calls."""
    landing = settings.home / "in"
    for i in range(days):
        day = last - timedelta(days=days - 1 - i)
        share = weekend_share if day.weekday() >= 5 else 1.0
        records = [
            call(call_id=f"{day}-s{n}", occurred_at=f"{day}T10:00:00Z", app="support", feature="triage",
                 input_tokens=1000 + 10 * n, output_tokens=100, project_id="proj_app", prompt_version="triage@v1",
                 cached_input_tokens=600 if day == last and n % 4 == 0 else 0)
            for n in range(round(40 * share))
        ] + [
            call(call_id=f"{day}-x{n}", occurred_at=f"{day}T11:00:00Z", app="sales", feature=EVIL,
                 user_id=f"<b>u{n}</b>", input_tokens=3000, output_tokens=300, project_id="proj_app",
                 is_batch=n % 4 == 0)
            for n in range(round(20 * share))
        ]
        write_jsonl(landing / f"calls-{day}.jsonl", records)
    usage, costs = bills(last)
    (landing / "usage.json").write_text(json.dumps(usage))
    (landing / "costs.json").write_text(json.dumps(costs))
    for path in sorted(landing.iterdir()):
        assert land_file(path, settings).error is None
    for i in range(days):
        day = last - timedelta(days=days - 1 - i)
        build_day(day, settings)
        monitor_day(day, settings)
    publish(settings)


@pytest.fixture
def org(home):
    (home.home / "tokenbooks.yaml").write_text(CONFIG)
    settings = load_settings(home=home.home)
    small_org(settings)
    return settings


def warehouse(settings, sql, params=None):
    con = open_warehouse(settings)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def test_numbers_are_the_warehouses(org):
    d = load_digest(org, DAY)
    total, requests = warehouse(org, "select sum(cost_usd), sum(requests) from mart_cost_daily where day = $d", {"d": DAY})[0]
    # DAY is a Tuesday: it is compared with the weekdays before it that have data (11-02 .. 11-06 and 11-09)
    prev = warehouse(org, "select sum(cost_usd) from mart_cost_daily where day between $a and $b and dayofweek(day) between 1 and 5",
                     {"a": DAY - timedelta(days=28), "b": DAY - timedelta(days=1)})[0][0]
    assert (d.total_usd, d.requests) == (total, requests)
    assert len(d.comparison.days) == 6 and d.previous_usd == (prev / 6).quantize(Decimal("1e-12"))
    assert d.comparison.label == "the average weekday of the 4 weeks before (6 with data)"
    assert sum(r["cost_usd"] for r in d.by_app) == total
    assert d.billed_usd == warehouse(org, "select sum(billed_cost_usd) from fct_reconciliation where day = $d", {"d": DAY})[0][0]
    owners = {u["unattributed_owner"] for u in d.unattributed}
    assert "project:proj_batch" in owners
    assert {b["budget"]: b["status"] for b in d.budgets} == {"org": "ok", "support": "over"}
    # gpt-4o-mini: input $0.15/M, cache reads $0.075/M, output $0.60/M; batch half of each.
    # Cache: 10 support calls read 600 tokens each from the cache: 6,000 × (0.15 − 0.075) / 1M = $0.00045.
    # Batch: 5 sales calls of 3,000 in + 300 out: 3,000 × 0.15 + 300 × 0.60 = 630 / 1M = $0.00063 each at standard
    # prices, $0.000315 at batch ones; saved 5 × 0.000315 = $0.001575.
    assert (d.cache_savings_usd, d.batch_savings_usd) == (Decimal("0.00045"), Decimal("0.001575"))
    text = render(d, "digest.txt.j2")
    assert f"Spent {usd(total)}" in text and usd(total) in render(d)


def test_everything_from_the_data_is_escaped(org):
    html = write_digest(org, DAY).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert EVIL in (org.outbox / f"digest-{DAY}.txt").read_text()  # the text part shows it as written


def test_renders_for_mail_clients(org):
    html = write_digest(org, DAY).read_text()
    assert "max-width:640px" in html and "<style" not in html and "<link" not in html
    assert not re.search(r"<svg|javascript:|https?://", html, re.I)
    # One image, the spend chart, carried in the file itself; every other chart is table-cell bars.
    assert re.findall(r'<img src="([a-z]+:[^;,"]+)', html) == ["data:image/png"]
    assert re.search(r'<td width="\d+%" style="background:#', html)
    eml = message_from_bytes((org.outbox / f"digest-{DAY}.eml").read_bytes(), policy=default)
    mail_html = eml.get_body(preferencelist=("html",)).get_content()
    assert re.findall(r'<img src="([^"]+)"', mail_html) == ["cid:trend"]  # Gmail and Outlook drop data: URIs
    png = next(p for p in eml.walk() if p.get_content_type() == "image/png")
    assert png["Content-ID"] == "<trend>" and png.get_content().startswith(b"\x89PNG\r\n\x1a\n")
    assert png.get_content_disposition() == "inline"  # shown in the text, not listed as an attachment too


def colours(png: bytes) -> set[tuple[int, int, int]]:
    import io

    from matplotlib.image import imread

    pixels = (imread(io.BytesIO(png))[:, :, :3] * 255).round().astype(int).reshape(-1, 3)
    return {tuple(p) for p in pixels}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_the_chart_stacks_apps_shades_weekends_and_draws_the_budget():
    days = [DAY - timedelta(days=13 - i) for i in range(14)]  # 10-28 (Wed) .. 11-10 (Tue): two weekends
    trend = [{"label": d, "cost_usd": Decimal(3), "by_app": {"a": Decimal(2), "b": Decimal(1)}} for d in days]
    png = spend_png(trend, budget=BudgetLine("budget total: $2.50/day", Decimal("2.5")))
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20]) == 1200 and int.from_bytes(png[20:24]) == 480
    seen = colours(png)
    assert {rgb(WEEKEND), rgb(BUDGET), rgb("#0969da"), rgb("#54aeff")} <= seen  # shading, budget, two apps
    weekdays = [{**t, "label": d} for t, d in zip(trend, [DAY - timedelta(days=i) for i in (8, 7, 6, 5)])]
    assert rgb(WEEKEND) not in colours(spend_png(weekdays))  # Mon .. Thu (11-02 .. 11-05): nothing to shade


def test_a_weekend_day_is_compared_with_weekend_days(home):
    """Weekends carry a quarter of the calls: a Sunday read against the 7 days before it looked like a
    collapse. Against the weekend days of the weeks before it is unchanged, and every column says so."""
    sunday = date(2026, 11, 15)
    small_org(home, days=15, last=sunday + timedelta(days=1), weekend_share=0.25)  # billed on the Monday after
    d = load_digest(home, sunday)
    assert d.comparison.short == "vs avg weekend day" and len(d.comparison.days) == 3  # 11-07, 11-08, 11-14
    assert abs(d.change_pct) < 1 and all(abs(r["change_pct"]) < 1 for r in d.by_app)
    text = render(d, "digest.txt.j2")
    assert f"+0.0 % vs {usd(d.previous_usd)}, the average weekend day of the 4 weeks before (3 with data)" in text
    week = warehouse(home, "select sum(cost_usd) / 7 from mart_cost_daily where day between $a and $b",
                     {"a": sunday - timedelta(days=7), "b": sunday - timedelta(days=1)})[0][0]
    assert d.total_usd < week / 2  # against the 7 days before it, the same Sunday read as less than half
    assert "By app (spend, vs avg weekend day, calls)" in text and "vs avg weekend day" in d.subject


def test_a_day_without_data_has_no_digest(org, capsys):
    with pytest.raises(NoData, match="no billed or logged data for 2026-12-25.*last day with data is 2026-11-10"):
        load_digest(org, date(2026, 12, 25))
    assert main(["--home", str(org.home), "digest", "--day", "2026-12-25"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no billed or logged data for 2026-12-25")
    assert not list(org.outbox.glob("digest-2026-12-25*"))
    # Without --day the digest is for the last day with data, not the calendar's yesterday.
    assert main(["--home", str(org.home), "digest"]) == 0
    assert f"digest-{DAY}.html" in capsys.readouterr().out


def test_a_recipient_limited_to_an_app_sees_only_it(org):
    sally = Recipient("sally@example.com", apps=("sales",))
    d = load_digest(org, DAY, recipient=sally)
    sales = warehouse(org, "select sum(cost_usd) from mart_cost_daily where day = $d and app = 'sales'", {"d": DAY})[0][0]
    assert d.total_usd == sales
    assert {r["app"] for r in d.by_app} == {"sales"} and {r["app"] for r in d.by_feature} == {"sales"}
    assert [b["budget"] for b in d.budgets] == []  # neither the org's nor support's budget is hers
    assert d.billed_usd is None
    html = write_digest(org, DAY, recipient=sally)
    assert html.name == f"digest-{DAY}--sally-example-com.html" and "triage" not in html.read_text()


def test_weekly_sums_the_week(org):
    d = load_digest(org, DAY, weekly=True)
    week = warehouse(org, "select sum(cost_usd) from mart_cost_daily where day between $a and $b",
                     {"a": DAY - timedelta(days=6), "b": DAY})[0][0]
    assert d.total_usd == week and d.period.start == DAY - timedelta(days=6)
    # Eight weeks of trend, less the weeks before the first day with data (the org starts on 11-01).
    assert "weekly" in d.subject and [t["label"] for t in d.trend] == [DAY - timedelta(days=13), DAY - timedelta(days=6)]
    # The week before holds 3 days of data: no percentage against a partial week, and the digest says why.
    assert d.previous_usd is None and d.change_pct is None
    assert d.comparison.label == "the week before (only 3 of its 7 days have data)"


def test_a_digest_that_cannot_be_written_leaves_no_partial_file(org):
    (org.outbox / f"digest-{DAY}.txt").mkdir(parents=True)  # the text part cannot be renamed into place
    with pytest.raises(OSError):
        write_digest(org, DAY)
    assert sorted(p.name for p in org.outbox.iterdir()) == [f"digest-{DAY}.html", f"digest-{DAY}.txt"]


def test_cli_writes_html_text_and_eml(org, capsys):
    assert main(["--home", str(org.home), "digest", "--day", str(DAY), "--weekly"]) == 0
    out = capsys.readouterr().out
    for suffix in ("html", "txt", "eml"):
        assert (org.outbox / f"digest-week-{DAY}.{suffix}").exists()
    assert (org.outbox / f"digest-week-{DAY}--sally-example-com.eml").exists()
    assert "digest-week" in out
    # --send without an SMTP host: refused with one error line, nothing sent
    assert main(["--home", str(org.home), "digest", "--day", str(DAY), "--send"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no SMTP host" in err[0] and "recipients" not in err[0]


def test_batch_saving_is_standard_minus_batch_price():
    usage = [{"day": DAY, "provider": "openai", "model": "m", "uncached_input_tokens": 2_000_000,
              "cached_input_tokens": 0, "cache_write_5m_tokens": 0, "cache_write_1h_tokens": 0,
              "output_tokens": 1_000_000, "list_cost_usd": Decimal("0.45")}]
    prices = {("openai", "m", DAY): {"input_usd_per_mtok": Decimal("0.15"), "cached_input_usd_per_mtok": Decimal("0.075"),
                                     "cache_write_5m_usd_per_mtok": Decimal("0.15"),
                                     "cache_write_1h_usd_per_mtok": Decimal("0.15"), "output_usd_per_mtok": Decimal("0.6")}}
    assert batch_saving(usage, prices) == Decimal("0.45")  # 0.90 at standard prices, 0.45 at batch
