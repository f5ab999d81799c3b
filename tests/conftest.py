"""Shared fixtures: every test gets its own TOKENBOOKS_HOME and DAGSTER_HOME under tmp_path."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from pipelines.settings import Settings, load_settings

warnings.filterwarnings("ignore", message=".*is currently in beta.*")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh tokenbooks home; DAGSTER_HOME and TOKENBOOKS_HOME point inside tmp_path."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    monkeypatch.setenv("TOKENBOOKS_HOME", str(tmp_path / "tb"))
    for var in ("TOKENBOOKS_CONFIG", "TOKENBOOKS_USER_HASH_KEY"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings(home=tmp_path / "tb")
    settings.ensure_dirs()
    return settings


def land_and_build(settings: Settings, files: list[Path], days: list) -> Settings:
    """Land each file (whole: no error, nothing quarantined), build each day, publish: a hand-made warehouse."""
    from pipelines.ingest.land import land_file
    from pipelines.warehouse.build import build_day
    from pipelines.warehouse.publish import publish

    for path in files:
        result = land_file(path, settings)
        assert result.error is None and result.quarantined == 0, result.error
    for day in days:
        build_day(day, settings)
    publish(settings)
    return settings


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def call(**overrides) -> dict:
    """One canonical call-log record with sensible defaults."""
    record = {
        "call_id": "c-1",
        "occurred_at": "2026-11-10T12:00:00Z",
        "provider": "openai",
        "model": "gpt-4o-mini-2024-07-18",
        "app": "support-bot",
        "feature": "triage",
        "user_id": "u-1",
        "tenant_id": "t-1",
        "input_tokens": 1000,
        "cached_input_tokens": 0,
        "output_tokens": 100,
        "status": "ok",
    }
    record.update(overrides)
    return record
