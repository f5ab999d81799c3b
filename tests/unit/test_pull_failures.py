"""Pulls that fail: the key never appears in an error, retries and time are bounded (real HTTP server on loopback)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.ingest.pull import PullError, pull, redact
from pipelines.settings import load_settings
from tests.unit.test_pull import OPENAI_KEY

DAY = date(2025, 6, 1)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Echo(BaseHTTPRequestHandler):
    """A server that answers 401 and echoes the request's Authorization header, whole and in part."""

    calls = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).calls += 1
        auth = self.headers.get("Authorization", "")
        body = json.dumps({"error": {"message": f"invalid key {auth!r}; did you mean {auth[7:30]}?"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class SlowDown(BaseHTTPRequestHandler):
    """Always 503 with a Retry-After of an hour."""

    calls = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).calls += 1
        self.send_response(503)
        self.send_header("Retry-After", "3600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_a_server_echoing_the_key_does_not_get_it_into_the_error(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    with serving(Echo) as url, pytest.raises(PullError, match="HTTP 401") as err:
        pull("openai", DAY, DAY, load_settings(home=tmp_path / "tb"), base_url=url)
    message = str(err.value)
    assert "[redacted]" in message
    assert OPENAI_KEY not in message and OPENAI_KEY[7:30] not in message and OPENAI_KEY not in caplog.text
    assert Echo.calls == 1  # a 401 is not retried


def test_a_retry_after_beyond_the_time_bound_gives_up_at_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    with serving(SlowDown) as url, pytest.raises(PullError, match=r"gave up after 5s \(pull.total_timeout_s\)"):
        pull("openai", DAY, DAY, load_settings(home=tmp_path / "tb"), base_url=url, total_timeout_s=5)
    assert SlowDown.calls == 1


def test_the_time_bound_comes_from_the_config(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    (tmp_path / "tb").mkdir()
    with serving(SlowDown) as url:
        (tmp_path / "tb" / "tokenbooks.yaml").write_text(f"pull: {{total_timeout_s: 2, openai_base_url: '{url}'}}\n")
        settings = load_settings(home=tmp_path / "tb")
        with pytest.raises(PullError, match=r"gave up after 2s"):
            pull("openai", DAY, DAY, settings, base_url=settings.config.pull.openai_base_url)


def test_a_server_that_is_not_there_fails_after_bounded_retries(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", OPENAI_KEY)
    with socket.socket() as s:  # a loopback port nobody listens on: every connection is refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(PullError, match="failed after 3 attempts: .*refused"):
        pull("openai", DAY, DAY, load_settings(home=tmp_path / "tb"), base_url=f"http://127.0.0.1:{port}",
             max_retries=2, backoff_s=0.01)


def test_redact_hides_the_key_and_pieces_of_it() -> None:
    key = "sk-admin-0123456789abcdefXYZ"
    text = f"bad {key}, also 'Bearer {key}' and {key[5:20]} but not sk- or 12345"
    out = redact(text, key)
    assert key not in out and key[5:20] not in out
    assert "but not sk- or 12345" in out
