"""Attribute mapping: which key of an app log names a call's app, feature, user, tenant, session and prompt version.

Every app log format (OpenTelemetry spans, LiteLLM spend logs, Langfuse observations,
Bedrock invocation logs) names the app, feature, user, tenant, session and prompt
version differently. ``AttributeMapping`` turns the ``attributes:`` section of
``tokenbooks.yaml`` plus the conventions below into one SQL expression per canonical
field, evaluated by DuckDB over the whole file at once (never row by row).

A source key is either a plain name (an OTel attribute, a metadata key, a Bedrock
``requestMetadata`` key or one of the source's own top-level fields; each parser says
where it looks) or ``tag:NAME``, the value of a tag written ``NAME:value`` or
``NAME=value``. Look-up order per field: the keys configured in ``tokenbooks.yaml``,
then the source's own native field (LiteLLM ``end_user``, Langfuse ``userId`` …), then
the conventional keys in ``DEFAULT_KEYS``. Nothing else: an unmapped field stays null.

Keys come from configuration, so they reach SQL only as bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pipelines.settings import ConfigError, Settings

# The fields a call's attribution needs; the ids after them join its records across sources.
DIMENSIONS = ("app", "feature", "user_id", "tenant_id", "session_id", "prompt_version")
# Agent traces: the trace a call belongs to and the call (or span) that made it, where the source says.
TRACE_FIELDS = ("trace_id", "parent_call_id")
FIELDS = (*DIMENSIONS, "call_id", "provider_request_id", *TRACE_FIELDS)

# Keys of the same ``attributes:`` section read elsewhere: ``team`` names provider tags that own
# unattributed spend (``formats/billing.py``); call logs have no team field.
OTHER_SECTION_KEYS = ("team",)

# Conventions, in priority order. OTel semantic conventions first, then plain names and tags.
DEFAULT_KEYS: dict[str, list[str]] = {
    "app": ["service.name", "app", "app.name", "tag:app"],
    "feature": ["app.feature", "feature", "tag:feature"],
    "user_id": ["user.id", "enduser.id", "user_id", "tag:user"],
    "tenant_id": ["tenant.id", "tenant_id", "tenant", "tag:tenant"],
    "session_id": ["gen_ai.conversation.id", "session.id", "session_id", "conversation_id"],
    "prompt_version": ["prompt_version", "tag:prompt_version"],
    # The app's own id of the call (what the canonical log calls call_id) joins sources without a provider id.
    "call_id": ["call_id", "app.call_id", "tokenbooks.call_id"],
    "provider_request_id": ["gen_ai.response.id", "provider_request_id", "response_id"],
    "trace_id": ["trace_id", "trace.id", "litellm_trace_id"],
    "parent_call_id": ["parent_call_id", "parent_id"],
}
# A prompt version is also composed from a prompt name and version (``summarise@v7``).
PROMPT_NAME_KEYS = ["gen_ai.prompt.name", "prompt.name", "prompt_name", "prompt_id"]
PROMPT_VERSION_KEYS = ["gen_ai.prompt.version", "prompt.version"]

Lookup = Callable[[str], str]


class Params(dict):
    """Values bound to one query; ``add`` returns the placeholder."""

    def add(self, value) -> str:
        name = f"a{len(self)}"
        self[name] = value
        return f"${name}"


@dataclass
class AttributeMapping:
    """Canonical field -> source keys, configured keys first."""

    configured: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AttributeMapping":
        mapping = settings.attribute_mapping
        unknown = sorted(set(mapping) - set(FIELDS) - set(OTHER_SECTION_KEYS))
        if unknown:
            raise ConfigError(
                f"{settings.config_path}: attributes: unknown field(s) {', '.join(unknown)}; "
                f"mappable fields are {', '.join(FIELDS + OTHER_SECTION_KEYS)}"
            )
        return cls(configured={k: [str(x) for x in v if x is not None] for k, v in mapping.items() if k in FIELDS})

    def keys(self, name: str) -> list[str]:
        out = list(self.configured.get(name, []))
        return out + [k for k in DEFAULT_KEYS[name] if k not in out]

    def plain_keys(self) -> list[str]:
        """Every non-tag key any field may look at (what a parser must extract)."""
        keys = [k for name in FIELDS for k in self.keys(name)] + PROMPT_NAME_KEYS + PROMPT_VERSION_KEYS
        return list(dict.fromkeys(k for k in keys if not k.startswith("tag:")))

    def sql(
        self,
        name: str,
        lookup: Lookup,
        params: Params,
        tags: str | None = None,
        native: Iterable[str] = (),
    ) -> str:
        """SQL for one canonical field: configured keys, then native expressions, then conventions.

        ``lookup(key)`` returns the parser's SQL for a plain key (using ``params``);
        ``tags`` is the SQL of the record's tag list, if the source has tags;
        ``native`` are the parser's own SQL expressions for this field (code constants).
        """
        configured = self.configured.get(name, [])
        parts = [self._key_sql(k, lookup, params, tags) for k in configured]
        parts += list(native)
        if name == "prompt_version":
            parts.append(
                prompt_version_sql(
                    _first(self._key_sql(k, lookup, params, tags) for k in PROMPT_NAME_KEYS),
                    _first(self._key_sql(k, lookup, params, tags) for k in PROMPT_VERSION_KEYS),
                )
            )
        parts += [self._key_sql(k, lookup, params, tags) for k in DEFAULT_KEYS[name] if k not in configured]
        return _first(parts)

    @staticmethod
    def _key_sql(key: str, lookup: Lookup, params: Params, tags: str | None) -> str:
        if key.startswith("tag:"):
            return tag_sql(tags, key[4:], params) if tags else "null"
        return f"nullif(trim({lookup(key)}), '')"


def _first(parts: Iterable[str]) -> str:
    parts = [p for p in parts if p and p != "null"]
    if not parts:
        return "null::varchar"
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def tag_sql(tags: str, name: str, params: Params) -> str:
    """Value of the first tag ``name:value`` or ``name=value`` in the list expression ``tags``."""
    colon, equals = params.add(name.lower() + ":"), params.add(name.lower() + "=")
    return (
        f"nullif(trim([substr(t, length({colon}) + 1) for t in coalesce({tags}, []) "
        f"if lower(t) ^@ {colon} or lower(t) ^@ {equals}][1]), '')"
    )


def prompt_version_sql(name: str, version: str) -> str:
    """``name@vN`` from a prompt name and version; either alone when the other is missing."""
    return (
        f"(case when ({version}) like '%@%' then ({version}) "
        f"when ({name}) is not null and ({version}) is not null "
        f"then ({name}) || '@v' || ltrim(({version}), 'vV') "
        f"else coalesce(({name}), ({version})) end)"
    )


def json_path(key: str) -> str:
    """A JSONPath addressing ``key`` as one member name (dots and all): ``$."user.id"``."""
    return "$." + json.dumps(key)


def json_dotted_path(key: str) -> str:
    """A JSONPath walking ``key``'s dotted segments: ``identity.arn`` -> ``$."identity"."arn"``."""
    return "$" + "".join("." + json.dumps(part) for part in key.split("."))


def member_sql(obj: str, key: str, params: Params) -> str:
    """Member ``key`` (taken whole, dots and all) of the JSON object ``obj``, as text; the key is bound."""
    return f"json_extract_string({obj}, {params.add(json_path(key))})"
