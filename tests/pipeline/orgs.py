"""The sample organisation built the way the nightly job builds it, for the whole-pipeline tests (not a test module)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest

from pipelines.db import open_warehouse
from pipelines.ingest.pending import land_pending
from pipelines.run import build_days
from pipelines.sample import SampleSpec, generate
from pipelines.settings import load_settings


@contextmanager
def built_org(root: Path, spec: SampleSpec) -> Iterator[tuple]:
    """Generate ``spec`` into a home under ``root``, land every file and build every day through Dagster (an
    ephemeral instance); yields (settings, truth, landing results, the warehouse read-only). A mixed organisation's
    home gets the ``endpoints:`` lines its always-on endpoints need, as ``tokenbooks demo`` writes them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        (root / "dagster_home").mkdir()
        settings = load_settings(home=root / "tb")
        settings.ensure_dirs()
        truth = generate(settings.landing, spec)
        if truth.mixed:
            (root / "tokenbooks.yaml").write_text(truth.mixed["endpoints"]["config"])
            settings = load_settings(home=root / "tb", config=root / "tokenbooks.yaml")
        landed = land_pending(settings)
        result = build_days(settings, spec.first_day, spec.end_day, dagster_instance=dg.DagsterInstance.ephemeral())
        assert result.success
        con = open_warehouse(settings)
        try:
            yield settings, truth, landed, con
        finally:
            con.close()
