"""Every value lands exactly as given or is quarantined with its reason; one malformed row costs one row; a broken
page set is refused: for every registered format the damage applies to (``corpus_cases.py``).

Each broken file is landed beside its good sample and compared with it: records in = landed + quarantined, the
records the damage touched (and only those) quarantined, each with the exact reason; or the file refused with a
one-line error; or, where the format documents the value as valid (zone-less UTC in billing exports), landed just
like the sample. A call id repeated with other content lands, and the build keeps it out of fct_llm_calls.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.ingest.land import LandResult, file_sha, land_file
from pipelines.lake.store import committed_files
from pipelines.settings import load_settings
from pipelines.warehouse.build import build_day
from tests.reliability import corpus_cases as cases
from tests.reliability.test_bad_input import NAMES, SAMPLES, TABLE, problems_with, quarantine_rows


@dataclass(frozen=True)
class Quarantined:
    reason: str  # every record the damage quarantined has a reason matching this
    field: str = ""
    added: int = 0  # records the damage added (an inserted row)
    record: int | None = None  # the record quarantined, where the damage says


@dataclass(frozen=True)
class Refused:
    words: str


@dataclass(frozen=True)
class Accepted:
    """Valid as the format documents it: lands exactly like the sample."""


# Formats whose times are RFC 3339 by their own contract: a zone-less time is refused.
RFC3339 = {"tokenbooks_calls", "tokenbooks_outcomes", "langfuse_observations", "bedrock_invocation_calls",
           "bedrock_invocation_usage", "anthropic_usage_report", "anthropic_cost_report"}
NOT_A_COUNT = r"^not (a whole number|a token count \(a whole number >= 0\)): "
BAD_ROW = Quarantined(r"^\d+ values where the header has \d+ \(a row too short or too long\)$", r"^\$$", added=1, record=2)


def expected(case: str, fmt: str):
    if case in ("fractional_tokens", "fractional_tokens_as_text"):
        return Quarantined(NOT_A_COUNT + r"\d+\.5$")
    if case == "tokens_past_bigint":
        return Quarantined(NOT_A_COUNT + r"100000000000000000000(\.0)?$")
    if case == "zoneless_time":
        return Quarantined(r"RFC 3339|^not a valid date: ") if fmt in RFC3339 else Accepted()
    if case == "offset_25h":
        return Quarantined(r"(RFC 3339.*|not a timestamp|^not a valid date): .*\+25:00$")
    if case == "empty_model":
        if fmt in ("litellm_spend_logs", "anthropic_cost_report"):  # model_group stands in; a cost line's model is optional
            return Accepted()
        return Quarantined(r"^(empty value|missing required value|generation without model|missing modelId)$", "(?i)model")
    if case == "empty_provider":
        return Quarantined(r"^empty value$", "^provider$")
    if fmt == "tokenbooks_outcomes" and case.startswith("call_id_"):  # a reference to a call, kept as its text
        return Accepted()
    if case == "call_id_number":
        return Quarantined(r"^must be a string, not a number: 12345$", "^call_id$")
    if case == "call_id_object":
        return Quarantined(r"^must be a string, not an object: ", "^call_id$")
    if case == "page_set_cut_short":
        return Refused("has_more is true but next_page is empty: the page set is incomplete")
    if case == "results_not_a_list":
        return Refused("field 'data[0].results': page ")
    if case in ("short_csv_row", "long_csv_row", "mixed_line_ends_and_a_short_row"):
        return BAD_ROW
    if case == "unclosed_quote_csv_row":
        return Quarantined(r"^a quoted value is never closed$", r"^\$$", added=1, record=2)
    if case == "mixed_line_ends":
        return Accepted()
    raise KeyError(case)


def broken(case: str, fmt: str) -> bytes | None:
    sample = SAMPLES[fmt]
    if case in cases.FIELD_CASES:
        return cases.field_case(sample, case)
    if case in cases.PAGE_CASES:
        return cases.page_case(sample, case)
    return cases.csv_case(sample, case)


ALL_CASES = [*cases.FIELD_CASES, *cases.PAGE_CASES, *cases.CSV_CASES]
APPLICABLE = [(case, fmt) for case in ALL_CASES for fmt in NAMES if fmt in SAMPLES and broken(case, fmt) is not None]


def test_every_case_applies_to_some_format():
    assert {case for case, _ in APPLICABLE} == set(ALL_CASES)


def _new_quarantine(q: pl.DataFrame | None, before: pl.DataFrame | None) -> list[dict]:
    """The quarantined records the damage added: those not in the sample's quarantine (by field and reason)."""
    if q is None:
        return []
    left = Counter() if before is None else Counter(before.select("field", "reason").iter_rows())
    out = []
    for row in q.sort("record").iter_rows(named=True):
        if left[(row["field"], row["reason"])]:
            left[(row["field"], row["reason"])] -= 1
        else:
            out.append(row)
    return out


