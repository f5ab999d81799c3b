"""`tokenbooks doctor` on a day with what a first run on real data meets: a deployment nothing resolves (its
calls unpriced, its bill unattributed) and a bill owner no app is linked to. It names each with the config line
that fixes it, --strict fails until they are fixed, and after the fix it is clean."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.ingest.land import land_file
from pipelines.settings import Settings, load_settings
from pipelines.warehouse.build import build_day
from pipelines.warehouse.publish import publish

DAY = date(2026, 11, 10)
START = 1794268800  # 2026-11-10T00:00:00Z


def _files(tmp_path: Path) -> list[Path]:
    calls = tmp_path / "calls.jsonl"
    calls.write_text("".join(json.dumps({
        "call_id": f"c-{i}", "occurred_at": f"2026-11-10T12:0{i}:00Z", "provider": "openai", "model": "summary-prod",
        "app": "sales-copilot", "feature": "summarise", "input_tokens": 1000, "output_tokens": 100, "status": "ok",
        "project_id": "proj_sales"}) + "\n" for i in range(3)))
    costs = tmp_path / "costs.json"
    costs.write_text(json.dumps({"object": "page", "has_more": False, "next_page": None, "data": [{
        "object": "bucket", "start_time": START, "end_time": START + 86400, "results": [
            {"object": "organization.costs.result", "amount": {"value": "0.0045", "currency": "usd"},
             "line_item": "gpt-4.1-2025-04-14, input", "project_id": "proj_sales"},
            {"object": "organization.costs.result", "amount": {"value": "0.0024", "currency": "usd"},
             "line_item": "gpt-4.1-2025-04-14, output", "project_id": "proj_sales"}]}]}))
    return [calls, costs]


def _build(settings: Settings, files: list[Path]) -> None:
    for f in files:
        assert land_file(f, settings).error is None
    build_day(DAY, settings)
    publish(settings)


def test_doctor_names_each_gap_with_its_fix_and_strict_fails_until_fixed(home: Settings, tmp_path, capsys) -> None:
    _build(home, _files(tmp_path))
    assert main(["--home", str(home.home), "doctor", "--strict"]) == 1
    out = capsys.readouterr().out
    assert "openai/summary-prod: 3 calls on 1 day(s)" in out
    assert 'fix: model_aliases: {"summary-prod": <the model it serves>}' in out
    assert "$      0.01  openai project:proj_sales (no_call_logs)" in out  # 0.0045 + 0.0024 = 0.0069
    assert 'fix: owners: {"project:proj_sales": {app: <app>}}' in out

    config = tmp_path / "tokenbooks.yaml"
    config.write_text('model_aliases: {"summary-prod": gpt-4.1}\nowners: {"project:proj_sales": {app: sales-copilot}}\n')
    fixed = load_settings(home=home.home, config=config)
    for f in (fixed.lake / "_manifest").glob("*.json"):
        f.unlink()  # land the call log again under the new alias
    _build(fixed, _files(tmp_path))
    assert main(["--home", str(home.home), "--config", str(config), "doctor", "--strict"]) == 0
    out = capsys.readouterr().out
    assert "none: every logged model is resolved and priced" in out
    assert "none: every unattributed dollar has an app" in out
    assert "100.0 %  $      0.00 of $      0.01  openai/gpt-4.1 project:proj_sales → sales-copilot  [" in out


def test_doctor_without_a_warehouse_says_what_to_do(tmp_path, capsys) -> None:
    assert main(["--home", str(tmp_path / "nowhere"), "doctor"]) != 0
    assert "pass --home DIR or set TOKENBOOKS_HOME" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--home", str(tmp_path / "empty"), "doctor"]) != 0
    assert "run `tokenbooks build` first" in capsys.readouterr().err
