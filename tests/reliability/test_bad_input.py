"""A corpus of broken files for every registered input format: clear errors, quarantine with reasons, good rows
land, counts reconcile, nothing landed earlier is lost.

The formats come from ``pipelines.ingest.registry.FORMATS`` and each one's good sample is found among
``tests/fixtures/`` by its own ``sniff``: a format registered later is covered as soon as it has a fixture, and
a registered format without one fails ``test_every_registered_format_has_a_sample``. The broken files are made
from the sample by ``tests/reliability/corpus.py``: a 0-byte file, truncated, one line in latin-1, 100 % bad
records, a huge single line, and field-level mistakes (negative tokens, unknown model, timestamps in
milliseconds, the time field/column missing). A mistake that the sample has no field for is skipped.

Whatever the damage, landing never raises, and either

- fails the file as a whole with an error that starts with the file's path (and names the record or the field
  where one is to blame), landing nothing of it; or
- lands it: records in = landed + quarantined, every quarantined record in ``quarantine/`` with its field and
  reason, the lake holding exactly the landed rows.

And the good sample landed first is still in the lake, row for row.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.formats.base import Sample
from pipelines.ingest.land import LandResult, file_sha, land_file
from pipelines.ingest.registry import FORMATS
from pipelines.settings import load_settings
from tests.reliability import corpus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SUFFIXES = {".json", ".jsonl", ".csv", ".parquet", ".ndjson"}


def _sniffs(fmt, path: Path) -> bool:
    try:
        return bool(fmt.sniff(Sample.of(path)))
    except Exception:  # a sniff that trips over another format's file just does not match
        return False


def samples() -> dict[str, Path]:
    """format name -> the first fixture (sorted by path) the format's own sniff accepts."""
    files = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    out = {}
    for fmt in FORMATS:
        match = next((p for p in files if _sniffs(fmt, p)), None)
        if match:
            out[fmt.name] = match
    return out


SAMPLES = samples()
NAMES = [f.name for f in FORMATS]
TABLE = {f.name: f.table for f in FORMATS}


def test_every_registered_format_has_a_sample():
    missing = [n for n in NAMES if n not in SAMPLES]
    assert not missing, f"no fixture under tests/fixtures/ is recognised by: {missing} (add a small sample file)"


def damaged(sample: Path) -> dict[str, bytes]:
    """name -> bytes of each broken variant that applies to this sample."""
    data, kind = sample.read_bytes(), corpus.kind(sample)
    out = {"zero_bytes": b"", "truncated": corpus.truncated(data)}
    if kind != "parquet":  # binary: no text encoding or lines to break
        out["wrong_encoding"] = corpus.latin1_line(data)
        out["all_bad"] = corpus.all_bad(data, kind)
        out["huge_line"] = corpus.huge_line(data, kind)
    for name in corpus.MISTAKES:
        mutated = corpus.mistake(sample, name)
        if mutated is not None:
            out[name] = mutated
    return out


def lake_rows(settings, sha: str) -> dict[str, int]:
    """Rows this file put in each lake table."""
    out = {}
    for table_dir in settings.lake.iterdir():
        if table_dir.name.startswith("_"):
            continue
        files = sorted(table_dir.glob(f"day=*/{sha[:24]}*.parquet"))
        if files:
            out[table_dir.name] = pl.read_parquet(files, hive_partitioning=False).height
    return out


def landing_file(folder: Path, prefix: str, suffix: str) -> Path:
    """The landing's file: named by the content's hash (``.<format>`` added when read as another format on purpose)."""
    found = sorted(folder.glob(f"{prefix}*{suffix}"))
    return found[0] if found else folder / f"{prefix}{suffix}"


def quarantine_rows(settings, sha: str) -> pl.DataFrame | None:
    path = landing_file(settings.quarantine, sha[:24], ".parquet")
    return pl.read_parquet(path) if path.exists() else None


def problems_with(result: LandResult, path: Path, settings, table: str) -> list[str]:
    """What is wrong with how one broken file was handled; [] when it was handled well."""
    sha = file_sha(path)
    manifest = landing_file(settings.lake / "_manifest", sha, ".json")
    rows, quarantine = lake_rows(settings, sha), quarantine_rows(settings, sha)
    if result.error:
        out = []
        if not result.error.startswith(str(path)):
            out.append(f"error does not start with the file's path: {result.error}")
        if "Error:" in result.error or "Traceback" in result.error:
            out.append(f"error reads like an exception, not a reason: {result.error}")
        if rows or quarantine is not None or manifest.exists():
            out.append(f"a failed file left data behind: {rows}, quarantine={quarantine is not None}, manifest={manifest.exists()}")
        return out
    out = []
    if result.records_in != result.landed + result.quarantined:
        out.append(f"records in {result.records_in} != landed {result.landed} + quarantined {result.quarantined}")
    if not manifest.exists():
        out.append("landed without a manifest")
    extra_quarantined = sum(v["quarantined"] for v in result.also.values())
    if result.quarantined or extra_quarantined:
        if quarantine is None or quarantine.is_empty():
            out.append(f"{result.quarantined} quarantined but no quarantine file")
        else:
            for col in ("field", "reason"):
                if quarantine[col].null_count():
                    out.append(f"quarantine rows without a {col}: {quarantine.filter(pl.col(col).is_null()).to_dicts()[:2]}")
            if quarantine["source_file"].unique().to_list() != [str(path)]:
                out.append("quarantine rows do not name the file")
    elif quarantine is not None:
        out.append("a quarantine file though nothing was quarantined")
    if result.landed and not rows.get(table):
        out.append(f"{result.landed} landed but no rows in lake/{table}")
    if not result.landed and rows.get(table):
        out.append(f"nothing landed but lake/{table} has {rows[table]} rows")
    return out


