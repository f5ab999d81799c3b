"""The schema of ``tokenbooks.yaml``: every key, its type and its default, validated with pydantic.

An unknown key, a value of the wrong type and a missing file named on purpose are refused with the key's
path and what was expected (:func:`validate`, worded by ``config_errors.py``). The JSON Schema editors use to check the file is generated
from :class:`TokenbooksConfig` (``tokenbooks config schema``) and kept in
``schemas/config/tokenbooks.schema.json``. Secrets never go in the file: they come from the environment.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator
from pydantic.dataclasses import dataclass

from pipelines.config_errors import describe

FORBID = ConfigDict(extra="forbid")

# One mailbox, nothing else: no display name, no list, no header folding. A CR or LF would let a value write
# its own mail headers, and "ok@x, extra@evil" would put a second recipient in To:.
ADDRESS = re.compile(r"[^\s@,;:<>()\[\]\"\\]+@[^\s@,;:<>()\[\]\"\\]+")


def check_address(value: Any) -> str:
    """One e-mail address (``local@domain``), or a ValueError saying what is wrong with it."""
    if not isinstance(value, str):
        return value  # pydantic's own type error says what was expected
    if any(c in value for c in "\r\n\0"):
        raise ValueError("an e-mail address cannot contain a line break")
    if not ADDRESS.fullmatch(value.strip()):
        raise ValueError("expected one e-mail address like name@example.com")
    return value.strip()


Address = Annotated[str, BeforeValidator(check_address),
                    WithJsonSchema({"type": "string", "pattern": f"^{ADDRESS.pattern}$", "description": "name@example.com"})]
# A key that may list several source names, or give one as a plain string.
Names = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
                  WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})]
ProviderModel = Annotated[str, Field(pattern=r"^[^/\s]+/\S+$", description="provider/model, e.g. openai/gpt-4o-mini")]


class Attributes(BaseModel):
    """Which source attribute, tag (``tag:NAME``) or metadata key holds each field; first hit wins."""

    model_config = FORBID
    app: Names = []
    feature: Names = []
    user_id: Names = []
    tenant_id: Names = []
    session_id: Names = []
    prompt_version: Names = []
    call_id: Names = []
    provider_request_id: Names = []
    team: Names = Field([], description="provider tags that name the team owning unattributed spend")
    trace_id: Names = []
    parent_call_id: Names = []
    endpoint: Names = Field([], description="bill tags/labels that name a serving endpoint (GPU, SageMaker, PTU lines)")


class PriceOverride(BaseModel):
    """A negotiated discount, or the prices of a model no price library knows (fine-tuned, self-hosted)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    provider: str | None = Field(None, description="default: any provider")
    model: str
    from_: date | None = Field(None, alias="from", description="first day it applies (default: always)")
    to: date | None = Field(None, description="last day it applies (default: always)")
    discount_pct: Decimal | None = Field(None, ge=0, le=100)
    batch_discount_pct: Decimal | None = Field(None, ge=0, le=100)
    input_usd_per_mtok: Decimal | None = Field(None, ge=0)
    cached_input_usd_per_mtok: Decimal | None = Field(None, ge=0)
    cache_write_5m_usd_per_mtok: Decimal | None = Field(None, ge=0)
    cache_write_1h_usd_per_mtok: Decimal | None = Field(None, ge=0)
    output_usd_per_mtok: Decimal | None = Field(None, ge=0)


class Owner(BaseModel):
    model_config = FORBID
    app: str | None = None
    team: str | None = None


@dataclass(frozen=True, config=FORBID)
class Budget:
    name: str
    limit_usd: Decimal = Field(ge=0)
    period: Literal["monthly", "daily"] = "monthly"
    scope: Literal["total", "app", "feature", "tenant"] = "total"
    value: str | None = Field(None, description="the app, feature or tenant the budget is for")
    at_risk_pct: Decimal = Field(Decimal("0.9"), gt=0, le=1, description="status at_risk from this share of the limit")

    @model_validator(mode="after")
    def _value_for_scope(self) -> "Budget":
        if self.scope != "total" and self.value is None:
            raise ValueError(f"a budget with scope {self.scope} needs a value (which {self.scope})")
        return self


@dataclass(frozen=True, config=FORBID)
class Recipient:
    address: Address
    apps: tuple[str, ...] = Field((), description="only these apps' spend (default: all)")
    features: tuple[str, ...] = Field((), description="only these features' spend (default: all)")


@dataclass(frozen=True, config=FORBID)
class SmtpConfig:
    host: str | None = Field(None, description="also TOKENBOOKS_SMTP_HOST; none: the digest stays in the outbox")
    port: int = Field(587, ge=1, le=65535, description="also TOKENBOOKS_SMTP_PORT; 465 is implicit TLS")
    user: str | None = Field(None, description="also TOKENBOOKS_SMTP_USER; the password is TOKENBOOKS_SMTP_PASSWORD")
    sender: Address = "tokenbooks@localhost"
    starttls: bool = True
    timeout_s: float = Field(30.0, gt=0)
    attempts: int = Field(3, ge=1, description="tries per message, with exponential backoff")
    backoff_s: float = Field(2.0, ge=0)

    @model_validator(mode="after")
    def _no_line_breaks(self) -> "SmtpConfig":
        for name in ("host", "user"):
            if any(c in (getattr(self, name) or "") for c in "\r\n\0"):
                raise ValueError(f"{name} cannot contain a line break")
        return self


