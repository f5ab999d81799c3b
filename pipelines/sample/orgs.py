"""Which organisation a spec generates, and the catalogue of every model and owner either one uses.

``ALL_MODELS``/``ALL_OWNERS`` are the original organisation's followed by the mixed one's
additions, so a model or owner index means the same thing in both: arrays and exports index
into them whichever organisation is generated.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.sample.org import FEATURES, MODELS, OWNERS, Feature
from pipelines.sample.org_mixed import DECOY_FEATURE, MIXED_FEATURES, MIXED_MODELS, MIXED_OWNERS
from pipelines.sample.spec import SampleSpec

ALL_MODELS = MODELS + MIXED_MODELS
ALL_OWNERS = OWNERS + MIXED_OWNERS
MODEL_INDEX = {m.ref: i for i, m in enumerate(ALL_MODELS)}
OWNER_INDEX = {o.key: i for i, o in enumerate(ALL_OWNERS)}


@dataclass(frozen=True)
class Org:
    name: str
    features: tuple[Feature, ...]
    models: int  # how many of ALL_MODELS it uses (a prefix)
    owners: int  # how many of ALL_OWNERS
    providers: tuple[str, ...]  # providers that bill it, in the order the truth lists them
    decoy_feature: str | None = None

    def feature_index(self, name: str) -> int:
        return next(i for i, f in enumerate(self.features) if f.name == name)


CLASSIC = Org("classic", FEATURES, len(MODELS), len(OWNERS), ("openai", "anthropic", "google"))
MIXED = Org("mixed", MIXED_FEATURES, len(ALL_MODELS), len(ALL_OWNERS),
            ("openai", "anthropic", "google", "azure", "aws"), decoy_feature=DECOY_FEATURE)


def org_of(spec: SampleSpec) -> Org:
    return MIXED if "mixed" in spec.log_formats else CLASSIC
