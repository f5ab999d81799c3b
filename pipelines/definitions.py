"""The tokenbooks Dagster code location (named `tokenbooks` in workspace.yaml): every layer's assets, checks,
jobs, schedules and sensors, for the home TOKENBOOKS_HOME names (see pipelines/location.py)."""

from pipelines.location import definitions
from pipelines.settings import load_settings

defs = definitions(load_settings())
