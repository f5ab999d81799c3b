"""Pull usage and cost reports from the OpenAI and Anthropic admin APIs, one UTC day at a time.

Each (endpoint, day) is fetched with ``bucket_width=1d`` over exactly that day, following
``next_page`` until ``has_more`` is false; the pages are written unchanged (a JSON array of
the response bodies) to ``landing/pulled/<provider>/<endpoint>/<day>.json`` and landed through
:func:`land_file`, so a pulled day lands exactly like an exported file would, and pulling a day
again that the provider has not revised changes nothing. 429 and 5xx answers and connection errors are
retried by urllib3's ``Retry`` with exponential backoff (``Retry-After`` respected), at most ``pull.retries``
times and never past ``pull.total_timeout_s`` for the whole pull. Keys come from the environment
(``OPENAI_ADMIN_KEY``, ``ANTHROPIC_ADMIN_KEY``) and are sent only as request headers: never in a URL, a log
line, an error message (a server that echoes the header gets it redacted) or a landed file.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import urllib3
from urllib3.util.retry import Retry

from pipelines.errors import UserError
from pipelines.files import atomic_write
from pipelines.ingest.land import LandResult, land_file
from pipelines.settings import Settings, secret

log = logging.getLogger(__name__)


class PullError(UserError, RuntimeError):
    """A pull that cannot go on (no key, a refused request, retries exhausted)."""


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    params: tuple[tuple[str, str], ...]
    format: str  # the input format its pages are (named, since an empty day cannot be recognised)


@dataclass(frozen=True)
class Api:
    base_url: str
    secret_name: str
    env: str
    endpoints: tuple[Endpoint, ...]
    unix_times: bool  # OpenAI: start_time/end_time in unix seconds; Anthropic: starting_at/ending_at RFC 3339

    def headers(self, key: str) -> dict[str, str]:
        if self.secret_name == "openai_admin_key":
            return {"Authorization": f"Bearer {key}"}
        return {"x-api-key": key, "anthropic-version": "2023-06-01"}


APIS = {
    "openai": Api(
        base_url="https://api.openai.com",
        secret_name="openai_admin_key",
        env="OPENAI_ADMIN_KEY",
        unix_times=True,
        endpoints=(
            Endpoint(
                "usage_completions",
                "/v1/organization/usage/completions",
                tuple(("group_by", g) for g in ("project_id", "api_key_id", "model", "batch", "service_tier")),
                "openai_usage_page",
            ),
            Endpoint(
                "usage_embeddings",
                "/v1/organization/usage/embeddings",
                tuple(("group_by", g) for g in ("project_id", "api_key_id", "model")),
                "openai_usage_page",
            ),
            # Grouped like the dashboard's cost export, so a pulled day and an exported one are the same facts.
            Endpoint(
                "costs", "/v1/organization/costs", (("group_by", "project_id"), ("group_by", "line_item")), "openai_costs_page"
            ),
        ),
    ),
    "anthropic": Api(
        base_url="https://api.anthropic.com",
        secret_name="anthropic_admin_key",
        env="ANTHROPIC_ADMIN_KEY",
        unix_times=False,
        endpoints=(
            Endpoint(
                "usage_report",
                "/v1/organizations/usage_report/messages",
                tuple(("group_by[]", g) for g in ("model", "workspace_id", "api_key_id", "service_tier", "context_window")),
                "anthropic_usage_report",
            ),
            Endpoint(
                "cost_report",
                "/v1/organizations/cost_report",
                (("group_by[]", "workspace_id"), ("group_by[]", "description")),
                "anthropic_cost_report",
            ),
        ),
    ),
}
MAX_PAGES = 1000


def pull(
    provider: str,
    start: date,
    end: date,
    settings: Settings,
    base_url: str | None = None,
    *,
    max_retries: int | None = None,
    backoff_s: float = 1.0,
    total_timeout_s: float | None = None,
) -> list[LandResult]:
    """Pull every day from ``start`` to ``end`` (both included) and land what came back.

    Retries and the time bound come from tokenbooks.yaml's ``pull:`` unless given."""
    if provider not in APIS:
        raise PullError(f"cannot pull {provider!r}: admin APIs are known for {', '.join(sorted(APIS))}")
    if end < start:
        raise PullError(f"--to {end} is before --from {start}")
    api = APIS[provider]
    key = secret(api.secret_name)
    if not key:
        raise PullError(f"{api.env} is not set: an admin API key is needed to pull {provider}")
    settings.ensure_dirs()
    cfg = settings.config.pull
    client = _Client(api, key, (base_url or api.base_url).rstrip("/"),
                     cfg.retries if max_retries is None else max_retries, backoff_s, cfg.timeout_s,
                     cfg.total_timeout_s if total_timeout_s is None else total_timeout_s)
    results = []
    day = start
    while day <= end:
        for endpoint in api.endpoints:
            pages = client.pages(endpoint, day)
            path = _write(settings, provider, endpoint.name, day, pages)
            results.append(land_file(path, settings, fmt=endpoint.format))
        day += timedelta(days=1)
    return results


