"""The organisation of ``org.py`` as numpy lookup arrays, so rows are drawn without Python loops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from pipelines.sample.org import GAPS, Feature
from pipelines.sample.orgs import ALL_MODELS, MODEL_INDEX, OWNER_INDEX, Org
from pipelines.sample.spec import SampleSpec

STATUSES = ("ok", "error", "rate_limited", "timeout", "aborted")
OK, ERROR, RATE_LIMITED, TIMEOUT, ABORTED = range(5)
CACHE_KINDS = ("none", "openai", "anthropic", "google")

# Requests per UTC hour, relative: EU morning, EU afternoon + US morning peak, quiet night.
HOURLY = np.array([0.25, 0.2, 0.18, 0.18, 0.2, 0.3, 0.5, 0.8, 1.0, 1.1, 1.15, 1.2,
                   1.3, 1.5, 1.6, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.55, 0.4, 0.3])
_EDGES_S = np.arange(25, dtype=np.float64) * 3600.0
_CUM = np.concatenate([[0.0], np.cumsum(HOURLY) / HOURLY.sum()])


def time_of_day(u: np.ndarray) -> np.ndarray:
    """Seconds after midnight for quantiles ``u`` of the day's traffic (inverse CDF)."""
    return np.interp(u, _CUM, _EDGES_S)


def _arr(values, dtype=np.float64) -> np.ndarray:
    return np.array(list(values), dtype=dtype)


@dataclass(frozen=True)
class Tables:
    share: np.ndarray
    session_mean: np.ndarray
    in_median: np.ndarray
    in_sigma: np.ndarray
    out_median: np.ndarray
    out_sigma: np.ndarray
    cache_kind: np.ndarray
    prefix: np.ndarray
    cache_hit: np.ndarray
    ttl_1h: np.ndarray
    shared_prefix: np.ndarray
    think_p: np.ndarray
    think_lo: np.ndarray
    think_hi: np.ndarray
    response_cache: np.ndarray
    streaming: np.ndarray
    batch: np.ndarray
    long_context: np.ndarray
    history_growth: np.ndarray
    outcome_p: np.ndarray
    is_embedding: np.ndarray
    # variants: one per (feature, model, raw string)
    var_key: np.ndarray
    var_feature: np.ndarray
    var_model: np.ndarray
    var_owner: np.ndarray
    var_raw: tuple[str, ...]
    model_ms_per_token: np.ndarray
    model_provider: np.ndarray  # index into PROVIDERS
    features: tuple[Feature, ...]
    retry_feature: int  # the feature whose SDK retries go unlogged on incident days
    var_observers: tuple[tuple[str, ...], ...]  # log sources that see each variant's calls
    var_batch_ok: np.ndarray  # the variant's route has a batch API
    batch_variant: np.ndarray  # per feature: the variant a batch call goes to when its pick has no batch API
    decoy_feature: int  # the feature id-less decoy twins are planted in (-1: none)
    out_cap: np.ndarray  # per feature: output cap (0: none)
    agent: np.ndarray  # per feature: sessions are agent runs (traces with parent steps)

    @property
    def levers(self) -> bool:
        """The organisation logs caps, finish reasons and traces (only the mixed one: the classic stays as pinned)."""
        return bool((self.out_cap > 0).any() or self.agent.any())

    def pick_variant(self, feature: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.var_key, feature + u, side="right")


PROVIDERS = ("openai", "anthropic", "google", "azure", "aws")