def check(expect, r: LandResult, first: LandResult, new: list[dict], path) -> list[str]:
    if isinstance(expect, Refused):
        ok = r.error and r.error.startswith(f"{path}") and expect.words in r.error and "\n" not in r.error
        return [] if ok else [f"expected a one-line error with {expect.words!r}: {r.error or r.line()}"]
    if r.error:
        return [f"refused: {r.error}"]
    if isinstance(expect, Accepted):
        same = (r.records_in, r.landed, r.quarantined) == (first.records_in, first.landed, first.quarantined)
        return [] if same and not new else [f"expected to land like the sample ({first.line()}): {r.line()} {new}"]
    problems = []
    extra = r.quarantined - first.quarantined
    if r.records_in != first.records_in + expect.added or r.landed + r.quarantined != r.records_in:
        problems.append(f"records: {r.line()} (sample: {first.line()})")
    if extra < 1 or r.landed != first.landed + expect.added - extra or len(new) != extra:
        problems.append(f"expected the touched records quarantined, the rest landed: {r.line()} (sample: {first.line()}); {new}")
    for row in new:
        if not re.search(expect.reason, row["reason"] or "") or not re.search(expect.field, row["field"] or ""):
            problems.append(f"record {row['record']}: field {row['field']!r}, reason {row['reason']!r} (expected {expect})")
    if expect.record is not None and [row["record"] for row in new] != [expect.record]:
        problems.append(f"expected record {expect.record} quarantined: {[row['record'] for row in new]}")
    return problems


@pytest.mark.parametrize("case, fmt", APPLICABLE, ids=[f"{c}-{f}" for c, f in APPLICABLE])
def test_a_bad_value_or_row_costs_its_record_with_its_reason(case, fmt, tmp_path):
    settings = load_settings(home=tmp_path / "tb")
    sample = SAMPLES[fmt]
    first = land_file(sample, settings, fmt=fmt)
    assert first.error is None, first.line()
    path = tmp_path / "in" / f"{case}{sample.suffix}"
    path.parent.mkdir()
    path.write_bytes(broken(case, fmt))

    result = land_file(path, settings, fmt=fmt)

    new = _new_quarantine(quarantine_rows(settings, file_sha(path)), quarantine_rows(settings, file_sha(sample)))
    problems = problems_with(result, path, settings, TABLE[fmt]) + check(expected(case, fmt), result, first, new, path)
    assert not problems, "\n".join(problems)


CALL_LOGS = [f for f in NAMES if TABLE[f] == "calls" and f in SAMPLES and cases.repeated_record(SAMPLES[f]) is not None]


@pytest.mark.parametrize("fmt", CALL_LOGS)
def test_a_call_id_repeated_with_other_content_lands_and_is_kept_out_of_the_merge(fmt, tmp_path):
    settings = load_settings(home=tmp_path / "tb")
    path = tmp_path / f"repeated{SAMPLES[fmt].suffix}"
    path.write_bytes(cases.repeated_record(SAMPLES[fmt]))
    first = land_file(SAMPLES[fmt], load_settings(home=tmp_path / "sample"), fmt=fmt)

    result = land_file(path, settings, fmt=fmt)

    assert result.error is None and result.records_in == first.records_in + 1
    assert (result.landed, result.quarantined) == (first.landed + 1, first.quarantined)
    lake = pl.read_parquet(sorted(settings.lake.glob("calls/day=*/*.parquet")))
    repeated = lake.filter(pl.col("call_id").is_duplicated())
    assert repeated["call_id"].n_unique() == 1 and repeated.height == 2, repeated
    call_id, day = repeated["call_id"][0], repeated["day"][0]
    build_day(day, settings)
    conflicts = _committed(settings, "fct_call_conflicts", day, "select call_id, source_line from {t} order by source_line")
    assert [c for c, _ in conflicts] == [call_id, call_id]
    assert _committed(settings, "fct_llm_calls", day, f"select count(*) from {{t}} where call_id = $c", c=call_id) == [(0,)]


def _committed(settings, table: str, day: date, sql: str, **params) -> list[tuple]:
    files = committed_files(settings, table, since=day, until=day)
    return duckdb.sql(sql.replace("{t}", "read_parquet($f)"), params={"f": files, **params}).fetchall()
