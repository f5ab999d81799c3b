"""A clean JSON-lines file (a format that declares its ``fields``: the canonical call log, outcome events) landed in
one DuckDB pass: read, typed, checked, finished, validated and written as Parquet.

The path of every other file (``land._land_table``) reads the file into Arrow, then finishes, validates and writes
it with Polars, holding a whole piece in memory. Here each piece of the file is one ``COPY`` from ``read_json`` to
the day's Parquet file, streamed: the fast path's typed read and checks (``lines.clean_read_sql``), the format's
defaults and text rewrites, the lake's provenance, day, canonical model and hashed users (as ``land._finish_rows``),
the contract's types and, last, its row rules (``validate.suspect_sql``). A record the fast path may not read, or a
row validation might refuse, raises (DuckDB's ``error()``): the pass stops, what it wrote goes, and the file takes
the exact path, which quarantines each bad line with its reason. A clean file's rows are the same either way; a
file that is not clean pays for the pass up to its first bad line (all of it, at worst) before the exact path.

Line numbers need the file's order, and numbering rows (``row_number() over ()``) keeps a DuckDB pipeline on one
thread: so the file is cut at line ends into pieces (``pieces.ranges``), each numbered from its first line, one
piece per core at a time, each written to its own ``<sha>-<n>.parquet``.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.contracts import contract
from pipelines.db import bound, connect, frame, sql_ident
from pipelines.files import owned, remove_orphans, replacing
from pipelines.ingest.formats.lines import clean_read_sql
from pipelines.ingest.pieces import Range, piece_file, ranges
from pipelines.ingest.validate import suspect_sql
from pipelines.lake.store import day_file
from pipelines.settings import secret

# Below this many bytes per core a file is not cut for the cores (a connection and a copy per piece cost more).
PARALLEL_BYTES = 64 * 1024 * 1024

# Columns ``land._finish_rows`` adds that this pass does not: a table with one takes the other path.
_NOT_HERE = {"line_key", "source_version", "channel", "channel_rank", "delivery_id", "delivery_complete"}


@dataclass
class CleanLanding:
    """What the pass landed: rows, the day files written, and the distinct (provider, model, day) for pricing (None for
    a table without them)."""

    landed: int
    files: list[Path]
    days: list[str]
    pairs: pl.DataFrame | None


class NotClean(Exception):
    """The file has a record or row the exact path must handle."""


def land_clean(path: Path, form, ctx, sha: str, lines: int, newline_marks: list[int], literals: bool) -> CleanLanding | None:
    """Land ``path`` in one pass per piece, or ``None`` (nothing written) when the file is not clean or its format
    cannot be landed this way (``literals``: the file holds a JSON ``true``/``false``, see ``lines.clean_read_sql``)."""
    fields = getattr(form, "fields", None)
    table = contract(form.table)
    read = clean_read_sql(fields, literals) if fields else None
    if read is None or _NOT_HERE & set(table.names):
        return None
    cores = ctx.settings.config.duckdb_threads or os.cpu_count() or 1
    # A piece costs a DuckDB connection and a copy of its bytes: a file is cut for the cores only where each core
    # gets PARALLEL_BYTES or more, and a small file lands whole, as one day file.
    workers = max(1, min(cores, path.stat().st_size // PARALLEL_BYTES))
    pieces = ranges(path, newline_marks, lines, workers)
    sql, params = _piece_sql(form, table, read, ctx, str(path))
    stem = sha[:24]
    out = ctx.settings.work / "clean"
    out.mkdir(parents=True, exist_ok=True)
    remove_orphans(out, ".parquet")  # of a landing killed half-way
    written: list[tuple[Range, Path]] = []
    stop = threading.Event()
    cons: list[duckdb.DuckDBPyConnection] = []
    canonical = ctx.models.canonical  # loaded once, before the threads

    def land_piece(piece: Range) -> None:
        if stop.is_set():
            raise NotClean()
        con = connect(ctx.settings, keep_order=True)
        cons.append(con)
        con.execute("set threads = 1")  # the numbering is serial anyway: the pieces are the parallelism
        # Each piece's DuckDB is its own database: its own folder for what it may spill, so two never share a file.
        con.execute("set temp_directory = $d", {"d": str(ctx.settings.work / "duckdb_tmp" / f"clean-{piece.index:04d}")})
        _register_text_maps(con, form, canonical)
        target = out / f"{owned(f'{stem}-{piece.index:04d}')}{uuid.uuid4().hex[:8]}.parquet"
        written.append((piece, target))
        try:
            with piece_file(path, piece, ctx.settings.work / "pieces") as src:
                n = con.execute(
                    f"copy ({sql}) to $dst (format parquet, compression zstd, compression_level 1)",
                    {**params, "path": str(src), "first": piece.lines_before, "dst": str(target)},
                ).fetchone()[0]
            if n != piece.lines:  # a blank line (skipped by read_json): line numbers would shift
                raise NotClean()
        except (duckdb.Error, NotClean, OSError):  # a full disk too: the exact path reports it (files.WriteError)
            if not stop.is_set():
                stop.set()
                for other in cons:  # stop the pieces under way: the file takes the exact path
                    if other is not con:
                        _interrupt(other)
            raise NotClean() from None
        finally:
            con.close()

    try:
        with ThreadPoolExecutor(max_workers=min(workers, len(pieces))) as pool:
            for future in [pool.submit(land_piece, p) for p in pieces]:
                future.result()
        return _place(ctx.settings, form.table, stem, written, single=len(pieces) == 1)
    except NotClean:
        return None
    finally:
        for _, target in written:
            target.unlink(missing_ok=True)


def _interrupt(con) -> None:
    try:
        con.interrupt()
    except duckdb.Error:  # closed already
        pass


def _piece_sql(form, table, read: tuple[str, str, str], ctx, source_file: str) -> tuple[str, dict]:
    """The SQL of one piece (``$path``, its first line ``$first``), and its bound parameters."""
    source, bad, texts = read
    names = {f.name for f in form.fields}
    params: dict = {"source_file": source_file, "source_format": form.name}
    finished = {
        "day": "occurred_at::DATE",
        "source_file": "$source_file",
        "source_format": "$source_format",
        "source_line": "$first + row_number() over ()",
    }
    for name in names:
        if name in form.defaults:
            params[f"default_{name}"] = form.defaults[name]
            finished[name] = f"coalesce({sql_ident(name)}, $default_{name})"
        elif name in form.text:
            # Each distinct value through the format's own Polars rewrite, called only for rows that need it: not
            # for nulls, nor for ASCII text where the rule has an exact SQL twin (the common case, at SQL's speed).
            col, rule = sql_ident(name), form.text[name]
            ascii_text = f"when strlen({col}) = length({col}) then {rule.ascii_sql.format(col)} " if rule.ascii_sql else ""
            finished[name] = f"case when {col} is null then null {ascii_text}else tb_text_{name}({col}) end"
        else:
            finished[name] = sql_ident(name)
    if "model_raw" in names and "model" in table.names and "model" not in names:
        finished["model"] = "tb_model(model_raw)"
    if "user_id" in names and (key := secret("user_hash_key")):  # as privacy.pseudonymise
        params["user_key"] = key
        finished["user_id"] = "'u_' || left(sha256($user_key || chr(31) || user_id), 16)"
    columns = []
    for c in table.columns:
        if c.name not in finished and not c.nullable:
            raise KeyError(f"{table.table}: required column {c.name!r} missing from the one-pass landing")
        columns.append(f"cast({finished.get(c.name, 'null')} as {c.type}) as {sql_ident(c.name)}")
    suspect, rule_params = suspect_sql(table)
    params.update(rule_params)
    sql = (
        f"select * from (select {', '.join(columns)} from ("
        f"select * exclude ({texts}) from ({source}) where case when {bad} then error('not clean') else true end)) "
        f"where case when {suspect} then error('a row to quarantine') else true end"
    )
    return sql, bound(sql, params)  # DuckDB refuses a parameter the query does not name (outcomes: no source_format)


def _register_text_maps(con, form, canonical) -> None:
    """The format's text rewrites and the canonical model as DuckDB functions, computed per distinct value."""
    for name, rule in form.text.items():
        con.create_function(f"tb_text_{name}", _DistinctMap(lambda s, e=rule.polars: s.to_frame("v").select(e(pl.col("v"))).to_series()),
                            ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special", side_effects=False)
    con.create_function("tb_model", _DistinctMap(lambda s: pl.Series([canonical(v) for v in s.to_list()], dtype=pl.String)),
                        ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special", side_effects=False)


class _DistinctMap:
    """A text function of a column's distinct values (a Polars function of a Series), applied to Arrow chunks:
    each value is computed once, every row looks its value up."""

    def __init__(self, fn):
        self.fn = fn
        self.keys, self.values = pa.array([], pa.string()), pa.array([], pa.string())

    def __call__(self, chunk: pa.Array) -> pa.Array:
        chunk = chunk.cast(pa.string())
        index = pc.index_in(chunk, value_set=self.keys)
        if index.null_count != chunk.null_count:  # values not seen yet
            new = pc.unique(pc.filter(chunk, pc.and_(pc.is_valid(chunk), pc.is_null(index))))
            mapped = self.fn(pl.Series(new)).cast(pl.String).to_arrow().cast(pa.string())
            self.keys = pa.concat_arrays([self.keys, new])
            self.values = pa.concat_arrays([self.values, mapped])
            index = pc.index_in(chunk, value_set=self.keys)
        return pc.take(self.values, index)


def _place(settings, table: str, stem: str, written: list[tuple[Range, Path]], single: bool) -> CleanLanding:
    """Move each piece's file to its day (split by day when a piece holds several), and read what pricing needs."""
    con = connect(settings, keep_order=True)
    try:
        files = [str(t) for _, t in written]
        priced = {"provider", "model"} <= set(contract(table).names)
        pairs = frame(con, "select distinct provider, model, day from read_parquet($f)", {"f": files}) if priced else None
        landed = con.execute("select count(*) from read_parquet($f)", {"f": files}).fetchone()[0]
        placed, days = [], set()
        for piece, tmp in sorted(written, key=lambda w: w[0].index):
            name = stem if single else f"{stem}-{piece.index:04d}"
            piece_days = [r[0] for r in con.execute("select distinct day from read_parquet($f) order by 1", {"f": str(tmp)}).fetchall()]
            for day in piece_days:
                target = day_file(settings, table, day, name)
                target.parent.mkdir(parents=True, exist_ok=True)
                if len(piece_days) == 1:
                    _move(tmp, target)
                else:
                    with replacing(target) as part:
                        con.execute("copy (select * from read_parquet($f) where day = $d) to $dst "
                                    "(format parquet, compression zstd, compression_level 1)",
                                    {"f": str(tmp), "d": day, "dst": str(part)})
                placed.append(target)
                days.add(day.isoformat())
        return CleanLanding(landed=landed, files=placed, days=sorted(days), pairs=pairs)
    finally:
        con.close()


def _move(src: Path, target: Path) -> None:
    """Rename into place; across file systems (a lake linked elsewhere), copy beside the target and rename."""
    try:
        os.replace(src, target)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        with replacing(target) as tmp:
            shutil.copyfile(src, tmp)
