"""Pulling the admin APIs against a real HTTP server on loopback that serves documented pages,
paginated, with a 429 and a 500 on the way."""

from __future__ import annotations

import json
import logging
import threading
from datetime import date, datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest

from pipelines.ingest.pull import PullError, pull
from pipelines.settings import load_settings

OPENAI_KEY = "sk-admin-TEST-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-admin01-TEST-anthropic-0123456789abcdef"
DAY1 = date(2025, 6, 1)
DAY1_TS = int(datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp())


def _openai_usage(start: int, page: str | None) -> dict:
    results = {
        None: [{"object": "organization.usage.completions.result", "input_tokens": 1000, "output_tokens": 200,
                "input_cached_tokens": 400, "num_model_requests": 10, "project_id": "proj_a", "user_id": None,
                "api_key_id": "key_a", "model": "gpt-4o-mini-2024-07-18", "batch": False, "service_tier": "default"}],
        "pg2": [{"object": "organization.usage.completions.result", "input_tokens": 3000, "output_tokens": 500,
                 "input_cached_tokens": 0, "num_model_requests": 5, "project_id": "proj_b", "user_id": None,
                 "api_key_id": "key_b", "model": "gpt-4.1-2025-04-14", "batch": True, "service_tier": "default"}],
    }[page]
    return {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}],
            "has_more": page is None, "next_page": "pg2" if page is None else None}


def _openai_costs(start: int) -> dict:
    return {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": [
        {"object": "organization.costs.result", "amount": {"value": "0.000600000000000000012490009027033061087", "currency": "usd"},
         "line_item": "gpt-4o-mini-2024-07-18, cached input", "project_id": "proj_a"},
        {"object": "organization.costs.result", "amount": {"value": 1.25, "currency": "usd"},
         "line_item": "gpt-4.1-2025-04-14, input", "project_id": "proj_b"},
    ]}], "has_more": False, "next_page": None}


def _empty(start: int) -> dict:
    return {"object": "page", "data": [{"object": "bucket", "start_time": start, "end_time": start + 86400, "results": []}],
            "has_more": False, "next_page": None}


def _anthropic_usage(starting_at: str, page: str | None) -> dict:
    row = {"uncached_input_tokens": 100, "cache_creation": {"ephemeral_1h_input_tokens": 10, "ephemeral_5m_input_tokens": 20},
           "cache_read_input_tokens": 30, "output_tokens": 40, "server_tool_use": {"web_search_requests": 0},
           "api_key_id": None, "workspace_id": "wrkspc_a" if page is None else "wrkspc_b",
           "model": "claude-sonnet-4-20250514", "service_tier": "standard", "context_window": "0-200k"}
    return {"data": [{"starting_at": starting_at, "ending_at": starting_at[:10] + "T23:59:59Z", "results": [row]}],
            "has_more": page is None, "next_page": "page_Mg==" if page is None else None}


def _anthropic_cost(starting_at: str) -> dict:
    return {"data": [{"starting_at": starting_at, "ending_at": starting_at, "results": [
        {"currency": "USD", "amount": "1234.5", "workspace_id": "wrkspc_a", "description": "Claude Sonnet 4 Usage - Input Tokens",
         "cost_type": "tokens", "context_window": "0-200k", "model": "claude-sonnet-4-20250514", "service_tier": "standard",
         "token_type": "uncached_input_tokens"}]}], "has_more": False, "next_page": None}


