"""The FinOps Foundation's focus-validator 1.0.0, run the way it has to be run.

It lives in its own venv (``make focus-validator``: it pins numpy<2 and pandas<3), created here on first use
through the same Makefile target that ``make test`` depends on. It reads its ISO currency list from a path
relative to the working directory (``focus_validator/utils/currency_codes.csv``), so it runs from its
site-packages folder. Its console output always exits 0; the JUnit report says what failed.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def venv() -> Path:
    path = Path(os.environ.get("FOCUS_VALIDATOR_VENV", ROOT / ".venv-focus"))
    if not (path / ".installed").exists():
        subprocess.run(["make", "-C", str(ROOT), "focus-validator", f"FOCUS_VENV={path}"], check=True)
    return path


def validate(csv: Path, report: Path, version: str = "1.0") -> tuple[int, list[str]]:
    """(checks run, names of the failed checks) for ``csv`` against the validator's ``version`` rules."""
    env = venv()
    site = next((env / "lib").glob("python*/site-packages"))
    run = subprocess.run(
        [str(env / "bin" / "focus-validator"), "--data-file", str(csv.resolve()), "--validate-version", version,
         "--column-namespace", "x", "--output-type", "unittest", "--output-destination", str(report.resolve())],
        cwd=site, capture_output=True, text=True,
    )
    assert run.returncode == 0 and report.exists(), f"focus-validator did not run: {run.stderr[-2000:]}"
    root = ET.parse(report).getroot()
    failed = [
        f"{case.get('name')}: {problem.get('message')}"
        for case in root.iter("testcase")
        for problem in [*case.findall("failure"), *case.findall("error")]
    ]
    return int(root.get("tests", 0)), failed
