"""A day built once per session (landed from real input shapes); each test gets its own copy."""

import shutil
from datetime import date

import pytest

from pipelines.settings import load_settings
from tests.quality.days import build, land_all, write_day

DAY = date(2026, 11, 10)


@pytest.fixture(scope="session")
def built_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("built") / "tb"
    settings = load_settings(home=home)
    settings.ensure_dirs()
    land_all(settings, write_day(home.parent / "in", DAY, n_calls=30))
    build(settings, [DAY])
    return home


@pytest.fixture
def built(built_home, tmp_path):
    """Settings of a private copy of the built home."""
    copy = tmp_path / "tb"
    shutil.copytree(built_home, copy)
    return load_settings(home=copy)
