"""`make bench` at a tiny size, so the harness keeps working: every phase runs and the results are written.

Times are not asserted (speed is measured by the benchmark itself, never by tests): only that the phases ran
through the production entry points and landed and built every generated call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipelines.settings import PROJECT_ROOT


def test_the_benchmark_runs_every_phase_at_a_tiny_size(tmp_path: Path) -> None:
    out, work = tmp_path / "results", tmp_path / "work"
    cmd = [sys.executable, "-m", "benchmarks.run", "--sizes", "1500:1", "--formats", "canonical", "--profile",
           "--no-validation-cost", "--out", str(out), "--work", str(work)]
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    results = sorted(out.glob("bench-*.json"))
    assert len(results) == 1 and (out / "latest.md").exists()
    doc = json.loads(results[0].read_text())
    assert doc["machine"]["cores"] >= 1
    size = doc["sizes"][0]
    run = size["formats"]["canonical"]
    calls = run["ingest"]["result"]["tables"]["calls"]
    assert calls["records_in"] == calls["landed"] == run["calls"] > 0 and calls["quarantined"] == 0
    assert run["floor"]["result"]["rows"] >= run["calls"]
    assert run["nightly"]["result"]["success"], run["nightly"]["result"]["failures"]
    steps = {s["step"] for s in run["nightly"]["result"]["steps"]}
    assert {"warehouse_day", "warehouse_checks", "monitoring_day", "digest"} <= steps
    assert run["ratio"] > 0 and run["e2e_peak_rss_mb"] > 0
    assert size["direct"]["result"]["rows"]["fct_llm_calls"] == run["calls"]
    # the lower bound's fact copy is the published fact table itself, every row and column
    assert run["fact_copy"]["result"]["rows"] == run["calls"] and run["fact_copy"]["result"]["columns"] >= 21
    assert {t["step"] for t in size["profile_build"]["result"]["timings"]} >= {"load_inputs", "write fct_llm_calls"}
    assert size["incrementality"]["ratio"] > 0 and size["empty_run"]["result"]["success"]
    report = results[0].with_suffix(".md").read_text()
    assert "| calls/day |" in report and "Lower bound with the fact table" in report
    assert not work.exists() or not any(work.iterdir())  # scratch data removed