def build_tables(org: Org) -> Tables:
    fs = org.features
    keys, vf, vm, vo, raws, observers, batch_ok, batch_var = [], [], [], [], [], [], [], []
    for i, f in enumerate(fs):
        cum = 0.0
        entries = [(r, raw, r.share * w) for r in f.routes for raw, w in r.raw]
        total = sum(p for _, _, p in entries)
        batch_var.append(len(keys) + next(j for j, (r, _, _) in enumerate(entries) if r.batch_ok))
        for j, (route, raw, p) in enumerate(entries):
            cum += p / total
            model = ALL_MODELS[MODEL_INDEX[route.model]]
            keys.append(i + (1.0 if j == len(entries) - 1 else cum))
            vf.append(i)
            vm.append(MODEL_INDEX[route.model])
            vo.append(OWNER_INDEX[f"{f.app}/{model.provider}"])
            raws.append(raw)
            observers.append(route.observers or f.observers)
            batch_ok.append(route.batch_ok)
    think = [f.reasoning or (0.0, 0.0, 0.0) for f in fs]
    return Tables(
        share=_arr(f.share for f in fs),
        session_mean=_arr(f.session_calls for f in fs),
        in_median=_arr(f.input_median for f in fs),
        in_sigma=_arr(f.input_sigma for f in fs),
        out_median=_arr(f.output_median for f in fs),
        out_sigma=_arr(f.output_sigma for f in fs),
        cache_kind=_arr((CACHE_KINDS.index(f.cache) for f in fs), np.int8),
        prefix=_arr(f.prefix_tokens for f in fs),
        cache_hit=_arr(f.cache_hit for f in fs),
        ttl_1h=_arr(f.ttl_1h for f in fs),
        shared_prefix=_arr((f.shared_prefix for f in fs), bool),
        think_p=_arr(t[0] for t in think),
        think_lo=_arr(t[1] for t in think),
        think_hi=_arr(t[2] for t in think),
        response_cache=_arr(f.response_cache for f in fs),
        streaming=_arr((f.streaming for f in fs), bool),
        batch=_arr(f.batch for f in fs),
        long_context=_arr(f.long_context for f in fs),
        history_growth=_arr(f.history_growth for f in fs),
        outcome_p=_arr((f.outcome[1] if f.outcome else 0.0) for f in fs),
        is_embedding=_arr((ALL_MODELS[MODEL_INDEX[f.routes[0].model]].operation == "embeddings" for f in fs), bool),
        var_key=_arr(keys),
        var_feature=_arr(vf, np.int16),
        var_model=_arr(vm, np.int16),
        var_owner=_arr(vo, np.int16),
        var_raw=tuple(raws),
        model_ms_per_token=_arr(m.ms_per_token for m in ALL_MODELS),
        model_provider=_arr((PROVIDERS.index(m.provider) for m in ALL_MODELS), np.int8),
        features=fs,
        retry_feature=org.feature_index(GAPS.retry_feature),
        var_observers=tuple(observers),
        var_batch_ok=_arr(batch_ok, bool),
        batch_variant=_arr(batch_var, np.int64),
        decoy_feature=org.feature_index(org.decoy_feature) if org.decoy_feature else -1,
        out_cap=_arr((f.max_output for f in fs), np.int64),
        agent=_arr((f.agent for f in fs), bool),
    )


def prompt_of(spec: SampleSpec, feature: Feature, day_index: int) -> tuple[str | None, float, float]:
    """The prompt version live on a day, and its input- and output-length multipliers."""
    live = None
    for p in feature.prompts:
        if spec.index_at(p.start) <= day_index:
            live = p
    return (live.version, live.input_mult, live.output_mult) if live else (None, 1.0, 1.0)


@dataclass(frozen=True)
class Population:
    """Users (heavy-tailed activity) and the tenants they belong to."""

    user_cdf: np.ndarray
    user_tenant: np.ndarray
    user_ids: tuple[str, ...]
    tenant_ids: tuple[str, ...]


def build_population(spec: SampleSpec) -> Population:
    rng = np.random.default_rng([spec.seed, 1])
    # Zipf-like activity (rank^-0.9) over users in a random order: the top 1% make ~35% of calls.
    weights = np.arange(1, spec.users + 1, dtype=np.float64) ** -0.9
    weights = weights[rng.permutation(spec.users)]
    tenant_w = np.arange(1, spec.tenants + 1, dtype=np.float64) ** -1.0
    user_tenant = rng.choice(spec.tenants, size=spec.users, p=tenant_w / tenant_w.sum())
    return Population(
        user_cdf=np.cumsum(weights) / weights.sum(),
        user_tenant=user_tenant,
        user_ids=tuple(f"u_{i:06d}" for i in range(spec.users)),
        tenant_ids=tuple(f"t_{i:04d}" for i in range(spec.tenants)),
    )


def day_epoch_ms(day: date) -> int:
    return (day.toordinal() - date(1970, 1, 1).toordinal()) * 86_400_000
