"""When a change is a drift event: detection's thresholds and windows (what each decides: ``drift.py``), with their
defaults; tokenbooks.yaml's optional ``drift:`` section overrides them.

Its own module because every step of detection (``metrics.py``, ``explain.py``, ``context.py``, ``drift.py``) reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipelines.settings import Settings


@dataclass(frozen=True)
class DriftConfig:
    z: Decimal = Decimal(4)
    min_effect_usd: Decimal = Decimal("0.05")
    min_effect_share: Decimal = Decimal("0.01")
    min_requests: int = 30
    min_history_days: int = 7
    baseline_days: int = 14
    max_tenants: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> "DriftConfig":
        raw = settings.section("drift")
        kwargs: dict[str, Any] = {}
        for name, kind in (("z", Decimal), ("min_effect_usd", Decimal), ("min_effect_share", Decimal),
                           ("min_requests", int), ("min_history_days", int), ("max_tenants", int)):
            if name in raw:
                kwargs[name] = kind(str(raw[name]))
        return cls(**kwargs)