class Drift(BaseModel):
    """When a change is an event (defaults in pipelines/monitoring/drift_config.py)."""

    model_config = FORBID
    z: Decimal | None = Field(None, gt=0, description="robust z-score an event needs (default 4)")
    min_effect_usd: Decimal | None = Field(None, ge=0, description="money an event must move per day (default: 1 % of the usual daily spend, at least $0.05)")
    min_effect_share: Decimal | None = Field(None, ge=0, le=1, description="or this share of daily spend (default 0.005)")
    min_requests: int | None = Field(None, ge=0)
    min_history_days: int | None = Field(None, ge=1)
    max_tenants: int | None = Field(None, ge=0)


class Pull(BaseModel):
    """The admin-API pulls (keys: OPENAI_ADMIN_KEY, ANTHROPIC_ADMIN_KEY)."""

    model_config = FORBID
    nightly: bool = Field(True, description="the nightly schedule pulls every provider whose key is set; "
                                            "`tokenbooks build` pulls only with --pull")
    timeout_s: float = Field(30.0, gt=0, description="connect and read timeout of one request")
    total_timeout_s: float = Field(300.0, gt=0, description="a pull of one provider gives up after this long")
    retries: int = Field(5, ge=0, description="retries of a request on 429, 5xx and connection errors")
    openai_base_url: str | None = Field(None, description="a proxy in front of https://api.openai.com")
    anthropic_base_url: str | None = Field(None, description="a proxy in front of https://api.anthropic.com")


class Dagster(BaseModel):
    """The Dagster code location."""

    model_config = FORBID
    first_day: date | None = Field(None, description="first daily partition (default: the first day landed)")
    schedule_on: bool = Field(False, description="nightly_schedule runs from the start (default: off until "
                                                 "turned on in the UI)")
    sensors_on: bool = Field(False, description="landing_sensor and landed_days_sensor run from the start")


class Warehouse(BaseModel):
    model_config = FORBID
    retain_hours: float = Field(24.0, ge=0, description="superseded build files are deleted this long after a "
                                                        "newer build replaced them (readers of older snapshots)")


class RunawayCeiling(BaseModel):
    """A feature's own ceiling: a session past it is a runaway whatever the day's other sessions did."""

    model_config = FORBID
    feature: str
    app: str | None = Field(None, description="default: the feature in any app")
    calls: int | None = Field(None, ge=1, description="calls a session may make")
    cost_usd: Decimal | None = Field(None, ge=0, description="what a session may cost")


class Runaway(BaseModel):
    """mart_sessions' runaway rule (README, "Runaway sessions")."""

    model_config = FORBID
    k: Decimal = Field(Decimal(10), gt=0, description="a session past median + k·MAD of its feature's sessions that day")
    ceilings: list[RunawayCeiling] = []


class Endpoint(BaseModel):
    """A serving endpoint whose infrastructure lines (GPU instances, SageMaker/Vertex/Azure ML endpoints,
    provisioned throughput) the calls it served carry (README, "Always-on and self-hosted serving")."""

    model_config = FORBID
    resources: list[str] = Field([], description="billed resource ids (CUR line_item_resource_id, Azure ResourceId)")
    models: list[str] = Field([], description="model names the endpoint's calls are logged with")
    provider: str | None = Field(None, description="the provider its calls are logged with (default self_hosted)")
    capacity_tokens_per_hour: Decimal | None = Field(None, gt=0, description="default: the day's busiest hour")
    reference_model: ProviderModel | None = Field(None, description="the API model its tokens are compared with")
    app: str | None = None


class TokenbooksConfig(BaseModel):
    """tokenbooks.yaml. Secrets are not read from it: they come from environment variables."""

    model_config = ConfigDict(extra="forbid", title="tokenbooks.yaml")
    attributes: Attributes = Attributes()
    model_aliases: dict[str, str] = Field({}, description="raw model string -> canonical name "
                                                          "(on top of schemas/model_aliases.yaml)")
    model_tiers: dict[str, Literal["frontier", "mid", "small"]] = Field(
        {}, description="provider/model or model -> tier (default: by list price of output tokens)")
    price_overrides: list[PriceOverride] = []
    owners: dict[str, Owner] = Field({}, description="provider owner (project:…, workspace:…, key:…, tag:k=v) "
                                                     "-> app and team")
    whatif_models: list[ProviderModel] | None = Field(None, description="models every feature is re-priced on")
    budgets: list[Budget] = []
    recipients: list[Address | Recipient] = []
    smtp: SmtpConfig = SmtpConfig()
    restate_days: int = Field(3, ge=0, description="the nightly run rebuilds yesterday and these days before it")
    duckdb_memory_limit: str = Field("3GB", pattern=r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
                                     description="the build's DuckDB memory; larger days spill to .work/")
    duckdb_threads: int | None = Field(None, ge=1, description="the build's DuckDB threads (default: one per core); "
                                                               "fewer when builds of several days run side by side")
    drift: Drift = Drift()
    runaway: Runaway = Runaway()
    endpoints: dict[str, Endpoint] = Field({}, description="serving endpoint name -> its resources and models")
    pull: Pull = Pull()
    dagster: Dagster = Dagster()
    warehouse: Warehouse = Warehouse()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of tokenbooks.yaml (what schemas/config/tokenbooks.schema.json holds)."""
    schema = TokenbooksConfig.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def validate(raw: dict[str, Any], where: str) -> TokenbooksConfig:
    """The config, or a ValueError naming each wrong key by its path and saying what was expected."""
    try:
        return TokenbooksConfig.model_validate(raw)
    except ValidationError as e:
        raise ValueError(f"{where}: {describe(e, json_schema())}") from None
