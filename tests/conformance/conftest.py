"""A Stoplight Prism mock server, built from the vendored Backend API spec, for the session."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "spec" / "bapi-2026-05-12.yml"
DEFAULT_PRISM = ROOT / "tools" / "prism" / "node_modules" / ".bin" / "prism"
STARTUP_SECONDS = 60.0

# Response violations per operation id, filled by the tests and summed up at the end.
_VIOLATIONS = pytest.StashKey[dict[str, list[str]]]()


def _prism_binary() -> Path:
    configured = os.environ.get("PRISM_BIN")
    binary = Path(configured) if configured else DEFAULT_PRISM
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(
            f"Prism is not installed at {binary}: run `npm ci --prefix tools/prism` from the"
            " repository root (or point PRISM_BIN at a prism executable)",
            pytrace=False,
        )
    return binary


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # Prism answers its root with 404: it is up
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End Prism and every process it started (it runs node under a shell wrapper)."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The root URL of a Prism mock of the Backend API (paths have no ``/v1`` prefix)."""
    binary = _prism_binary()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("prism") / "prism.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        # A file, not a pipe: Prism logs every request and a full pipe would stall it.
        process = subprocess.Popen(
            [str(binary), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches node too
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(url + "/"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                state = (
                    f"exited with status {process.returncode}"
                    if process.poll() is not None
                    else f"did not answer within {STARTUP_SECONDS:g}s"
                )
                pytest.fail(f"Prism {state}; its output ends with:\n{tail}", pytrace=False)
            time.sleep(0.25)
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def response_violations(pytestconfig: pytest.Config) -> dict[str, list[str]]:
    """Where each test records the response violations Prism reported for its operation."""
    return pytestconfig.stash.setdefault(_VIOLATIONS, {})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found_by_operation = terminalreporter.config.stash.get(_VIOLATIONS, {})
    if not found_by_operation:
        return
    total = sum(len(found) for found in found_by_operation.values())
    terminalreporter.section("Prism: the spec's own examples break the spec (response side)")
    terminalreporter.write_line(
        f"{total} response violations in {len(found_by_operation)} operations"
        " (allowed; these are defects of the spec's examples, not of the SDK)"
    )
    if terminalreporter.config.getoption("verbose") > 0:
        for operation, found in sorted(found_by_operation.items()):
            terminalreporter.write_line(f"  {operation}: {len(found)}")
            for message in found[:5]:
                terminalreporter.write_line(f"      {message}")
