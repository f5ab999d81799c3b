"""Resources: the one place that knows where the data lives and how to reach outside systems.

``TokenbooksResource`` carries the settings (loaded once, the same way the CLI loads them) and hands out the
lake, warehouse and outbox locations to assets.
"""

from __future__ import annotations

from functools import cached_property

import dagster as dg

from pipelines.settings import Settings, load_settings


class TokenbooksResource(dg.ConfigurableResource):
    """Where tokenbooks keeps its data. Empty fields fall back to TOKENBOOKS_HOME / TOKENBOOKS_CONFIG."""

    home: str = ""
    config_path: str = ""

    @cached_property
    def settings(self) -> Settings:
        settings = load_settings(home=self.home or None, config=self.config_path or None)
        settings.ensure_dirs()  # never the ./data default unless it exists: a named home only
        return settings
