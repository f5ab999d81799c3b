"""Pull usage and cost reports from the OpenAI and Anthropic admin APIs, one UTC day at a time.

Each (endpoint, day) is fetched with ``bucket_width=1d`` over exactly that day, following
``next_page`` until ``has_more`` is false; the pages are written unchanged (a JSON array of
the response bodies) to ``landing/pulled/<provider>/<endpoint>/<day>.json`` and landed through
:func:`land_file`, so a pulled day lands exactly like an exported file would, and pulling a day
again that the provider has not revised changes nothing. 429 and 5xx answers are retried with
backoff (``Retry-After`` respected, bounded). Keys come from the environment
(``OPENAI_ADMIN_KEY``, ``ANTHROPIC_ADMIN_KEY``) and are sent only as request headers: never in
a URL, a log line, an error message or a landed file.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from pipelines.ingest.land import LandResult, land_file
from pipelines.settings import Settings, secret

log = logging.getLogger(__name__)


class PullError(RuntimeError):
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
TIMEOUT_S = 60.0


def pull(
    provider: str,
    start: date,
    end: date,
    settings: Settings,
    base_url: str | None = None,
    *,
    max_retries: int = 6,
    backoff_s: float = 1.0,
) -> list[LandResult]:
    """Pull every day from ``start`` to ``end`` (both included) and land what came back."""
    if provider not in APIS:
        raise PullError(f"cannot pull {provider!r}: admin APIs are known for {', '.join(sorted(APIS))}")
    if end < start:
        raise PullError(f"--to {end} is before --from {start}")
    api = APIS[provider]
    key = secret(api.secret_name)
    if not key:
        raise PullError(f"{api.env} is not set: an admin API key is needed to pull {provider}")
    client = _Client(api, key, (base_url or api.base_url).rstrip("/"), max_retries, backoff_s)
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
    def __init__(self, api: Api, key: str, base_url: str, max_retries: int, backoff_s: float):
        self.api, self._key, self.base_url = api, key, base_url
        self.max_retries, self.backoff_s = max_retries, backoff_s

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
        url = self.base_url + path_and_query
        headers = {**self.api.headers(self._key), "Accept": "application/json", "User-Agent": "tokenbooks"}
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(url, headers=headers, method="GET")
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                    return response.read()
            except urllib.error.HTTPError as e:
                status, retry_after = e.code, e.headers.get("Retry-After")
                detail = _error_detail(e)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                status, retry_after, detail = None, None, str(getattr(e, "reason", e))
            if status is not None and status != 429 and status < 500:
                raise PullError(f"GET {_redact(path_and_query)} refused: HTTP {status} {detail}")
            if attempt == self.max_retries:
                break
            wait = _wait_seconds(retry_after, self.backoff_s * (2**attempt))
            log.warning("GET %s: %s; retrying in %.1fs", _redact(path_and_query), status or detail, wait)
            time.sleep(wait)
        raise PullError(f"GET {_redact(path_and_query)} failed after {self.max_retries + 1} attempts: {status or detail}")


def _wait_seconds(retry_after: str | None, fallback: float) -> float:
    """Retry-After as seconds or an HTTP date; the backoff when absent; never more than 5 minutes."""
    wait = fallback
    if retry_after:
        try:
            wait = float(retry_after)
        except ValueError:
            try:
                wait = (parsedate_to_datetime(retry_after) - datetime.now(timezone.utc)).total_seconds()
            except (TypeError, ValueError):
                wait = fallback
    return min(max(wait, 0.0), 300.0)


def _error_detail(e: urllib.error.HTTPError) -> str:
    try:
        doc = json.loads(e.read() or b"{}")
        message = (doc.get("error") or {}).get("message") if isinstance(doc, dict) else None
    except (ValueError, AttributeError, OSError):
        message = None
    return (message or e.reason or "")[:200]


def _redact(path_and_query: str) -> str:
    """Paths carry no secrets, but page cursors are long: keep the line short."""
    return path_and_query if len(path_and_query) < 200 else path_and_query[:200] + "…"


def _write(settings: Settings, provider: str, endpoint: str, day: date, pages: list[bytes]) -> Path:
    """The pages as one JSON array, bytes unchanged (numbers keep every digit the API sent)."""
    target = settings.landing / "pulled" / provider / endpoint / f"{day.isoformat()}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".json.tmp")
    with open(tmp, "wb") as f:
        f.write(b"[\n" + b",\n".join(p.strip() for p in pages) + b"\n]\n")
    os.replace(tmp, target)
    return target
