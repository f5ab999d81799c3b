"""The tokenbooks command: per-file report, non-zero exit on an unrecognised file, read-only SQL."""

import pytest

from pipelines.cli import main
from tests.conftest import call, write_jsonl


def test_ingest_prints_format_and_counts(home, tmp_path, capsys):
    path = write_jsonl(tmp_path / "calls.jsonl", [call(call_id="a"), call(call_id="b")])
    assert main(["--home", str(home.home), "ingest", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tokenbooks_calls -> calls: 2 records, 2 landed, 0 quarantined" in out


def test_ingest_of_an_unknown_file_exits_nonzero_with_one_line(home, tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    assert main(["--home", str(home.home), "ingest", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "format not recognised" in err[0] and str(path) in err[0]


def test_sql_without_a_warehouse_says_so(home, capsys):
    assert main(["--home", str(home.home), "sql", "select 1"]) == 2
    assert "no warehouse" in capsys.readouterr().err


def test_config_with_a_secret_is_refused(home, capsys):
    (home.home / "tokenbooks.yaml").write_text("smtp:\n  host: x\n  password: hunter2\n")
    assert main(["--home", str(home.home), "sql", "select 1"]) == 2
    assert "environment variables" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["2026-13-01", "yesterday"])
def test_bad_dates_are_rejected_by_the_parser(bad, home):
    with pytest.raises(SystemExit):
        main(["--home", str(home.home), "build", "--from", bad])
