"""The SQL models, in build order, and how one is run.

Each file under ``models/{staging,intermediate,marts}/`` is one ``select``; its name is the table it builds.
The build order comes from the models themselves: a model reads the models its SQL names (comments aside),
and those a macro it calls names (``models/macros/``); :func:`build_order` sorts them so each model runs after
everything it reads, and refuses a cycle or a name that is no model. ``run_model`` wraps a model in
``create or replace temp table <name> as …`` on the build connection, where the upstream tables already exist
by name (a model only one later model reads is a temp view instead, see :func:`inlined`; a published model is a
view that the build writes to the lake and then reads back).

``models/views/`` are the views the published warehouse adds over the marts (``publish.py``), in the same order
rules; ``models/reports/`` the queries the digest and ``tokenbooks doctor`` run on it (:func:`query_sql`). Every
SQL file is read through :func:`sql_file` (the monitoring and export models too).
"""

from __future__ import annotations

import heapq
import re
from functools import cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import duckdb

from pipelines.settings import MODELS_DIR

# Built each day, in this layer order where references leave a choice; the marts are published.
LAYERS = ("staging", "intermediate", "marts")
# A name with one of these prefixes is a model: reading one that has no file is an error, not a missing table.
MODEL_NAME = re.compile(r"\b(?:stg|int|fct|mart)_[a-z0-9_]+\b")
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_MACRO = re.compile(r"create\s+or\s+replace\s+temp\s+macro\s+(\w+)", re.IGNORECASE)


class ModelOrderError(ValueError):
    """The models cannot be ordered: two read each other, or one reads a model that does not exist."""


@cache
def sql_file(folder: str, name: str) -> str:
    """``models/<folder>/<name>.sql``: where every SQL text the code runs is read from."""
    path = MODELS_DIR / folder / f"{name}.sql"
    if not path.exists():
        raise KeyError(f"no model {name!r} in {path.parent}")
    return path.read_text(encoding="utf-8")


def _files(folder: str) -> dict[str, Path]:
    return {p.stem: p for p in sorted((MODELS_DIR / folder).glob("*.sql"))}


def code(sql: str) -> str:
    """The SQL without its comments: a model named in a comment is not read."""
    return _COMMENT.sub(" ", sql)


@cache
def _macro_reads() -> dict[str, frozenset[str]]:
    """macro name -> the model names its body reads (a model calling the macro reads them too)."""
    bodies = {}
    for file in _files("macros"):
        parts = _MACRO.split(code(sql_file("macros", file)))  # [before, name, body, name, body, …]
        bodies.update(zip(parts[1::2], parts[2::2]))
    out = {}
    for name, body in bodies.items():
        # what the macros it calls read too (current_facts reads through delivered_facts)
        called, seen = [name], set()
        while called:
            macro = called.pop()
            seen.add(macro)
            called += [m for m in bodies if m not in seen and re.search(rf"\b{m}\s*\(", bodies[macro])]
        out[name] = frozenset(n for m in seen for n in MODEL_NAME.findall(bodies[m]))
    return out


def reads(sql: str, through_macros: bool = True) -> set[str]:
    """Every model name the SQL reads: named in it, or (``through_macros``) in a macro it calls."""
    text = code(sql)
    found = set(MODEL_NAME.findall(text))
    for macro, names in _macro_reads().items() if through_macros else ():
        if re.search(rf"\b{macro}\s*\(", text):
            found |= names
    return found


def build_order(deps: dict[str, set[str]], rank: dict[str, tuple] | None = None) -> list[str]:
    """Each name after every name it depends on; where that leaves a choice, the lowest ``rank`` first (so the
    order is stable). Raises :class:`ModelOrderError` on a cycle or a dependency that is not one of ``deps``."""
    for name, needs in sorted(deps.items()):
        unknown = sorted(needs - deps.keys())
        if unknown:
            raise ModelOrderError(f"model {name} reads {', '.join(unknown)}, which is no model (no such .sql file)")
    rank = rank or {}
    sorter = TopologicalSorter(deps)
    try:
        sorter.prepare()
    except CycleError as e:  # e.args[1]: [b, a, b] when a reads b and b reads a
        raise ModelOrderError(f"models read each other in a cycle: {' reads '.join(reversed(e.args[1]))}") from None
    ready: list[tuple[tuple, str]] = []
    order = []
    while sorter.is_active():
        for name in sorter.get_ready():
            heapq.heappush(ready, (rank.get(name, ()), name))
        _, name = heapq.heappop(ready)
        order.append(name)
        sorter.done(name)
    return order


@cache
def _day_models() -> dict[str, tuple[str, Path]]:
    return {name: (layer, path) for layer in LAYERS for name, path in _files(layer).items()}


