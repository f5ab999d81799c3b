"""One settings object: where the data lives and what `tokenbooks.yaml` says.

Paths come from ``TOKENBOOKS_HOME`` (default ``./data``); the optional config file
is ``$TOKENBOOKS_HOME/tokenbooks.yaml`` or ``$TOKENBOOKS_CONFIG``. Secrets are never
read from the file: they come from the environment, through :func:`secret`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = PROJECT_ROOT / "models"
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
REPORTS_DIR = PROJECT_ROOT / "reports"
# mart_sessions flags a session past median + k·MAD of its feature's sessions that day (README, "Runaway sessions").
RUNAWAY_K = 10

# Environment variables that hold secrets. Nothing else in the code reads secrets.
SECRET_ENV = {
    "smtp_password": "TOKENBOOKS_SMTP_PASSWORD",
    "openai_admin_key": "OPENAI_ADMIN_KEY",
    "anthropic_admin_key": "ANTHROPIC_ADMIN_KEY",
    "user_hash_key": "TOKENBOOKS_USER_HASH_KEY",
}


class ConfigError(ValueError):
    """The config file is unreadable or says something that cannot be right."""


def secret(name: str) -> str | None:
    """A secret from the environment, by its logical name (see ``SECRET_ENV``)."""
    return os.environ.get(SECRET_ENV[name]) or None


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = None
    port: int = 587
    user: str | None = None
    sender: str = "tokenbooks@localhost"
    starttls: bool = True
    timeout_s: float = 30.0


@dataclass(frozen=True)
class Recipient:
    address: str
    apps: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Budget:
    name: str
    limit_usd: Decimal
    period: str = "monthly"  # monthly | daily
    scope: str = "total"  # total | app | feature | tenant
    value: str | None = None  # the app/feature/tenant the budget is for
    at_risk_pct: Decimal = Decimal("0.9")


@dataclass(frozen=True)
class Settings:
    home: Path
    config_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    # ---- paths ----
    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def work(self) -> Path:
        """Scratch space for builds (DuckDB spill files, files being written)."""
        return self.home / ".work"

    def ensure_dirs(self) -> None:
        for p in (self.landing, self.lake, self.quarantine, self.outbox, self.work):
            p.mkdir(parents=True, exist_ok=True)

    def resolve_path(self, value: str) -> Path:
        """A path from config: relative ones stay inside ``home``; absolute ones are taken as meant."""
        p = Path(value)
        if p.is_absolute():
            return p
        resolved = (self.home / p).resolve()
        if not resolved.is_relative_to(self.home.resolve()):
            raise ConfigError(f"{self.config_path}: path {value!r} escapes TOKENBOOKS_HOME")
        return resolved

    # ---- config sections ----
    def section(self, name: str) -> dict[str, Any]:
        value = self.raw.get(name) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"{self.config_path}: '{name}' must be a mapping")
        return value

    @cached_property
    def attribute_mapping(self) -> dict[str, list[str]]:
        """field -> source attribute/tag/metadata names to look in, first hit wins."""
        return {k: list(v) if isinstance(v, list) else [v] for k, v in self.section("attributes").items()}

    @cached_property
    def model_tiers(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.section("model_tiers").items()}

    @cached_property
    def model_aliases(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self.section("model_aliases").items()}

    @cached_property
    def price_overrides(self) -> list[dict[str, Any]]:
        value = self.raw.get("price_overrides") or []
        if not isinstance(value, list):
            raise ConfigError(f"{self.config_path}: 'price_overrides' must be a list")
        return value

    @cached_property
    def owners(self) -> dict[str, dict[str, str]]:
        """Provider owner id (project, workspace, key, tag) -> {'app': …, 'team': …}."""
        return {str(k): dict(v) for k, v in self.section("owners").items()}

    @cached_property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Serving endpoint name -> {resources, models, provider, capacity_tokens_per_hour, reference_model, app}."""
        out = {}
        for name, spec in self.section("endpoints").items():
            if spec is not None and not isinstance(spec, dict):
                raise ConfigError(f"{self.config_path}: endpoints.{name} must be a mapping")
            out[str(name)] = dict(spec or {})
        return out

    @cached_property
    def budgets(self) -> list[Budget]:
        out = []
        for b in self.raw.get("budgets") or []:
            try:
                out.append(
                    Budget(
                        name=str(b["name"]),
                        limit_usd=Decimal(str(b["limit_usd"])),
                        period=str(b.get("period", "monthly")),
                        scope=str(b.get("scope", "total")),
                        value=b.get("value"),
                        at_risk_pct=Decimal(str(b.get("at_risk_pct", "0.9"))),
                    )
                )
            except (KeyError, ArithmeticError) as e:
                raise ConfigError(f"{self.config_path}: budget {b!r} is missing or has a bad {e}") from None
        return out

    @cached_property
    def recipients(self) -> list[Recipient]:
        out = []
        for r in self.raw.get("recipients") or []:
            if isinstance(r, str):
                out.append(Recipient(address=r))
            else:
                out.append(
                    Recipient(
                        address=str(r["address"]),
                        apps=tuple(r.get("apps") or ()),
                        features=tuple(r.get("features") or ()),
                    )
                )
        return out

    @cached_property
    def smtp(self) -> SmtpConfig:
        s = self.section("smtp")
        return SmtpConfig(
            host=os.environ.get("TOKENBOOKS_SMTP_HOST") or s.get("host"),
            port=int(os.environ.get("TOKENBOOKS_SMTP_PORT") or s.get("port") or 587),
            user=os.environ.get("TOKENBOOKS_SMTP_USER") or s.get("user"),
            sender=s.get("sender", "tokenbooks@localhost"),
            starttls=bool(s.get("starttls", True)),
        )

    @cached_property
    def runaway(self) -> tuple[Decimal, list[dict[str, Any]]]:
        """mart_sessions' runaway rule: k of median + k·MAD, and per-feature ceilings (feature, app, calls, cost_usd)."""
        s = self.section("runaway")
        try:
            k = Decimal(str(s.get("k", RUNAWAY_K)))
            ceilings = [
                {"app": c.get("app"), "feature": str(c["feature"]),
                 "max_calls": int(c["calls"]) if c.get("calls") is not None else None,
                 "max_cost_usd": Decimal(str(c["cost_usd"])) if c.get("cost_usd") is not None else None}
                for c in s.get("ceilings") or []
            ]
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as e:
            raise ConfigError(f"{self.config_path}: runaway: bad k or ceiling ({e}); "
                              "expected {k: 10, ceilings: [{feature: NAME, calls: N, cost_usd: X}]}") from None
        return k, ceilings

    @property
    def restate_days(self) -> int:
        return int(self.raw.get("restate_days", 3))

    @property
    def timezone(self) -> str:
        return "UTC"


def load_settings(home: str | Path | None = None, config: str | Path | None = None) -> Settings:
    home_path = Path(home or os.environ.get("TOKENBOOKS_HOME") or "data").resolve()
    config_env = config or os.environ.get("TOKENBOOKS_CONFIG")
    config_path = Path(config_env) if config_env else home_path / "tokenbooks.yaml"
    raw: dict[str, Any] = {}
    if config_path.exists():
        try:
            raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{config_path}: not valid YAML: {e}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{config_path}: the top level must be a mapping")
        for forbidden in ("password", "api_key", "admin_key"):
            if _contains_key(raw, forbidden):
                raise ConfigError(
                    f"{config_path}: secrets ({forbidden}) belong in environment variables, not the config file"
                )
    return Settings(home=home_path, config_path=config_path if config_path.exists() else None, raw=raw)


def _contains_key(obj: Any, needle: str) -> bool:
    if isinstance(obj, dict):
        return any(needle in str(k).lower() or _contains_key(v, needle) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_contains_key(v, needle) for v in obj)
    return False
