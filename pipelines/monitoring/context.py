"""What detection knows about one day: the baselines and spend changes per subject, each computed once when asked.

Detection (``drift.py``) and the grouping of findings into stories (``stories.py``) share it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipelines.monitoring.baseline import Baseline, baseline, median
from pipelines.monitoring.drift_config import DriftConfig
from pipelines.monitoring.explain import SpendChange, story_for
from pipelines.monitoring.metrics import metric_history
from pipelines.monitoring.series import Agg, History, Subject


class Context:
    """What detection knows about the day: baselines and spend changes per subject, computed once when asked."""

    def __init__(self, h: History, day: date, cfg: DriftConfig, weights: dict):
        self.h, self.day, self.cfg, self.weights = h, day, cfg, weights
        self._bases: dict[Subject, Baseline | None] = {}
        self._changes: dict[Subject, SpendChange | None] = {}

    def cost_base(self, s: Subject) -> Baseline | None:
        if s not in self._bases:
            cfg = self.cfg
            self._bases[s] = baseline(metric_history(self.h, s, "cost_usd", self.day, cfg), self.day, True,
                                      cfg.baseline_days, cfg.min_history_days)
        return self._bases[s]

    def change(self, s: Subject) -> SpendChange | None:
        if s not in self._changes:
            base, agg = self.cost_base(s), self.h.agg(s, self.day)
            self._changes[s] = (story_for(self.h, s, self.day, base.value, agg, self.weights, self.cfg)
                                if base is not None and agg is not None else None)
        return self._changes[s]

    def org_scale(self) -> Decimal:
        """The organisation's usual daily spend: the median of its last 28 days, weekdays and weekends alike."""
        spend = metric_history(self.h, Subject("total"), "cost_usd", self.day, self.cfg)
        if spend:
            return median(spend.values())
        return (self.h.agg(Subject("total"), self.day) or Agg()).spend
