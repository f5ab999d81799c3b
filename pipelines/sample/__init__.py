"""Deterministic sample organisation: app call logs, provider exports and their ground truth.

    from pipelines.sample import generate, SampleSpec
    truth = generate(Path("data/landing"), SampleSpec(days=30, calls_per_day=20000, seed=7))

See ``README.md`` in this folder for the files written and what the ground truth holds.
"""

from pipelines.sample.generate import generate
from pipelines.sample.spec import DayTruth, Drift, Gap, GroundTruth, SampleSpec

__all__ = ["generate", "SampleSpec", "GroundTruth", "DayTruth", "Gap", "Drift"]
