"""Smoke test of benchmarks/bench_client.py: it runs end to end and prints every client's row.

Timings are not asserted: they depend on the machine. What is asserted is that the script
exits cleanly, that each client really completed its calls against the local server (a row of
four figures, also present in the JSON output), and that a missing official SDK is reported
as such instead of failing the run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_client.py"

NUMBER = r"[\d,]+"
FIGURES = rf"\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s+({NUMBER})\s*$"
ROWS = {
    "clerk_async": re.compile(rf"^clerk_async{FIGURES}", re.MULTILINE),
    "official": re.compile(rf"^clerk-backend-api{FIGURES}", re.MULTILINE),
    "raw": re.compile(rf"^raw aiohttp\+msgspec{FIGURES}", re.MULTILINE),
}
OFFICIAL_MISSING = re.compile(r"^clerk-backend-api\s+not installed\s*$", re.MULTILINE)


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
        check=False,
    )


def _official_installed() -> bool:
    try:
        import clerk_backend_api  # noqa: F401
    except ImportError:
        return False
    return True


def _assert_figures(result: dict[str, object]) -> None:
    for phase in ("list", "get"):
        figures = result[phase]
        assert isinstance(figures, dict)
        assert figures["req_per_s"] > 0
        assert figures["cpu_us_per_call"] > 0


def test_quick_run_prints_all_three_clients(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = _run("--quick", "--json", str(out))
    assert done.returncode == 0, done.stdout + done.stderr

    assert ROWS["clerk_async"].search(done.stdout), done.stdout
    assert ROWS["raw"].search(done.stdout), done.stdout
    if _official_installed():
        assert ROWS["official"].search(done.stdout), done.stdout
    else:
        assert OFFICIAL_MISSING.search(done.stdout), done.stdout
    for statement in ("import clerk_async", "from clerk_async import AsyncClerk"):
        assert re.search(rf"^{statement}\s+\d+\.\d\s*$", done.stdout, re.MULTILINE), done.stdout

    figures = json.loads(out.read_text())
    _assert_figures(figures["clients"]["clerk_async"])
    _assert_figures(figures["clients"]["raw"])
    if _official_installed():
        _assert_figures(figures["clients"]["official"])
    # --quick is one round of 200 calls per phase.
    assert [r["list"]["calls"] for r in figures["rounds"]["raw"]] == [200]


def test_missing_official_sdk_is_reported_not_fatal(tmp_path: Path) -> None:
    # A package that fails to import exactly like an absent one hides the installed SDK.
    shadow = tmp_path / "shadow" / "clerk_backend_api"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'clerk_backend_api'\","
        " name='clerk_backend_api')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(shadow.parent), os.environ.get("PYTHONPATH", "")])
        ),
    }
    done = _run("--quick", "--calls", "20", "--import-runs", "1", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert OFFICIAL_MISSING.search(done.stdout), done.stdout
    assert re.search(r"^import clerk_backend_api\s+not installed\s*$", done.stdout, re.MULTILINE)
    assert ROWS["clerk_async"].search(done.stdout), done.stdout
    assert ROWS["raw"].search(done.stdout), done.stdout


@pytest.mark.parametrize("bad", [["--calls", "0"], ["--concurrency", "0"]])
def test_rejects_nonsensical_counts(bad: list[str]) -> None:
    done = _run(*bad)
    assert done.returncode == 2
    assert "must be at least 1" in done.stderr


EXPORT = ROOT / "benchmarks" / "bench_export.py"
EXPORT_ROW = r"\s+(\d+\.\d{3})\s+([\d,]+)\s+(\d+)\s*$"


def test_export_benchmark_quick_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(EXPORT), "--quick", "--latency", "5", "--work", "1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Exporting 2,000 users in pages of 500 (5 requests)" in done.stdout
    assert re.search(rf"^clerk_async{EXPORT_ROW}", done.stdout, re.MULTILINE), done.stdout
    assert re.search(rf"^clerk_async, no prefetch{EXPORT_ROW}", done.stdout, re.MULTILINE)
    official = re.search(rf"^clerk-backend-api{EXPORT_ROW}", done.stdout, re.MULTILINE)
    assert official if _official_installed() else "not installed" in done.stdout, done.stdout
