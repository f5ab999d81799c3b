"""The tokenbooks command: per-file report, non-zero exit on an unrecognised file, read-only SQL, help on every
argument, one home found the same way by the CLI and Dagster."""

import argparse

import pytest

from pipelines.cli import main
from pipelines.cli_parser import parser
from pipelines.settings import load_settings
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


def _actions(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)
        elif not isinstance(action, argparse._HelpAction):
            yield parser.prog, action


def test_every_argument_has_help_text():
    missing = [f"{prog} {action.dest}" for prog, action in _actions(parser()) if not action.help]
    assert missing == []


def test_a_command_where_no_home_exists_says_how_to_point_at_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOKENBOOKS_HOME", raising=False)
    assert main(["sql", "select 1"]) == 2
    err = capsys.readouterr().err
    assert f"no tokenbooks home at {tmp_path / 'data'}: pass --home DIR or set TOKENBOOKS_HOME" in err
    assert main(["build", "--from", "2026-11-10"]) == 2  # the ./data default is never created
    assert list(tmp_path.iterdir()) == []


def test_build_on_a_named_home_with_nothing_landed_says_so(tmp_path, capsys):
    assert main(["--home", str(tmp_path / "new"), "build", "--from", "2026-11-10"]) == 1
    assert "nothing landed in" in capsys.readouterr().err
    assert (tmp_path / "new" / "landing").is_dir()  # a named home is created by build


def test_the_cli_and_dagster_find_the_same_home(home, monkeypatch):
    from pipelines.resources import TokenbooksResource

    monkeypatch.setenv("TOKENBOOKS_HOME", str(home.home))
    assert TokenbooksResource().settings.home == load_settings().home == home.home
    assert load_settings().instance_dir == home.home.parent / "dagster_home"  # DAGSTER_HOME set: it wins
    monkeypatch.delenv("DAGSTER_HOME")
    assert load_settings().instance_dir == home.home / "dagster"
