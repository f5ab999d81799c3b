"""Quarantine never holds more personal data than the lake: user ids hashed the same way, no prompt or response
text, whichever format the record came from and whether or not it parsed."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.land import land_file
from pipelines.ingest.privacy import REMOVED, pseudonymise, scrub, user_hash
from tests.conftest import call, write_jsonl

KEY = "test-hash-key-5b1d"
EMAIL, PROMPT, ANSWER = "alice@example.com", "MY SECRET PROMPT", "MY SECRET ANSWER"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _everything_written(home) -> bytes:
    return b"".join(f.read_bytes() for f in home.home.rglob("*") if f.is_file() and f.suffix in (".parquet", ".json"))


def _quarantine(home) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(f) for f in sorted(home.quarantine.glob("*.parquet"))])


def test_a_canonical_line_quarantined_as_read_keeps_no_email_and_no_prompt(home, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_USER_HASH_KEY", KEY)
    lines = [
        call(call_id="good", user_id=EMAIL),
        call(call_id="fraction", user_id=EMAIL, output_tokens="1.5 tokens",
             messages=[{"role": "user", "content": PROMPT}], completion=ANSWER),
    ]
    path = write_jsonl(tmp_path / "calls.jsonl", lines)
    with open(path, "a") as f:  # a line cut short: not JSON at all
        f.write('{"call_id": "cut", "user_id": "' + EMAIL + '", "prompt": "' + PROMPT + '"\n')
    result = land_file(path, home)
    assert (result.records_in, result.landed, result.quarantined) == (3, 1, 2)
    written = _everything_written(home)
    for secret in (EMAIL, PROMPT, ANSWER):
        assert secret.encode() not in written
    q = _quarantine(home).sort("record")
    fraction = json.loads(q["raw"][0])
    assert fraction["user_id"] == user_hash(EMAIL, KEY) and fraction["output_tokens"] == "1.5 tokens"
    assert fraction["messages"] == [{"role": REMOVED, "content": REMOVED}] and fraction["completion"] == REMOVED
    assert q["raw"][1].startswith('{"call_id": "cut", ')  # what is left identifies the line


def test_quarantine_hashes_users_as_the_lake_does(home, tmp_path, monkeypatch):
    monkeypatch.setenv("TOKENBOOKS_USER_HASH_KEY", KEY)
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="ok", user_id=EMAIL), call(call_id="bad", user_id=EMAIL,
                                                                                           input_tokens="12.5")])
    land_file(path, home)
    lake = pl.read_parquet(sorted(home.lake.glob("calls/day=*/*.parquet")))
    assert lake["user_id"].to_list() == [user_hash(EMAIL, KEY)]
    assert pseudonymise(pl.DataFrame({"user_id": [EMAIL]}), KEY)["user_id"][0] == user_hash(EMAIL, KEY)
    assert json.loads(_quarantine(home)["raw"][0])["user_id"] == user_hash(EMAIL, KEY)


def test_without_a_hash_key_users_stay_as_in_the_lake_but_text_still_goes(home, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="bad", user_id="u-7", output_tokens="x", prompt=PROMPT)])
    land_file(path, home)
    raw = json.loads(_quarantine(home)["raw"][0])
    assert raw["user_id"] == "u-7" and raw["prompt"] == REMOVED


@pytest.mark.parametrize(
    "record, expected",
    [
        # OTel attributes: the key names the field, the value holds it
        ({"attributes": [{"key": "user.id", "value": {"stringValue": EMAIL}},
                         {"key": "gen_ai.prompt", "value": {"stringValue": PROMPT}}]},
         {"attributes": [{"key": "user.id", "value": {"stringValue": user_hash(EMAIL, KEY)}},
                         {"key": "gen_ai.prompt", "value": {"stringValue": REMOVED}}]}),
        # Bedrock: the body goes, the counts beside it stay
        ({"input": {"inputBodyJson": {"messages": [{"content": [{"text": PROMPT}]}]}, "inputTokenCount": 12},
          "identity": {"arn": "arn:aws:iam::1:role/x"}},
         {"input": {"inputBodyJson": {"messages": [{"content": [{"text": REMOVED}]}]}, "inputTokenCount": 12},
          "identity": {"arn": "arn:aws:iam::1:role/x"}}),
        # Langfuse and LiteLLM spellings of the user
        ({"userId": EMAIL, "end_user": EMAIL, "output": ANSWER},
         {"userId": user_hash(EMAIL, KEY), "end_user": user_hash(EMAIL, KEY), "output": REMOVED}),
    ],
)
def test_scrub_knows_each_sources_spelling(record, expected):
    assert json.loads(scrub(json.dumps(record), KEY)) == expected


def test_a_malformed_litellm_csv_row_keeps_no_messages(home, tmp_path):
    lines = (FIXTURES / "litellm" / "spend_logs.csv").read_text().splitlines()
    broken = lines[1].split(",")[:5]  # a short row, messages and all cut off from its columns
    path = tmp_path / "spend.csv"
    path.write_text("\n".join([lines[0], ",".join(broken) + ',"SECRET PROMPT', *lines[2:]]) + "\n")
    result = land_file(path, home)
    assert result.error is None and result.quarantined >= 1
    assert b"SECRET PROMPT" not in _everything_written(home) and b"SECRET ANSWER" not in _everything_written(home)