def _order() -> list[tuple[str, str]]:
    found = _day_models()
    deps = {name: reads(sql_file(layer, name)) - {name} for name, (layer, _) in found.items()}
    # Layer by layer; among the marts, those that read an unpublished model first, so the build can drop the
    # intermediate tables (dropped_after) before the marts that read only other marts run.
    marts = {name for name, (layer, _) in found.items() if layer == "marts"}
    rank = {name: (LAYERS.index(layer), not (deps[name] - marts)) for name, (layer, _) in found.items()}
    return [(found[name][0], name) for name in build_order(deps, rank)]


# Build order: each model reads only models built before it (or the lake_* / dim_* inputs).
MODELS: list[tuple[str, str]] = _order()

# The tables analysts rely on: written to the lake per day and published in the warehouse.
PUBLISHED = [name for layer, name in MODELS if layer == "marts"]


def model_sql(name: str) -> str:
    if name not in _day_models():
        raise KeyError(name)
    return sql_file(_day_models()[name][0], name)


@cache
def readers() -> dict[str, frozenset[str]]:
    """model -> the models whose own SQL names it. A macro's callers are not counted: stg_model_aliases, read
    through current_facts, stays a view (a day's distinct billed resources, small beside the calls)."""
    out: dict[str, set[str]] = {name: set() for _, name in MODELS}
    for _, name in MODELS:
        for needed in reads(model_sql(name), through_macros=False) - {name}:
            out[needed].add(name)
    return {name: frozenset(found) for name, found in out.items()}


# A model's own header may say how it is built (``-- materialized: table`` or ``view``), where the rule below
# would choose wrong: a view that many read but that is a cheap pass over the lake, a table that one reads but that
# is costly to compute and small.
_MATERIALIZED = re.compile(r"^-- materialized: (table|view)$", re.MULTILINE)


@cache
def inlined() -> frozenset[str]:
    """Models built as views: unpublished, and declared so in their header, or else read by at most one later model
    (code reads only the published tables).

    A view's readers compute it inline, so the day's calls are not copied once more into a table (a stg_/int_ table
    of a 10M-call day is gigabytes). By default a model read twice stays a table: it is computed once.
    """
    def kind(name: str) -> str:
        declared = _MATERIALIZED.search(model_sql(name))
        return declared.group(1) if declared else ("view" if len(readers()[name]) <= 1 else "table")

    return frozenset(name for _, name in MODELS if name not in PUBLISHED and kind(name) == "view")


@cache
def dropped_after() -> dict[str, tuple[str, ...]]:
    """model -> the tables the build drops once that model has run: no model after it reads them, directly, through a
    view or through a macro. Their memory goes to the models after (a 10M-call day's priced calls are gigabytes that
    the sessions' aggregate would otherwise push to disk)."""
    views = inlined()  # a published model is read from its written file: it needs its inputs no more
    order = [name for _, name in MODELS]
    needs: dict[str, set[str]] = {}
    for name in order:  # a view's needs are known before any model that reads it (build order)
        direct = reads(model_sql(name)) - {name}
        needs[name] = direct | {t for v in direct & views for t in needs[v]}
    last = {name: i for i, name in enumerate(order)}  # a table no model reads goes right after it is built
    for i, name in enumerate(order):
        for needed in needs[name]:
            last[needed] = max(last[needed], i)
    tables = [name for name in order if name not in views and name not in PUBLISHED]
    return {name: tuple(t for t in tables if order[last[t]] == name) for name in order}


def create_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The SQL macros models share (``models/macros/*.sql``, one ``create macro`` each)."""
    for name in _files("macros"):
        con.execute(sql_file("macros", name))


def run_model(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # The table name is a code constant from MODELS, never data. A published model is a view too: the build
    # writes it to its lake file at once and points the name at the file (``build.write_and_read_back``), so the
    # day's calls are computed once and not held in memory as one more table.
    kind = "view" if name in inlined() or name in PUBLISHED else "table"
    con.execute(f"create or replace temp {kind} {name} as\n{model_sql(name)}")


@cache
def views() -> dict[str, str]:
    """The published warehouse's views over its tables (``models/views/``), name -> select, each after the views
    it reads. A view may read a published table or another view, nothing else."""
    found = {name: sql_file("views", name) for name in _files("views")}
    published = set(PUBLISHED)
    deps = {name: reads(sql) - published - {name} for name, sql in found.items()}
    return {name: found[name] for name in build_order(deps)}


def query_sql(name: str) -> str:
    """A report's query (``models/reports/<name>.sql``): one ``select`` over the published warehouse."""
    return sql_file("reports", name)
