"""Incomplete or malformed page sets are refused, by `ingest` and by `pull`, with one line naming file, page and field:
never landed as if they were the whole delivery, never "0 records, 0 landed"."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.ingest.land import land_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPENAI_PAGE = json.loads((FIXTURES / "openai" / "usage_completions_page.json").read_text())
ANTHROPIC_PAGE = json.loads((FIXTURES / "anthropic" / "usage_report.json").read_text())
LANGFUSE_PAGE = json.loads((FIXTURES / "langfuse" / "observations_page.json").read_text())


def _results(page: dict, value) -> dict:
    broken = json.loads(json.dumps(page))
    broken["data"][0]["results"] = value
    return broken


REFUSED = {
    "openai_has_more_without_next_page": (OPENAI_PAGE | {"has_more": True, "next_page": None}, None, "next_page", "incomplete"),
    "anthropic_has_more_without_next_page": (ANTHROPIC_PAGE | {"has_more": True, "next_page": None}, None, "next_page", "incomplete"),
    "openai_results_not_a_list": (_results(OPENAI_PAGE, 7), None, "data[0].results", "not a list: 7"),
    "anthropic_results_not_a_list": (_results(ANTHROPIC_PAGE, {"a": 1}), "anthropic_usage_report", "data[0].results", "not a list"),
    "openai_data_not_a_list": (OPENAI_PAGE | {"data": 7}, "openai_usage_page", "data", "not a list: 7"),
    "langfuse_data_not_a_list": (LANGFUSE_PAGE | {"data": 7}, "langfuse_observations", "data", "not a list: 7"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_broken_page_set_is_refused_by_ingest(case, home, tmp_path, capsys):
    doc, fmt, field, words = REFUSED[case]
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(doc, indent=1))
    result = land_file(path, home, fmt=fmt)
    assert result.error and result.error.startswith(f"{path}, field {field!r}: page 1: ") and words in result.error, result.line()
    assert not list((home.lake / "_manifest").glob("*.json"))  # nothing landed, nothing remembered
    args = ["--home", str(home.home), "ingest", str(path)] + (["--format", fmt] if fmt else [])
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and field in err[0] and "Traceback" not in err[0]


def test_a_page_with_more_to_come_is_still_a_partial_delivery(home, tmp_path):
    path = tmp_path / "page1.json"
    path.write_text(json.dumps(OPENAI_PAGE | {"has_more": True, "next_page": "page_2"}))
    result = land_file(path, home)
    assert result.error is None and result.landed == result.records_in > 0


class TruncatedPages(BaseHTTPRequestHandler):
    """An admin API whose first page says there is more but gives no cursor to it."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        data = json.dumps(OPENAI_PAGE | {"has_more": True, "next_page": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_pull_refuses_a_page_set_cut_short(home, monkeypatch, capsys):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), TruncatedPages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", "sk-admin-TEST-0123456789")
        day = date(2024, 11, 1).isoformat()
        (home.home / "tokenbooks.yaml").write_text(
            f"pull: {{openai_base_url: 'http://127.0.0.1:{httpd.server_address[1]}', retries: 0}}\n")
        rc = main(["--home", str(home.home), "pull", "openai", "--from", day])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert rc != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has_more but gives no next_page" in err[0] and "incomplete" in err[0]
    assert not list(home.lake.glob("provider_usage/day=*/*.parquet"))
