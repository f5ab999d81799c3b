"""One settings object: where the data lives and what `tokenbooks.yaml` says.

The home is found the same way by the CLI, Dagster and the tests: ``--home`` (or the resource's ``home``),
else ``TOKENBOOKS_HOME``, else ``./data``. Nothing creates a home that was not named: the ``./data`` default
is used only when it exists. The config file is ``$TOKENBOOKS_HOME/tokenbooks.yaml``, or ``--config`` /
``TOKENBOOKS_CONFIG`` (which must exist); it is validated against :mod:`pipelines.config`. Dagster's instance
lives in ``$TOKENBOOKS_HOME/dagster`` unless ``DAGSTER_HOME`` says otherwise. Secrets are never read from the
file: they come from the environment, through :func:`secret`.
"""

from __future__ import annotations

from functools import cached_property
import dataclasses
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipelines.config import Budget, Recipient, SmtpConfig, TokenbooksConfig, json_schema, validate
from pipelines.config_errors import describe
from pipelines.errors import UserError

__all__ = ["Budget", "ConfigError", "HomeError", "Recipient", "Settings", "SmtpConfig", "load_settings", "secret"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = PROJECT_ROOT / "models"
SCHEMAS_DIR = PROJECT_ROOT / "schemas"
REPORTS_DIR = PROJECT_ROOT / "reports"
# mart_sessions flags a session past median + k·MAD of its feature's sessions that day (README, "Runaway sessions").
RUNAWAY_K = 10
DEFAULT_HOME = "data"

# Environment variables that hold secrets. Nothing else in the code reads secrets.
SECRET_ENV = {
    "smtp_password": "TOKENBOOKS_SMTP_PASSWORD",
    "openai_admin_key": "OPENAI_ADMIN_KEY",
    "anthropic_admin_key": "ANTHROPIC_ADMIN_KEY",
    "user_hash_key": "TOKENBOOKS_USER_HASH_KEY",
}
# Settings the environment may give instead of the file (for a container or CI): smtp key -> variable.
SMTP_ENV = {"host": "TOKENBOOKS_SMTP_HOST", "port": "TOKENBOOKS_SMTP_PORT", "user": "TOKENBOOKS_SMTP_USER"}
SECRET_KEYS = ("password", "api_key", "admin_key")


class ConfigError(UserError, ValueError):
    """The config file is unreadable or says something that cannot be right."""


class HomeError(ConfigError):
    """No tokenbooks home where one was looked for."""


def secret(name: str) -> str | None:
    """A secret from the environment, by its logical name (see ``SECRET_ENV``)."""
    return os.environ.get(SECRET_ENV[name]) or None


@dataclass(frozen=True)
class Settings:
    home: Path
    config_path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the file as read; ``config`` is what it means
    explicit: bool = True  # the home was named (--home, TOKENBOOKS_HOME, code), not the ./data default
    dagster_home: Path | None = None  # DAGSTER_HOME when set; else the instance lives in home/dagster
    config: TokenbooksConfig = field(init=False)
    smtp: SmtpConfig = field(init=False)

    def __post_init__(self) -> None:
        where = str(self.config_path or "tokenbooks.yaml")
        try:
            config = validate(self.raw, where)
        except ValueError as e:  # validate() names the file and each wrong key
            raise ConfigError(str(e)) from None
        env = {k: os.environ[v] for k, v in SMTP_ENV.items() if os.environ.get(v)}
        try:
            smtp = dataclasses.replace(config.smtp, **env) if env else config.smtp
        except ValidationError as e:
            named = ", ".join(SMTP_ENV[k] for k in env)
            raise ConfigError(f"environment ({named}): smtp: {describe(e, json_schema())}") from None
        object.__setattr__(self, "config", config)
        object.__setattr__(self, "smtp", smtp)

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

    @property
    def instance_dir(self) -> Path:
        """Dagster's instance: DAGSTER_HOME when set, else inside the home."""
        return self.dagster_home or self.home / "dagster"

    def require_home(self) -> None:
        """Refuse to go on where no home exists, and say how to point at one."""
        if not self.home.is_dir():
            raise HomeError(
                f"no tokenbooks home at {self.home}: pass --home DIR or set TOKENBOOKS_HOME "
                "(`tokenbooks ingest` and `tokenbooks build` create a home you name)"
            )

    def ensure_dirs(self) -> None:
        """Create the home's folders; a home is created only when it was named, never the ./data default."""
        if not self.explicit:
            self.require_home()
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

    # ---- config ----
    def section(self, name: str) -> dict[str, Any]:
        """A section as the mapping the file gave (validated; unset keys left out), for code that reads one."""
        if name == "smtp":
            return dataclasses.asdict(self.smtp)
        value = getattr(self.config, name)
        if isinstance(value, dict):  # a mapping of named entries (endpoints: {name: {...}})
            return {k: v.model_dump(exclude_unset=True) for k, v in value.items()}
        return value.model_dump(exclude_unset=True)

    @property
    def attribute_mapping(self) -> dict[str, list[str]]:
        """field -> source attribute/tag/metadata names to look in, first hit wins."""
        return {k: v for k, v in self.config.attributes.model_dump().items() if v}

    @property
    def model_tiers(self) -> dict[str, str]:
        return dict(self.config.model_tiers)

    @property
    def model_aliases(self) -> dict[str, str]:
        return dict(self.config.model_aliases)

    @property
    def price_overrides(self) -> list[dict[str, Any]]:
        return [o.model_dump(by_alias=True, exclude_none=True) for o in self.config.price_overrides]

    @property
    def owners(self) -> dict[str, dict[str, str | None]]:
        """Provider owner id (project, workspace, key, tag) -> {'app': …, 'team': …}."""
        return {k: v.model_dump() for k, v in self.config.owners.items()}

    @cached_property
    def endpoints(self) -> dict[str, dict[str, Any]]:
        """Serving endpoint name -> {resources, models, provider, capacity_tokens_per_hour, reference_model, app}."""
        out = {}
        for name, spec in self.section("endpoints").items():
            if spec is not None and not isinstance(spec, dict):
                raise ConfigError(f"{self.config_path}: endpoints.{name} must be a mapping")
            out[str(name)] = dict(spec or {})
        return out

    @property
    def budgets(self) -> list[Budget]:
        return list(self.config.budgets)

    @property
    def recipients(self) -> list[Recipient]:
        return [Recipient(address=r) if isinstance(r, str) else r for r in self.config.recipients]

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
        return self.config.restate_days

    @property
    def timezone(self) -> str:
        return "UTC"


def load_settings(home: str | Path | None = None, config: str | Path | None = None) -> Settings:
    """The settings for ``home`` (else TOKENBOOKS_HOME, else ./data) and its config file, validated."""
    named_home = home or os.environ.get("TOKENBOOKS_HOME") or None
    home_path = Path(named_home or DEFAULT_HOME).resolve()
    named_config = config or os.environ.get("TOKENBOOKS_CONFIG") or None
    config_path = Path(named_config).resolve() if named_config else home_path / "tokenbooks.yaml"
    if named_config and not config_path.is_file():
        raise ConfigError(f"{config_path}: no such config file (named by --config or TOKENBOOKS_CONFIG)")
    raw = read_config(config_path) if config_path.is_file() else {}
    dagster_home = os.environ.get("DAGSTER_HOME")
    return Settings(
        home=home_path,
        config_path=config_path if config_path.is_file() else None,
        raw=raw,
        explicit=named_home is not None,
        dagster_home=Path(dagster_home).resolve() if dagster_home else None,
    )


def read_config(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as e:  # ValueError: a date like 2026-13-01
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot be read: {e.strerror}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    for forbidden in SECRET_KEYS:
        if _contains_key(raw, forbidden):
            raise ConfigError(f"{path}: secrets ({forbidden}) belong in environment variables, not the config file")
    return raw


def _contains_key(obj: Any, needle: str) -> bool:
    if isinstance(obj, dict):
        return any(needle in str(k).lower() or _contains_key(v, needle) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_contains_key(v, needle) for v in obj)
    return False