class _Client:
    """GETs with urllib3: retries on 429, 5xx and connection errors with exponential backoff and ``Retry-After``,
    bounded in number (``pull.retries``) and in total time (``pull.total_timeout_s``)."""

    def __init__(self, api: Api, key: str, base_url: str, retries: int, backoff_s: float, timeout_s: float,
                 total_timeout_s: float):
        self.api, self._key, self.base_url = api, key, base_url
        self.total_timeout_s = total_timeout_s
        self.deadline = time.monotonic() + total_timeout_s
        self.retry = _BoundedRetry(
            total=retries, connect=retries, read=retries, status=retries, other=0, redirect=0,
            allowed_methods={"GET"}, status_forcelist={429, 500, 502, 503, 504}, raise_on_status=False,
            backoff_factor=backoff_s / 2, backoff_max=60, retry_after_max=int(total_timeout_s) + 1,
            respect_retry_after_header=True, deadline=self.deadline, redact=self.redact,
        )
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s), retries=self.retry)

    def pages(self, endpoint: Endpoint, day: date) -> list[bytes]:
        """The raw body of every page for one day."""
        since = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        until = since + timedelta(days=1)
        if self.api.unix_times:
            window = [("start_time", str(int(since.timestamp()))), ("end_time", str(int(until.timestamp())))]
        else:
            window = [("starting_at", since.strftime("%Y-%m-%dT%H:%M:%SZ")), ("ending_at", until.strftime("%Y-%m-%dT%H:%M:%SZ"))]
        base = [*window, ("bucket_width", "1d"), *endpoint.params]
        bodies, page = [], None
        for _ in range(MAX_PAGES):
            query = base + ([("page", page)] if page else [])
            body = self._get(endpoint.path + "?" + urllib.parse.urlencode(query))
            try:
                doc = json.loads(body)
            except ValueError:
                raise PullError(f"{endpoint.path} for {day}: the answer is not JSON") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
                raise PullError(f"{endpoint.path} for {day}: the answer has no 'data' list")
            bodies.append(body)
            page = doc.get("next_page")
            if not doc.get("has_more"):
                return bodies
            if not page:  # the rest can never be fetched: landing part of the day would pass for all of it
                raise PullError(f"{endpoint.path} for {day}: page {len(bodies)} says has_more but gives no next_page; "
                                "the page set is incomplete, so none of it is landed")
        raise PullError(f"{endpoint.path} for {day}: more than {MAX_PAGES} pages")

    def _get(self, path_and_query: str) -> bytes:
        shown = _shorten(path_and_query)
        if time.monotonic() >= self.deadline:
            raise PullError(f"GET {shown}: gave up, the pull took longer than {self.total_timeout_s:g}s "
                            "(pull.total_timeout_s)")
        headers = {**self.api.headers(self._key), "Accept": "application/json", "User-Agent": "tokenbooks"}
        try:
            response = self.http.request("GET", self.base_url + path_and_query, headers=headers, preload_content=True)
        except _OutOfTime as e:
            raise PullError(f"GET {shown}: gave up after {self.total_timeout_s:g}s (pull.total_timeout_s): {e}") from None
        except urllib3.exceptions.MaxRetryError as e:
            attempts = self.retry.total + 1
            raise PullError(f"GET {shown} failed after {attempts} attempts: {self.redact(_reason(e.reason))}") from None
        except urllib3.exceptions.HTTPError as e:
            raise PullError(f"GET {shown} failed: {self.redact(_reason(e))}") from None
        if response.status < 300:
            return response.data
        detail = self.redact(_error_detail(response.data) or response.reason or "")
        if response.status == 429 or response.status >= 500:
            attempts = len(response.retries.history) + 1 if response.retries else 1
            raise PullError(f"GET {shown} failed after {attempts} attempts: HTTP {response.status} {detail}")
        raise PullError(f"GET {shown} refused: HTTP {response.status} {detail}")

    def redact(self, text: str) -> str:
        """The message without the key, whole or in part (a server may echo the Authorization header)."""
        return redact(text, self._key)


