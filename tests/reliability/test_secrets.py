"""Secrets never reach the logs, the lake, the warehouse, the digest or Dagster's event log; config paths stay home.

Planted secrets (the SMTP password and the user-hash key; the admin API keys would make the run call the
real APIs, their pulls are tested against a fake server in tests/unit/test_pull.py) are set in the environment
for a whole landing + nightly run with the digest; then every file under the tokenbooks home and the Dagster
home, every event of the run and the process output are scanned for them.
"""

from datetime import date

import dagster as dg
import polars as pl
import pytest

from pipelines.run import build_days
from pipelines.settings import SECRET_ENV, ConfigError, load_settings
from tests.quality.days import land_all, write_day

DAY = date(2026, 11, 10)


def test_planted_secrets_are_written_nowhere(home, tmp_path, monkeypatch, capfd):
    planted = {SECRET_ENV[name]: f"PLANTED-{name.upper()}-7f3a9c" for name in ("smtp_password", "user_hash_key")}
    for env, value in planted.items():
        monkeypatch.setenv(env, value)
    land_all(home, write_day(tmp_path / "in", DAY))
    instance = dg.DagsterInstance.ephemeral()
    run = build_days(home, DAY, DAY, dagster_instance=instance, log_level="DEBUG")
    assert run.success

    leaks = []
    for root in (home.home, tmp_path / "dagster_home"):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                leaks += [f"{path}: {env}" for env, value in planted.items() if value.encode() in data]
    events = "\n".join(str(e) for e in instance.all_logs(run.run_id))
    leaks += [f"event log: {env}" for env, value in planted.items() if value in events]
    out, err = capfd.readouterr()
    leaks += [f"output: {env}" for env, value in planted.items() if value in out + err]
    assert not leaks, leaks
    # The user hash key was used (users are pseudonymised), it just was not written down.
    users = pl.read_parquet(list(home.lake.glob("calls/day=*/*.parquet")), hive_partitioning=False)["user_id"]
    assert users.str.starts_with("u_").all()


@pytest.mark.parametrize("value", ["../outside", "landing/../../outside"])
def test_a_relative_config_path_cannot_escape_the_home(home, value):
    settings = load_settings(home=home.home)
    with pytest.raises(ConfigError, match="escapes TOKENBOOKS_HOME"):
        settings.resolve_path(value)
    assert settings.resolve_path(str(home.home.parent / "elsewhere")) == home.home.parent / "elsewhere"  # absolute: as meant