# What each damage must come to, beyond the general rules above (result, path -> problem or None).
def _expect_error(*words: str):
    def check(r: LandResult, q: pl.DataFrame | None) -> str | None:
        if r.error and all(w in r.error for w in words):
            return None
        return f"expected an error mentioning {words}, got {r.error or r.line()}"

    return check


def _quarantined_or_error(field_words: tuple[str, ...] = (), reason_words: tuple[str, ...] = ()):
    """Either a clear file error, or quarantined rows whose field (or reason) names the problem."""

    def check(r: LandResult, q: pl.DataFrame | None) -> str | None:
        if r.error:
            return None
        if q is None or q.is_empty():
            return f"nothing quarantined: {r.line()} also={r.also}"
        field_hit = [pl.col("field").str.contains(w) for w in field_words]
        reason_hit = [pl.col("reason").str.contains(w) for w in reason_words]
        hits = q.filter(pl.any_horizontal(*field_hit, *reason_hit) if field_hit or reason_hit else pl.lit(True))
        if hits.is_empty():
            return f"no quarantined row with field ~ {field_words} and reason ~ {reason_words}: {q.select('field', 'reason').to_dicts()[:3]}"
        return None

    return check


def _all_bad(r: LandResult, q: pl.DataFrame | None) -> str | None:
    if r.error:
        return None
    if r.landed or not r.records_in or r.quarantined != r.records_in:
        return f"a file of bad records must land nothing and quarantine every record: {r.line()}"
    return None


def _encoding(r: LandResult, q: pl.DataFrame | None) -> str | None:
    if r.error:
        return None if ("UTF-8" in r.error or "JSON" in r.error) and "record" in r.error else f"unclear: {r.error}"
    if q is None or not q["reason"].str.contains("UTF-8").any():
        return f"the latin-1 line is neither an error nor quarantined as not UTF-8: {r.line()}"
    return None


def _landed_rows(settings, path: Path) -> list[dict]:
    """What a file put in the lake, its provenance left out, in a fixed order."""
    rows = []
    for table_dir in sorted(d for d in settings.lake.iterdir() if not d.name.startswith("_")):
        files = sorted(table_dir.glob(f"day=*/{file_sha(path)[:24]}*.parquet"))
        if files:
            df = pl.read_parquet(files, hive_partitioning=False).drop(
                "source_file", "source_version", "delivery_id", strict=False)
            rows += sorted(map(str, df.to_dicts()))
    return rows


def _encoding_or_unread(settings, sample: Path, path: Path):
    """Not UTF-8: an error or the line quarantined; or, where the byte sits in a column the format never reads,
    exactly the sample's rows landed (CSV readers check the text they read)."""

    def check(r: LandResult, q: pl.DataFrame | None) -> str | None:
        problem = _encoding(r, q)
        if problem and not r.error and _landed_rows(settings, path) == _landed_rows(settings, sample):
            return None
        return problem

    return check


def _same_as(first: LandResult):
    """Every record valid, only the line huge: lands like the sample (or a clear error)."""

    def check(r: LandResult, q: pl.DataFrame | None) -> str | None:
        if r.error or (r.landed, r.quarantined) == (first.landed, first.quarantined):
            return None
        return f"expected {first.landed} landed and {first.quarantined} quarantined like the sample: {r.line()}"

    return check


EXPECT = {
    "zero_bytes": _expect_error("empty"),
    "truncated": _quarantined_or_error(),
    "wrong_encoding": _encoding,
    "all_bad": _all_bad,
    "huge_line": _quarantined_or_error(),
    # The field named is a token count (which one depends on how the format derives the others from it).
    "negative_tokens": _quarantined_or_error(field_words=("(?i)token",)),
    "timestamps_in_ms": _quarantined_or_error(field_words=("(?i)time", "(?i)date", "(?i)day"), reason_words=("(?i)date", "(?i)time")),
}