class _OutOfTime(Exception):
    """Waiting for the next attempt would pass the pull's deadline."""


class _BoundedRetry(Retry):
    """urllib3's Retry, also bounded by a deadline: no wait (backoff or Retry-After) runs past it."""

    def __init__(self, *args, deadline: float | None = None, redact=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline, self.redact = deadline, redact

    def new(self, **kw) -> "_BoundedRetry":
        retry = super().new(**kw)
        retry.deadline, retry.redact = self.deadline, self.redact
        return retry

    def sleep(self, response=None) -> None:
        wait = (self.get_retry_after(response) if response is not None and self.respect_retry_after_header else None)
        wait = self.get_backoff_time() if wait is None else wait
        left = self.deadline - time.monotonic() if self.deadline is not None else wait
        if wait > left:
            raise _OutOfTime(f"the next attempt was due in {wait:.0f}s")
        last = self.history[-1] if self.history else None
        why = (last.status or (self.redact or str)(_reason(last.error))) if last else "?"
        log.info("GET %s: %s; retrying in %.1fs", _shorten(urllib.parse.urlsplit(last.url or "").path if last else ""),
                    why, wait)
        time.sleep(wait)


def _reason(e) -> str:
    """An urllib3 error in a few words (its text names the connection object, which says nothing)."""
    if e is None:
        return "no answer"
    text = str(e)
    return text.split(": ", 1)[1] if text.startswith("<") and ": " in text else text


def _error_detail(body: bytes) -> str:
    try:
        doc = json.loads(body or b"{}")
        message = (doc.get("error") or {}).get("message") if isinstance(doc, dict) else None
    except (ValueError, AttributeError):
        message = None
    return " ".join(str(message or "").split())[:200]


def redact(text: str, key: str) -> str:
    """``text`` with ``key`` and every token sharing 8 characters with it replaced by [redacted]."""
    text = text.replace(key, "[redacted]")
    pieces = {key[i:i + 8] for i in range(len(key) - 7)}

    def hide(m: re.Match) -> str:
        token = m.group(0)
        return "[redacted]" if any(p in token for p in pieces) else token

    return re.sub(r"[A-Za-z0-9_\-+/=.]{8,}", hide, text)


def _shorten(path_and_query: str) -> str:
    """Paths carry no secrets, but page cursors are long: keep the line short."""
    return path_and_query if len(path_and_query) < 200 else path_and_query[:200] + "…"


def _write(settings: Settings, provider: str, endpoint: str, day: date, pages: list[bytes]) -> Path:
    """The pages as one JSON array, bytes unchanged (numbers keep every digit the API sent)."""
    target = settings.landing / "pulled" / provider / endpoint / f"{day.isoformat()}.json"
    atomic_write(target, b"[\n" + b",\n".join(p.strip() for p in pages) + b"\n]\n")
    return target
