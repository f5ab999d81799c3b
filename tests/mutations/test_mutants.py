"""The mutation list stays plantable (checked on every `make test`, in seconds) and the runner does what
`make mutate` relies on: a bug the tests catch is killed, one they miss survives and fails the run, and the
working tree is never written to."""

import hashlib
from pathlib import Path

import yaml

from tests.mutations.run import KEYS, ROOT, load, main, stale


def test_every_mutant_can_be_planted_and_says_which_rule_it_breaks():
    mutants = load()
    assert stale(mutants) == []
    for m in mutants:
        assert m.rule.strip() and m.tests and m.original != m.replacement, m.id


def tree_digest() -> str:
    h = hashlib.sha256()
    for pattern in ("pipelines/**/*.py", "models/**/*.sql", "reports/*"):
        for path in sorted(ROOT.glob(pattern)):
            h.update(path.read_bytes())
    return h.hexdigest()


def write(path: Path, mutants: list[dict]) -> Path:
    path.write_text(yaml.safe_dump(mutants, sort_keys=False))
    return path


def test_a_caught_bug_is_killed_a_missed_one_survives_and_a_stale_one_fails(tmp_path, capsys):
    before = tree_digest()
    caught = {"id": "mad-unscaled", "rule": "r", "file": "pipelines/monitoring/baseline.py",
              "original": 'MAD_SCALE = Decimal("1.4826")', "replacement": 'MAD_SCALE = Decimal("1")',
              "tests": ["tests/unit/test_drift_by_hand.py::test_the_baseline_is_the_14_days_before_the_judged_day"]}
    assert list(caught) == list(KEYS)
    missed = {**caught, "id": "missed",
              "tests": ["tests/unit/test_drift_by_hand.py::test_volume_and_model_mix_change_together"]}
    assert main(["--mutants", str(write(tmp_path / "a.yaml", [caught])), "--no-baseline"]) == 0
    assert main(["--mutants", str(write(tmp_path / "b.yaml", [caught, missed])), "--no-baseline"]) == 1
    assert "SURVIVED: missed" in capsys.readouterr().err
    gone = {**caught, "id": "gone", "original": "MAD_SCALE = 1.4826"}
    assert main(["--mutants", str(write(tmp_path / "c.yaml", [gone]))]) == 1
    assert "snippet not found in pipelines/monitoring/baseline.py: gone" in capsys.readouterr().err
    assert tree_digest() == before
