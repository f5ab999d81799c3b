"""What to generate (:class:`SampleSpec`) and what is true about it (:class:`GroundTruth`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

LOG_FORMATS = ("canonical", "otlp", "mixed")
WEEKEND_FACTOR = 0.4


@dataclass(frozen=True)
class SampleSpec:
    """A sample organisation's period.

    ``calls_per_day`` is the exact number of logged calls on every day; with
    ``seasonality`` weekends get ``round(calls_per_day * 0.4)`` instead. Same spec,
    same bytes: everything is drawn from ``seed``. The period ends on ``end_day``
    (a fixed date by default, so the default is deterministic too).
    """

    days: int = 30
    calls_per_day: int = 20000
    seed: int = 7
    end_day: date = date(2026, 11, 22)
    log_formats: tuple[str, ...] = ("canonical",)
    providers_exports: bool = True
    seasonality: bool = True
    users: int = 5000
    tenants: int = 250
    chunk_rows: int = 1_000_000  # calls generated and written at a time (bounds memory)

    def __post_init__(self) -> None:
        if self.days < 1 or self.calls_per_day < 1:
            raise ValueError("days and calls_per_day must be at least 1")
        unknown = set(self.log_formats) - set(LOG_FORMATS)
        if unknown:
            raise ValueError(f"unknown log format(s) {sorted(unknown)}; known: {list(LOG_FORMATS)}")
        if "mixed" in self.log_formats and len(self.log_formats) > 1:
            raise ValueError("'mixed' is an organisation of its own: log_formats=('mixed',)")
        if self.users < 100 or self.tenants < 1 or self.tenants > self.users:
            raise ValueError("need at least 100 users and 1..users tenants")

    @property
    def first_day(self) -> date:
        return self.end_day - timedelta(days=self.days - 1)

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)

    def calls_on(self, day: date) -> int:
        if self.seasonality and day.weekday() >= 5:
            return max(1, round(self.calls_per_day * WEEKEND_FACTOR))
        return self.calls_per_day

    def index_at(self, fraction: float) -> int:
        """The day index a fraction of the period falls on (never 0 for a change that needs a baseline)."""
        if fraction <= 0:
            return 0
        return min(self.days - 1, max(1, int(self.days * fraction)))


@dataclass
class DayTruth:
    day: str
    logged_calls: int
    billed_calls: int  # logged calls that reached the provider and were billed
    outcomes: int
    logged_list_cost_usd: Decimal
    logged_list_cost_by_provider: dict[str, Decimal]
    billed_usd: dict[str, Decimal]  # per provider, gross (before GCP credits)
    billed_total_usd: Decimal
    credits_usd: Decimal  # GCP credits of the day (negative)
    unlogged_usd: Decimal  # sum of the day's planted gaps
    by_model: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Gap:
    kind: str  # unlogged_retries | batch_job | outside_app
    day: str
    provider: str
    model: str
    is_batch: bool
    owner: str  # kind:id, the most specific owner the provider data gives
    project_id: str | None
    workspace_id: str | None
    api_key_id: str | None
    requests: int
    input_tokens: int
    output_tokens: int
    amount_usd: Decimal
    description: str


@dataclass
class Drift:
    app: str
    feature: str
    model: str
    prompt_version: str
    previous_prompt_version: str
    first_day: str
    input_tokens_change_pct: float  # designed change of input tokens per call
    mean_input_tokens_before: float | None  # measured on billed calls
    mean_input_tokens_after: float | None


@dataclass
class GroundTruth:
    spec: dict[str, Any]
    days: list[DayTruth]
    gaps: list[Gap]
    drift: Drift
    org: dict[str, Any]
    files: list[str]
    mixed: dict[str, Any] | None = None  # the mixed organisation's own truth (truth_mixed.py); absent otherwise

    def to_json(self) -> str:
        data = asdict(self)
        if data["mixed"] is None:
            del data["mixed"]
        return json.dumps(data, default=_json_default, indent=2, sort_keys=False) + "\n"

    def write(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @property
    def billed_total_usd(self) -> Decimal:
        return sum((d.billed_total_usd for d in self.days), Decimal(0))

    @property
    def unlogged_total_usd(self) -> Decimal:
        return sum((g.amount_usd for g in self.gaps), Decimal(0))


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
