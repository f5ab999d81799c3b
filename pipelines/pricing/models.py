"""One canonical model name per model, whatever the spelling.

Rules live in ``schemas/model_aliases.yaml`` (regexes, in order) and
``tokenbooks.yaml`` (``model_aliases``: exact raw -> canonical). The map is applied
to the distinct (provider, raw) pairs of a frame, never row by row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
import yaml

from pipelines.settings import SCHEMAS_DIR, Settings


@lru_cache(maxsize=1)
def _rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    doc = yaml.safe_load((SCHEMAS_DIR / "model_aliases.yaml").read_text(encoding="utf-8"))
    return tuple((re.compile(r["pattern"]), r["replace"]) for r in doc["rules"])


@dataclass
class ModelCatalog:
    aliases: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings) -> "ModelCatalog":
        return cls(aliases={k.lower(): v for k, v in settings.model_aliases.items()})

    def canonical(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        name = raw.strip().lower()
        if name in self.aliases:
            return self.aliases[name]
        for pattern, replacement in _rules():
            name = pattern.sub(replacement, name)
        return self.aliases.get(name, name)

    def canonicalise(self, df: pl.DataFrame, raw_col: str = "model_raw", out_col: str = "model") -> pl.DataFrame:
        """Add ``out_col`` from ``raw_col`` through the distinct values only."""
        distinct = df[raw_col].unique().to_list()
        mapping = {raw: self.canonical(raw) for raw in distinct if raw is not None}
        return df.with_columns(pl.col(raw_col).replace_strict(mapping, default=None, return_dtype=pl.String).alias(out_col))
