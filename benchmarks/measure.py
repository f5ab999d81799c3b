"""Run one benchmark phase in a child process and measure it: wall seconds, CPU seconds, peak RSS.

Each phase is ``python -m benchmarks.phases <phase> <args.json> <result.json>``. The parent
waits for it with ``os.wait4``, whose rusage is the child's own (``ru_maxrss``: the child's peak
resident set, in KiB on Linux, including DuckDB's and Polars' native memory). A phase's result
(rows, timings it took inside) comes back through the result file.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class PhaseFailed(RuntimeError):
    pass


@dataclass
class Measured:
    phase: str
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_phase(phase: str, args: dict[str, Any], env: dict[str, str] | None = None, log: Path | None = None) -> Measured:
    """Run ``phase`` in a fresh Python process; raise PhaseFailed (with its stderr tail) if it fails."""
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        args_file, result_file = Path(tmp) / "args.json", Path(tmp) / "result.json"
        args_file.write_text(json.dumps(args, default=str))
        child_env = {**os.environ, **(env or {})}
        child_env["PYTHONPATH"] = str(REPO) + os.pathsep + child_env.get("PYTHONPATH", "")
        err_path = log or Path(tmp) / "stderr.log"
        with open(err_path, "ab") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.phases", phase, str(args_file), str(result_file)],
                cwd=REPO, env=child_env, stdout=err, stderr=err,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0 or not result_file.exists():
            tail = Path(err_path).read_text(errors="replace")[-4000:]
            raise PhaseFailed(f"phase {phase} failed (exit {proc.returncode}):\n{tail}")
        result = json.loads(result_file.read_text())
    return Measured(
        phase=phase,
        wall_s=round(wall, 3),
        user_s=round(usage.ru_utime, 3),
        sys_s=round(usage.ru_stime, 3),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),
        result=result,
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import duckdb
    import polars

    try:
        import dagster

        dagster_version = dagster.__version__
    except ImportError:  # pragma: no cover
        dagster_version = None
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "dagster": dagster_version,
    }
