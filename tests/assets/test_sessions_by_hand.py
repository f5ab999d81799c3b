"""mart_sessions by hand: a session's feature is its first call's, whatever order the log lists the calls in (calls at
the same microsecond ordered by a fixed hash of the call id), and a key that is one call's session id and another
call's trace id is a session.

Nov 10, support-bot, one session s-1 of three calls: c-b at 12:00:00 (feature triage), c-a at 12:00:00 too (feature
reply), c-c at 12:00:05 (reply). A trace t-9: c-d has no session and trace t-9, c-e names t-9 as its session.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipelines.db import open_warehouse
from tests.conftest import call, land_and_build, write_jsonl

NOV10 = date(2026, 11, 10)
CALLS = [
    call(call_id="c-b", session_id="s-1", feature="triage", occurred_at="2026-11-10T12:00:00Z"),
    call(call_id="c-a", session_id="s-1", feature="reply", occurred_at="2026-11-10T12:00:00Z"),
    call(call_id="c-c", session_id="s-1", feature="reply", occurred_at="2026-11-10T12:00:05Z"),
    call(call_id="c-d", trace_id="t-9", feature="search", occurred_at="2026-11-10T13:00:00Z"),
    call(call_id="c-e", session_id="t-9", feature="search", occurred_at="2026-11-10T13:00:01Z"),
]


def sessions(home, records) -> dict:
    land_and_build(home, [write_jsonl(home.landing / "calls.jsonl", records)], [NOV10])
    con = open_warehouse(home)
    try:
        rows = con.execute("select session_key, session_kind, feature, calls from mart_sessions order by all").fetchall()
    finally:
        con.close()
    return {key: (kind, feature, calls) for key, kind, feature, calls in rows}


@pytest.fixture
def tie_winner() -> str:
    """The feature of whichever of the two 12:00:00 calls has the smaller fixed hash of its call id."""
    first = duckdb.connect().execute("select arg_min(id, hash(id)) from (values ('c-a'), ('c-b')) as t(id)").fetchone()[0]
    return {"c-a": "reply", "c-b": "triage"}[first]


def test_the_first_calls_feature_does_not_depend_on_the_logs_order(home, tie_winner):
    as_logged = sessions(home, CALLS)
    assert as_logged["s-1"] == ("session", tie_winner, 3)
    assert as_logged["t-9"] == ("session", "search", 2)  # one call names it as its session: a session


def test_the_same_calls_logged_in_reverse_give_the_same_sessions(home, tie_winner):
    assert sessions(home, list(reversed(CALLS)))["s-1"] == ("session", tie_winner, 3)
