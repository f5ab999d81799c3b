"""The digest against a small real warehouse: its numbers are the warehouse's, everything from the data is
escaped, recipients limited to their apps see only those, weekly sums the week, and it renders the way mail
clients need (inline styles, table bars, no scripts or external images, a text twin)."""

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
from pipelines.reporting.chart import BACKGROUND, BAR, LAST, bars_png
from pipelines.reporting.digest import load_digest, render, usd, write_digest
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


def small_org(settings, days: int = 10, last: date = DAY) -> None:
    """`days` days of two apps' calls (one feature named like an attack), billed on the last day, built."""
    landing = settings.home / "in"
    for i in range(days):
        day = last - timedelta(days=days - 1 - i)
        records = [
            call(call_id=f"{day}-s{n}", occurred_at=f"{day}T10:00:00Z", app="support", feature="triage",
                 input_tokens=1000 + 10 * n, output_tokens=100, project_id="proj_app", prompt_version="triage@v1")
            for n in range(40)
        ] + [
            call(call_id=f"{day}-x{n}", occurred_at=f"{day}T11:00:00Z", app="sales", feature=EVIL,
                 user_id=f"<b>u{n}</b>", input_tokens=3000, output_tokens=300, project_id="proj_app",
                 is_batch=n % 4 == 0)
            for n in range(20)
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
    prev = warehouse(org, "select sum(cost_usd) from mart_cost_daily where day between $a and $b",
                     {"a": DAY - timedelta(days=7), "b": DAY - timedelta(days=1)})[0][0]
    assert (d.total_usd, d.requests) == (total, requests)
    assert d.previous_usd == (prev / 7).quantize(Decimal("1e-12"))
    assert sum(r["cost_usd"] for r in d.by_app) == total
    assert d.billed_usd == warehouse(org, "select sum(billed_cost_usd) from fct_reconciliation where day = $d", {"d": DAY})[0][0]
    owners = {u["unattributed_owner"] for u in d.unattributed}
    assert "project:proj_batch" in owners
    assert {b["budget"]: b["status"] for b in d.budgets} == {"org": "ok", "support": "over"}
    assert d.batch_savings_usd > 0 and d.cache_savings_usd >= 0
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


def test_the_chart_is_a_valid_png_with_a_bar_per_day():
    import zlib

    png = bars_png([Decimal(1), Decimal(0), Decimal(3)], width=30, height=10)
    assert png[12:16] == b"IHDR" and int.from_bytes(png[16:20]) == 30 and int.from_bytes(png[20:24]) == 10
    rows = zlib.decompress(png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8])
    pixel = lambda x, y: rows[y * 91 + 1 + 3 * x : y * 91 + 4 + 3 * x]  # noqa: E731 - 1 filter byte + 30 RGB pixels a row
    assert pixel(25, 1) == bytes(LAST) and pixel(25, 0) == bytes(BACKGROUND) and pixel(5, 8) == bytes(BAR)  # the largest, last bar is full height
    assert pixel(15, 8) != bytes(BAR) and pixel(5, 0) != bytes(BAR)  # the zero day has no bar; day 1 is a third


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
    assert "weekly" in d.subject and len(d.trend) == 8


def test_cli_writes_html_text_and_eml(org, capsys):
    assert main(["--home", str(org.home), "digest", "--day", str(DAY), "--weekly"]) == 0
    out = capsys.readouterr().out
    for suffix in ("html", "txt", "eml"):
        assert (org.outbox / f"digest-week-{DAY}.{suffix}").exists()
    assert (org.outbox / f"digest-week-{DAY}--sally-example-com.eml").exists()
    assert "digest-week" in out
    # --send without an SMTP host: a clear error, the digest still written
    assert main(["--home", str(org.home), "digest", "--day", str(DAY), "--send"]) == 1
    assert "no SMTP host" in capsys.readouterr().err


def test_batch_saving_is_standard_minus_batch_price():
    usage = [{"day": DAY, "provider": "openai", "model": "m", "uncached_input_tokens": 2_000_000,
              "cached_input_tokens": 0, "cache_write_5m_tokens": 0, "cache_write_1h_tokens": 0,
              "output_tokens": 1_000_000, "list_cost_usd": Decimal("0.45")}]
    prices = {("openai", "m", DAY): {"input_usd_per_mtok": Decimal("0.15"), "cached_input_usd_per_mtok": Decimal("0.075"),
                                     "cache_write_5m_usd_per_mtok": Decimal("0.15"),
                                     "cache_write_1h_usd_per_mtok": Decimal("0.15"), "output_usd_per_mtok": Decimal("0.6")}}
    assert batch_saving(usage, prices) == Decimal("0.45")  # 0.90 at standard prices, 0.45 at batch