# Known gaps, each (format, damage) -> where it is: reported, not failed; a gap that closes fails the test
# until it is removed from here.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("name", NAMES)
def test_broken_files_of_every_format(name, tmp_path):
    if name not in SAMPLES:
        pytest.fail(f"no sample fixture for {name} (see test_every_registered_format_has_a_sample)")
    sample, table = SAMPLES[name], TABLE[name]
    settings = load_settings(home=tmp_path / "tb")
    settings.ensure_dirs()
    first = land_file(sample, settings, fmt=name)
    assert first.error is None and first.landed > 0, first.line()
    before = lake_rows(settings, file_sha(sample))
    detected_table = land_file(sample, load_settings(home=tmp_path / "detect")).table

    found = []
    for damage, data in damaged(sample).items():
        path = tmp_path / "in" / f"{damage}{sample.suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        result = land_file(path, settings, fmt=name)  # never raises
        problems = problems_with(result, path, settings, table)
        check = EXPECT.get(damage)
        if damage == "huge_line" and corpus.kind(sample) == "json":
            check = _same_as(first)
        if damage == "wrong_encoding":
            check = _encoding_or_unread(settings, sample, path)
        if check and (p := check(result, quarantine_rows(settings, file_sha(path)))):
            problems.append(p)
        if damage == "unknown_model" and not result.error:
            problems += _unknown_model_kept(result, path, settings, table)
        if (name, damage) in KNOWN_GAPS:
            if not problems:
                found.append(f"{damage}: handled well now: remove it from KNOWN_GAPS")
            problems = []
        found += [f"{damage}: {p}" for p in problems]
        # Detection by content never raises either, and never lands a broken file under another table
        # than the good sample goes to (a format landed only by name is detected as its sibling).
        detected = land_file(path, load_settings(home=tmp_path / "detect"))
        if detected.error is None and detected.table != detected_table and detected.landed:
            found.append(f"{damage}: detected as {detected.format} and landed in {detected.table}")

    assert lake_rows(settings, file_sha(sample)) == before  # nothing earlier lost
    assert not found, "\n".join(found)


def _unknown_model_kept(result: LandResult, path: Path, settings, table: str) -> list[str]:
    """An unknown model is not an error: its rows land, keep the model id, and calls report it as unpriced."""
    files = sorted((settings.lake / table).glob(f"day=*/{file_sha(path)[:24]}*.parquet"))
    models = set(pl.read_parquet(files, hive_partitioning=False)["model"].to_list()) if files else set()
    problems = []
    if not any(corpus.UNKNOWN_MODEL in str(m) for m in models):
        problems.append(f"the unknown model did not land: models {sorted(map(str, models))}")
    if table == "calls" and not any(corpus.UNKNOWN_MODEL in m for m in result.unpriced_models):
        problems.append(f"unknown model not reported as unpriced: {result.unpriced_models}")
    return problems


def test_a_zero_byte_file_is_an_error_with_or_without_a_named_format(home, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    for fmt in (None, "tokenbooks_calls", "openai_usage_page"):
        result = land_file(empty, home, fmt=fmt)
        assert result.error == f"{empty}: file is empty (0 bytes)"
    assert not list((home.lake / "_manifest").glob("*.json"))


def test_reader_errors_say_what_is_wrong_and_where(home, tmp_path):
    """CSV readers' errors name the line and say why (not DuckDB's bare "CSV Error on Line: 6")."""
    sample = FIXTURES / "openai" / "dashboard_usage.csv"
    bad = tmp_path / "usage.csv"
    bad.write_bytes(corpus.latin1_line(sample.read_bytes()))
    result = land_file(bad, home)
    assert result.error.startswith(f"{bad}, record ") and "not valid UTF-8" in result.error
    huge = tmp_path / "huge.csv"
    huge.write_bytes(corpus.huge_line(sample.read_bytes(), "csv"))
    landed = land_file(huge, home)  # a 3 MB line is one bad record: the good ones land
    whole = land_file(sample, load_settings(home=tmp_path / "whole"))
    assert landed.error is None and landed.landed == whole.landed and landed.quarantined == whole.quarantined + 1
    truncated = tmp_path / "costs.json"
    truncated.write_bytes(corpus.truncated((FIXTURES / "anthropic" / "cost_report.json").read_bytes()))
    error = land_file(truncated, home).error
    assert error.startswith(f"{truncated}, record ") and "the file looks truncated" in error


def test_manifest_counts_reconcile_for_every_sample(tmp_path):
    """The manifest written for each good sample keeps the same books: records in = landed + quarantined."""
    for name, sample in SAMPLES.items():
        settings = load_settings(home=tmp_path / name)
        result = land_file(sample, settings, fmt=name)
        assert result.error is None, result.error
        manifest = json.loads(landing_file(settings.lake / "_manifest", file_sha(sample), ".json").read_text())
        assert manifest["records_in"] == manifest["landed"] + manifest["quarantined"], (name, manifest)
