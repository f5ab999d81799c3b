"""`tokenbooks config check`: the settings in effect, defaults and environment included, secrets never shown."""

from __future__ import annotations

import dataclasses
import os

import yaml

from pipelines.settings import SECRET_ENV, SMTP_ENV, Settings


def effective(settings: Settings) -> str:
    config = settings.config.model_dump(mode="json", by_alias=True)
    config["smtp"] = {k: v for k, v in dataclasses.asdict(settings.smtp).items()}  # with the environment's values
    where = {
        "home": f"{settings.home}" + ("" if settings.home.is_dir() else "  (does not exist yet)"),
        "config_file": str(settings.config_path) if settings.config_path else "none (every default below)",
        "dagster_instance": str(settings.instance_dir),
        "environment": {var: ("set" if os.environ.get(var) else "not set")
                        for var in [*SMTP_ENV.values(), *SECRET_ENV.values()]},
    }
    return (yaml.safe_dump(where, sort_keys=False) + "# effective config (tokenbooks.yaml with defaults)\n"
            + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
