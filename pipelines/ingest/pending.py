"""Land every file under ``landing/`` that has not been landed yet."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.land import LandResult, land_file
from pipelines.settings import Settings

IGNORED_SUFFIXES = {".tmp", ".part", ".md"}


def pending_files(settings: Settings) -> list[Path]:
    if not settings.landing.exists():
        return []
    return sorted(
        p
        for p in settings.landing.rglob("*")
        if p.is_file() and not p.name.startswith(".") and p.suffix not in IGNORED_SUFFIXES
        and p.name != "ground_truth.json"
    )


def land_pending(settings: Settings) -> list[LandResult]:
    return [land_file(p, settings) for p in pending_files(settings)]
