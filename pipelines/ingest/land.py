"""Land one input file in the lake: detect, parse, validate, write day partitions, quarantine the rest.

Landing is idempotent by content: a file's SHA-256 names everything it writes
(``lake/<table>/day=D/<sha>.parquet``, ``quarantine/<sha>.parquet``) and its
manifest (``lake/_manifest/<sha>.json``) is written last. Re-landing the same
bytes is a no-op; a crash half-way leaves files that the next attempt overwrites.
A file read on purpose as another format than its content says is its own landing (``<sha>.<format>``).
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
import os  # noqa: F401  (tests/mutations: the machine-zone mutant of the day rule below reads os.environ)
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import contract
from pipelines.files import WriteError, atomic_write, replacing
from pipelines.ingest.formats.base import QUARANTINE_SCHEMA, InputError, ParseContext, Parsed, read_error, record_count
from pipelines.ingest.formats.lines import LineCounter, LiteralScan
from pipelines.ingest.clean import land_clean
from pipelines.ingest.pieces import MARK_BYTES, parse_piece, pieces
from pipelines.ingest.privacy import pseudonymise, scrub_quarantine
from pipelines.ingest.registry import detect
from pipelines.ingest.validate import validate
from pipelines.lake.store import day_file
from pipelines.settings import Settings, secret


@dataclass
class LandResult:
    path: str
    format: str | None = None
    table: str | None = None
    # Counted in records of the file, per file: records_in = landed + quarantined (a landed row that sums
    # several records of a billing export counts each of them).
    records_in: int = 0
    landed: int = 0
    quarantined: int = 0
    skipped: int = 0  # records that are not LLM spend or usage (other cloud services, empty buckets)
    days: list[str] = field(default_factory=list)
    already_landed: bool = False
    unpriced_models: list[str] = field(default_factory=list)
    error: str | None = None
    also: dict[str, dict[str, int]] = field(default_factory=dict)  # further tables: {"landed": n, "quarantined": m}

    def count(self, parsed: Parsed, tables: dict[str, "LandedTable"]) -> None:
        """Add one parsed file (or piece): its own table's records here, further tables' under ``also``."""
        own = tables[self.table]
        quarantined = parsed.quarantine.height + own.quarantined
        self.landed += own.landed
        self.quarantined += quarantined
        self.records_in += parsed.records_in if parsed.records_in is not None else own.landed + quarantined
        self.skipped += parsed.skipped
        for table, landed in tables.items():
            if table != self.table:
                also = self.also.setdefault(table, {"landed": 0, "quarantined": 0})
                also["landed"] += landed.landed
                also["quarantined"] += landed.quarantined

    def line(self) -> str:
        if self.error:
            return f"ERROR {self.error}"
        state = "already landed, nothing changed" if self.already_landed else f"{self.landed} landed, {self.quarantined} quarantined"
        skipped = f" ({self.skipped} other records skipped: not LLM spend)" if self.skipped else ""
        return f"{self.path}: {self.format} -> {self.table}: {self.records_in} records, {state}{skipped}"


def file_sha(path: Path) -> str:
    return _digest(path)[0]


def _digest(path: Path) -> tuple[str, int, list[int], bool]:
    """The file's SHA-256, its line count (a last line without a newline counts), the newlines before each
    ``MARK_BYTES`` block (where ``pieces.ranges`` cuts it) and whether it holds a JSON ``true``/``false`` (a money
    field's one-pass read needs none: ``lines.clean_read_sql``), in one read."""
    h, counter, literals, marks = hashlib.sha256(), LineCounter(), LiteralScan(), []
    # Hashing runs in a thread beside the counting (both release the GIL): the read costs the longer of the two.
    with open(path, "rb") as f, ThreadPoolExecutor(max_workers=1) as hasher:
        hashed = None
        for chunk in iter(lambda: f.read(MARK_BYTES), b""):
            marks.append(counter.newlines)
            if hashed is not None:
                hashed.result()
            hashed = hasher.submit(h.update, chunk)
            counter.update(chunk)
            literals.update(chunk)  # while the hash of the block before runs: no longer than it
        if hashed is not None:
            hashed.result()
    return h.hexdigest(), counter.lines, marks, literals.found


def manifest_dir(settings: Settings) -> Path:
    return settings.lake / "_manifest"


def land_file(path: Path, settings: Settings, fmt: str | None = None, force: bool = False) -> LandResult:
    """Land one file. Expected problems come back as ``LandResult.error``, never as a traceback."""
    path = Path(path)
    result = LandResult(path=str(path))
    try:
        if not path.is_file():
            raise InputError(path, "no such file")
        settings.ensure_dirs()
        seen = _seen_record(settings, path, fmt)
        if not force and (manifest := _unchanged_since_landed(settings, path, seen)):
            return _already_landed(manifest, path)  # same path, size and mtime as a file landed before: no re-hash
        sha, lines, marks, literals = _digest(path)
        # A file is landed once per format it is read as: by content (``fmt`` None), or as a format named on
        # purpose (a Bedrock invocation log read as provider usage and, named, as call logs).
        named = fmt is not None and _detected_name(path) not in (None, fmt)
        landing_id = f"{sha}.{fmt}" if named else sha
        manifest = manifest_dir(settings) / f"{landing_id}.json"
        if manifest.exists() and not force:
            _remember(seen, path, manifest)
            return _already_landed(manifest, path)
        if path.stat().st_size == 0:  # also when the format is named: nothing to land is not a success
            raise InputError(path, "file is empty (0 bytes)")
        form = detect(path, fmt)
        result.format, result.table = form.name, form.table
        ctx = ParseContext(settings=settings, delivery_id=sha[:24])
        quarantines, days, unpriced, written = [], set(), set(), []
        # A clean file of a format that allows it lands in one DuckDB pass; any other takes the steps below.
        clean = land_clean(path, form, ctx, sha, lines, marks, literals) if getattr(form, "line_records", False) else None
        if clean is not None:
            result.landed, result.records_in, days, written = clean.landed, lines, set(clean.days), clean.files
            unpriced = set(_unpriced(clean.pairs, ctx)) if clean.pairs is not None else set()
        for piece, lines_before, piece_lines, stem in ([] if clean is not None else pieces(path, form, settings, sha, lines)):
            ctx.lines = piece_lines  # counted already: the reader need not read the piece again to count them
            parsed = parse_piece(form, piece, path, ctx, lines_before)
            delivery = _delivery(form, parsed, ctx)
            # The same steps for every table the format yields: its own, then any read from the same records.
            tables = {
                table: _land_table(rows, table, form, ctx, str(path), delivery, sha, stem)
                for table, rows in {form.table: parsed.rows, **parsed.extra}.items()
            }
            result.count(parsed, tables)
            quarantines.append(_scrubbed(_with_raw(parsed.quarantine), settings).select(QUARANTINE_COLS))
            quarantines += [landed.quarantine for landed in tables.values()]
            days |= {day for landed in tables.values() for day in landed.days}
            written += [f for landed in tables.values() for f in landed.files]
            if form.table == "calls":
                unpriced |= set(_unpriced(tables["calls"].good, ctx))
            del parsed, tables
        _drop_stale(written, sha[:24])
        quarantine = pl.concat(quarantines, how="vertical_relaxed") if quarantines else pl.DataFrame(schema=QUARANTINE_SCHEMA)
        result.days = sorted(days)
        result.unpriced_models = sorted(unpriced)
        _write_quarantine(quarantine, settings, f"{sha[:24]}.{fmt}" if named else sha[:24], path, form.name)
        _atomic_write_text(manifest, json.dumps({**asdict(result), "sha256": sha, "landed_at": ctx.landed_at.isoformat()}))
        _remember(seen, path, manifest)
        return result
    except (InputError, WriteError) as e:  # a full disk: one line, and no partial file left (files.replacing)
        result.error = str(e)
        return result
    except (duckdb.InvalidInputException, duckdb.ConversionException, UnicodeDecodeError) as e:
        # A reader choking on a malformed file is an expected problem: say which file and record, no traceback.
        result.error = str(read_error(path, e))
        return result


def _already_landed(manifest: Path, path: Path) -> LandResult:
    prior = json.loads(manifest.read_text())
    prior.update(path=str(path), already_landed=True)
    prior.pop("sha256", None)
    return LandResult(**{k: v for k, v in prior.items() if k in LandResult.__dataclass_fields__})


# Files left in landing/ are seen again by every later landing run; hashing them all each time would make a run's
# cost grow with the history kept there (30 days of 1M-call logs: 21 GB read per run). A landed path is remembered
# with its size and mtime: while both are unchanged it is not read again. Any change (rewritten in place, touched)
# falls back to the content hash, which stays the file's identity.
def _seen_record(settings: Settings, path: Path, fmt: str | None) -> Path:
    key = hashlib.sha256(f"{path.resolve()}|{fmt or ''}".encode()).hexdigest()[:32]
    return manifest_dir(settings) / "_paths" / f"{key}.json"


def _unchanged_since_landed(settings: Settings, path: Path, seen: Path) -> Path | None:
    if not seen.exists():
        return None
    doc, st = json.loads(seen.read_text()), path.stat()
    manifest = manifest_dir(settings) / doc["manifest"]
    if (doc["size"], doc["mtime_ns"]) == (st.st_size, st.st_mtime_ns) and manifest.exists():
        return manifest
    return None


def _remember(seen: Path, path: Path, manifest: Path) -> None:
    st = path.stat()
    _atomic_write_text(seen, json.dumps({"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                         "manifest": manifest.name}))


# Carried through validation beside the contract's columns: the record number, and how many records a row holds.
KEEP = ("_record", "_n")
QUARANTINE_COLS = list(QUARANTINE_SCHEMA)


@dataclass
class LandedTable:
    """One table's rows of a parsed file (or piece), landed: counted in the file's records."""

    good: pl.DataFrame  # as written (the contract's columns)
    landed: int
    quarantined: int
    quarantine: pl.DataFrame  # the rows validation refused, as QUARANTINE_COLS
    days: list[str]
    files: list[Path]  # the day files written


def _land_table(rows: pl.DataFrame, table: str, form, ctx: ParseContext, source_file: str, delivery: dict,
                sha: str, stem: str) -> LandedTable:
    """finish -> conform -> validate -> write -> count: what every table a format yields goes through."""
    table_contract = contract(table)
    finished = _finish_rows(rows, table, ctx, source_file, form.name, delivery)
    good, bad = validate(table_contract.conform(finished, keep=KEEP), table_contract)
    landed, quarantined = record_count(good), record_count(bad)
    good = table_contract.conform(good)
    days, files = _write_partitions(good, ctx.settings, table, sha, stem)
    quarantine = bad.select(QUARANTINE_COLS)
    if table != form.table:  # a further table's refused rows name their table: "provider_usage.input_tokens"
        quarantine = quarantine.with_columns((pl.lit(table + ".") + pl.col("field")).alias("field"))
    return LandedTable(good=good, landed=landed, quarantined=quarantined, quarantine=quarantine, days=days, files=files)


def _delivery(form, parsed, ctx: ParseContext) -> dict:
    """Which channel and delivery a provider file's rows come from (``InputFormat.channel``/``complete``)."""
    return {
        "channel": form.channel or form.name,
        "channel_rank": form.channel_rank,
        "delivery_id": ctx.delivery_id,
        "delivery_complete": form.complete if parsed.complete is None else parsed.complete,
    }


def _finish_rows(rows: pl.DataFrame, table: str, ctx: ParseContext, source_file: str, source_format: str,
                 delivery: dict | None = None) -> pl.DataFrame:
    """What every format needs and none should write again: provenance, UTC day, canonical model, hashed users."""
    cols = set(rows.columns)
    extra = [pl.lit(v).alias(k) for k, v in (delivery or {}).items() if k in contract(table).names and k not in cols]
    if "source_file" not in cols:
        extra.append(pl.lit(source_file).alias("source_file"))
    if "source_format" not in cols and "source_format" in contract(table).names:
        extra.append(pl.lit(source_format).alias("source_format"))
    if "source_version" in contract(table).names and "source_version" not in cols:
        extra.append(pl.lit(ctx.landed_at).cast(pl.Datetime("us", "UTC")).alias("source_version"))
    if "source_line" in contract(table).names and "source_line" not in cols and "_record" in cols:
        extra.append(pl.col("_record").cast(pl.Int64).alias("source_line"))
    if extra:
        rows = rows.with_columns(extra)
    if "day" not in rows.columns and "occurred_at" in rows.columns:
        rows = rows.with_columns(pl.col("occurred_at").dt.convert_time_zone("UTC").dt.date().alias("day"))
    if "model_raw" in rows.columns and "model" not in rows.columns:
        rows = ctx.models.canonicalise(rows)
    if "line_key" in contract(table).names and "line_key" not in rows.columns:
        rows = rows.with_columns(line_key(rows, table))
    if "user_id" in rows.columns and secret("user_hash_key"):
        rows = pseudonymise(rows, secret("user_hash_key"))
    return rows


def line_key(rows: pl.DataFrame, table: str) -> pl.Expr:
    """Identity of a billed fact: what it is, not which file said it."""
    parts = ["provider", "day", "model_raw", "owner", "is_batch"]
    parts += ["service_tier", "is_long_context"] if table == "provider_usage" else ["cost_type", "token_type", "line_item"]
    key = pl.concat_str([pl.col(p).cast(pl.String).fill_null("") for p in parts if p in rows.columns], separator="|")
    # The billed resource and the app its tags name split a fact only where a line has them: keys of lines
    # without them stay what they were.
    for part in ("resource_id", "owner_app", "endpoint"):
        if part in rows.columns:
            key = key + pl.when(pl.col(part).is_not_null()).then(pl.lit(f"|{part}=") + pl.col(part)).otherwise(pl.lit(""))
    return key.alias("line_key")


def _write_partitions(df: pl.DataFrame, settings: Settings, table: str, sha: str,
                      stem: str | None = None) -> tuple[list[str], list[Path]]:
    days, files = [], []
    # A day's log is (nearly) one day: no partitioning copy of every row when there is nothing to split.
    single = df.height and df["day"].n_unique() == 1
    parts = {(df["day"][0],): df}.items() if single else df.partition_by("day", as_dict=True, maintain_order=False).items()
    for (day,), part in parts:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        d = day.isoformat()
        target = day_file(settings, table, day, stem or sha[:24])
        with replacing(target) as tmp:
            # zstd level 1: a third faster to write than the default level 3, and as small for these columns.
            part.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
        days.append(d)
        files.append(target)
    return sorted(days), files


_STEM = re.compile(r"^[0-9a-f]{24}(-[0-9]{4})?\.parquet$")


def _drop_stale(written: list[Path], stem: str) -> None:
    """Remove this file's day files that this landing did not write: a landing in other pieces (a forced re-landing
    after the file was landed whole, or the reverse) would otherwise leave both copies of its rows in the lake."""
    for folder in {f.parent for f in written}:
        for old in folder.glob(f"{stem}*.parquet"):
            if old not in written and _STEM.match(old.name):
                old.unlink(missing_ok=True)


def _detected_name(path: Path) -> str | None:
    try:
        return detect(path).name
    except InputError:
        return None


def _write_quarantine(q: pl.DataFrame, settings: Settings, name: str, path: Path, fmt: str) -> None:
    target = settings.quarantine / f"{name}.parquet"
    if q.is_empty():
        target.unlink(missing_ok=True)
        return
    out = q.with_columns(pl.lit(str(path)).alias("source_file"), pl.lit(fmt).alias("source_format"))
    with replacing(target) as tmp:
        out.write_parquet(tmp)


def _scrubbed(q: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """A record quarantined as read keeps its text, minus what the lake never holds: prompt and response text,
    and user ids unhashed when users are pseudonymised (rows quarantined by validation are already finished)."""
    users = [str(k) for k in settings.attribute_mapping.get("user_id", []) if not str(k).startswith("tag:")]
    return scrub_quarantine(q, secret("user_hash_key"), users)


def _with_raw(q: pl.DataFrame) -> pl.DataFrame:
    return q if "raw" in q.columns else q.with_columns(pl.lit(None, pl.String).alias("raw"))


def _unpriced(rows: pl.DataFrame, ctx: ParseContext) -> list[str]:
    from pipelines.pricing.prices import price_table

    pairs = rows.select("provider", "model").unique()
    if pairs.is_empty():
        return []
    day = rows["day"].max()
    prices = price_table(pairs, [day], ctx.settings)
    missing = prices.filter(pl.col("price_source") == "unknown")
    return sorted({f"{p}/{m}" for p, m in missing.select("provider", "model").iter_rows()})


def _atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode())


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