class FakeAdminApi(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    seen: list[dict] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlparse(self.path)
        q = {k: v for k, v in parse_qs(url.query).items()}
        type(self).seen.append({"path": url.path, "query": q, "headers": {k.lower(): v for k, v in self.headers.items()}})
        n = type(self).hits[url.path] = type(self).hits.get(url.path, 0) + 1
        page = q.get("page", [None])[0]
        if url.path == "/v1/organization/usage/completions":
            if n == 1:
                return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
            body = _openai_usage(int(q["start_time"][0]), page)
        elif url.path == "/v1/organization/usage/embeddings":
            body = _empty(int(q["start_time"][0]))
        elif url.path == "/v1/organization/costs":
            if n == 1:
                return self._send(500, {"error": {"message": "upstream"}})
            body = _openai_costs(int(q["start_time"][0]))
        elif url.path == "/v1/organizations/usage_report/messages":
            body = _anthropic_usage(q["starting_at"][0], page)
        elif url.path == "/v1/organizations/cost_report":
            if n == 1:
                return self._send(503, {"error": {"message": "try later"}}, {"Retry-After": "0"})
            body = _anthropic_cost(q["starting_at"][0])
        elif url.path == "/v1/forbidden":
            return self._send(401, {"error": {"message": "invalid x-api-key"}})
        else:
            return self._send(404, {"error": {"message": "no such path"}})
        self._send(200, body)

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body, indent=2).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    FakeAdminApi.hits, FakeAdminApi.seen = {}, []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeAdminApi)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _lake(home: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(sorted((home / "lake" / table).glob("day=*/*.parquet")))


def _assert_key_nowhere(home: Path, key: str, caplog) -> None:
    assert key not in caplog.text
    for f in home.rglob("*"):
        if f.is_file():
            assert key.encode() not in f.read_bytes(), f"admin key leaked into {f}"


def test_pull_openai(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    settings = load_settings(home=tmp_path / "tb")
    caplog.set_level(logging.DEBUG)
    results = pull("openai", DAY1, DAY1, settings, base_url=server, backoff_s=0.01)
    assert [r.error for r in results] == [None, None, None]
    assert [r.format for r in results] == ["openai_usage_page", "openai_usage_page", "openai_costs_page"]

    # the 429 and the 500 were retried, pagination followed
    assert FakeAdminApi.hits == {"/v1/organization/usage/completions": 3, "/v1/organization/usage/embeddings": 1,
                                 "/v1/organization/costs": 2}
    first = FakeAdminApi.seen[0]
    assert first["headers"]["authorization"] == f"Bearer {OPENAI_KEY}"
    assert first["query"]["start_time"] == [str(DAY1_TS)] and first["query"]["end_time"] == [str(DAY1_TS + 86400)]
    assert first["query"]["bucket_width"] == ["1d"]
    assert {"project_id", "model", "api_key_id", "batch"} <= set(first["query"]["group_by"])
    assert [s["query"].get("page") for s in FakeAdminApi.seen if s["path"].endswith("completions")] == [None, None, ["pg2"]]

    usage = _lake(settings.home, "provider_usage")
    assert usage["input_tokens"].sum() == 4000 and usage["requests"].sum() == 15
    assert set(usage["day"]) == {DAY1}
    costs = _lake(settings.home, "provider_costs")
    assert costs["billed_cost_usd"].sum() == Decimal("1.2506")
    assert (settings.landing / "pulled/openai/costs/2025-06-01.json").is_file()
    _assert_key_nowhere(settings.home, OPENAI_KEY, caplog)

    # Pulling the same unrevised day again lands nothing new.
    again = pull("openai", DAY1, DAY1, settings, base_url=server, backoff_s=0.01)
    assert all(r.already_landed for r in again)


def test_pull_anthropic(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    monkeypatch.setenv("ANTHROPIC_ADMIN_KEY", ANTHROPIC_KEY)
    settings = load_settings(home=tmp_path / "tb")
    caplog.set_level(logging.DEBUG)
    results = pull("anthropic", DAY1, date(2025, 6, 2), settings, base_url=server, backoff_s=0.01)
    assert [r.error for r in results] == [None] * 4
    seen = FakeAdminApi.seen[0]
    assert seen["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert seen["headers"]["anthropic-version"] == "2023-06-01"
    assert seen["query"]["starting_at"] == ["2025-06-01T00:00:00Z"] and seen["query"]["ending_at"] == ["2025-06-02T00:00:00Z"]
    assert "model" in seen["query"]["group_by[]"]

    usage = _lake(settings.home, "provider_usage")
    # two days, two pages each; input = uncached + cache read + both cache writes
    assert usage.height == 4 and usage["input_tokens"].sum() == 4 * 160
    assert usage["cache_write_1h_tokens"].sum() == 40 and usage["requests"].null_count() == 4
    costs = _lake(settings.home, "provider_costs")
    assert costs["billed_cost_usd"].sum() == Decimal("24.69")  # 1234.5 cents a day
    assert FakeAdminApi.hits["/v1/organizations/cost_report"] == 3  # one 503, then two days
    _assert_key_nowhere(settings.home, ANTHROPIC_KEY, caplog)


def test_pull_without_key_says_which_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    with pytest.raises(PullError, match="OPENAI_ADMIN_KEY"):
        pull("openai", DAY1, DAY1, load_settings(home=tmp_path / "tb"))


def test_pull_gives_up_after_bounded_retries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class AlwaysBusy(BaseHTTPRequestHandler):
        calls = 0

        def do_GET(self) -> None:  # noqa: N802
            type(self).calls += 1
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysBusy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
        with pytest.raises(PullError, match="after 3 attempts") as err:
            pull("openai", DAY1, DAY1, load_settings(home=tmp_path / "tb"),
                 base_url=f"http://127.0.0.1:{httpd.server_address[1]}", max_retries=2, backoff_s=0.01)
        assert AlwaysBusy.calls == 3
        assert OPENAI_KEY not in str(err.value)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_refused_request_is_not_retried(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.ingest import pull as pull_module

    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    api = pull_module.APIS["openai"]
    endpoint = pull_module.Endpoint("forbidden", "/v1/forbidden", (), "openai_usage_page")
    monkeypatch.setitem(pull_module.APIS, "openai", pull_module.Api(api.base_url, api.secret_name, api.env, (endpoint,), True))
    with pytest.raises(PullError, match="HTTP 401 invalid x-api-key"):
        pull("openai", DAY1, DAY1, load_settings(home=tmp_path / "tb"), base_url=server, backoff_s=0.01)
    assert FakeAdminApi.hits == {"/v1/forbidden": 1}
