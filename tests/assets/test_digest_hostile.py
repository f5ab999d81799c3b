"""Hostile text in every field that reaches the digest or a mail header: apps, features, users, tenants, prompt
versions, a provider and model name, a provider's owner and the app and team it maps to, a budget's name and a
recipient's scope. Each carries its own tag, a script, an attribute break-out and a CR/LF header injection.

The HTML shows each as text (escaped, never markup), the text part shows it as written on one line, and no mail
header gains a line."""

import json
import re
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest
import yaml

from pipelines.ingest.land import land_file
from pipelines.monitoring.build import monitor_day
from pipelines.reporting.deliver import prepare
from pipelines.settings import Recipient, load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish
from tests.conftest import call, write_jsonl

DAY = date(2026, 11, 10)
DAYS = 10


def evil(tag: str) -> str:
    """Lower case, so a field that is lower-cased on the way in (the provider) keeps its tag. A model name has no
    spaces or line breaks (they become hyphens in its canonical name): its tag breaks out with slashes instead."""
    if tag == "model":
        return '<script>alert("model")</script>"><img/src=x/onerror=alert(\'model\')>'
    return f'<script>alert("{tag}")</script>"><img src=x onerror=alert(\'{tag}\')>\r\nx-injected: {tag}'


SHOWN = ["app", "feature", "provider", "model", "project", "owner_app", "owner_team", "budget", "prompt_v2"]
HIDDEN = ["user", "tenant", "prompt_v1"]  # in the data, not in the digest: must not appear unescaped either


def config() -> dict:
    return {
        "price_overrides": [{"provider": evil("provider"), "model": evil("model"), "input_usd_per_mtok": 2,
                             "output_usd_per_mtok": 8}],
        "owners": {"project:" + evil("project"): {"app": evil("owner_app"), "team": evil("owner_team")}},
        "budgets": [{"name": evil("budget"), "limit_usd": 1, "scope": "app", "value": evil("app")}],
        "recipients": ["all@example.com", {"address": "lim@example.com", "apps": [evil("app")]}],
    }


def calls(day: date) -> list[dict]:
    """40 calls a day by 40 users at $2/M input and $8/M output: 100k in + 1k out = $0.208 each; on DAY a new prompt
    version makes the input five times longer (500k in: $1.008 each), which the drift explanation names."""
    new = day == DAY
    return [
        call(call_id=f"{day}-{n}", occurred_at=f"{day}T10:00:00Z", provider=evil("provider"), model=evil("model"),
             app=evil("app"), feature=evil("feature"), user_id=evil("user") + str(n), tenant_id=evil("tenant"),
             prompt_version=evil("prompt_v2" if new else "prompt_v1"), input_tokens=500_000 if new else 100_000,
             output_tokens=1_000)
        for n in range(40)
    ]


def bill(day: date) -> tuple[dict, dict]:
    """A day of gpt-4o-mini no call logged, billed to a hostile project: unattributed, owned by that project."""
    start = int(datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).timestamp())

    def page(result):
        return {"object": "page", "has_more": False, "next_page": None,
                "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": [result]}]}

    usage = {"object": "organization.usage.completions.result", "input_tokens": 1_000_000, "output_tokens": 0,
             "input_cached_tokens": 0, "num_model_requests": 10, "project_id": evil("project"), "model": "gpt-4o-mini"}
    cost = {"object": "organization.costs.result", "amount": {"value": "0.15", "currency": "usd"},
            "line_item": "gpt-4o-mini, input", "project_id": evil("project")}
    return page(usage), page(cost)


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    (root / "tb").mkdir()
    (root / "tb" / "tokenbooks.yaml").write_text(yaml.safe_dump(config()))
    settings = load_settings(home=root / "tb")
    settings.ensure_dirs()
    days = [DAY - timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
    landing = root / "in"
    write_jsonl(landing / "calls.jsonl", [c for d in days for c in calls(d)])
    usage, cost = bill(DAY)
    (landing / "usage.json").write_text(json.dumps(usage))
    (landing / "costs.json").write_text(json.dumps(cost))
    for path in sorted(landing.iterdir()):
        result = land_file(path, settings)
        assert result.error is None and result.quarantined == 0, result
    for day in days:
        build_day(day, settings)
        monitor_day(day, settings)
    publish(settings)
    return settings


def escaped(tag: str) -> str:
    """How the HTML shows ``evil(tag)``: markup characters as entities, the line break as a space."""
    text = one_line(tag)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        text = text.replace(char, entity)
    return text


def one_line(tag: str) -> str:
    """How the text part shows ``evil(tag)``: as written, the line break as a space."""
    return evil(tag).replace("\r\n", " ")


def no_markup_from_the_data(html: str) -> None:
    assert not re.search(r"<script|<img[^>]*onerror", html, re.I)  # the data made no tag
    for tag in SHOWN + HIDDEN:
        assert evil(tag) not in html and one_line(tag) not in html


def test_the_html_shows_every_field_as_text(org):
    out = prepare(org, DAY, False, None, ["all@example.com"])
    html = out.html.read_text()
    no_markup_from_the_data(html)
    missing = [tag for tag in SHOWN if escaped(tag) not in html]
    assert missing == []  # each field is in the digest, escaped
    assert "since prompt " + escaped("prompt_v2") + " (11-10)" in html  # the drift explanation names the new prompt


def test_the_text_part_shows_every_field_as_written_on_one_line(org):
    text = prepare(org, DAY, False, None, ["all@example.com"]).text.read_text()
    assert [tag for tag in SHOWN if one_line(tag) not in text] == ["owner_team"]  # the text part names no teams
    assert not re.search(r"^x-injected", text, re.M)  # no field starts a line of its own
    assert "&lt;" not in text and "&#34;" not in text  # not HTML-escaped twice over


def test_no_header_is_injected(org):
    limited = Recipient("lim@example.com", apps=(evil("app"),))
    for recipient, to in ((None, ["all@example.com"]), (limited, ["lim@example.com"])):
        out = prepare(org, DAY, False, recipient, to)
        msg = message_from_bytes(out.eml.read_bytes(), policy=default)
        assert msg["x-injected"] is None and msg["To"] == to[0]
        assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]
        no_markup_from_the_data(msg.get_body(preferencelist=("html",)).get_content())
    assert one_line("app") in msg["Subject"]  # the recipient's scope is in the subject, on one line
