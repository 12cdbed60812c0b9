"""The pytest plugin, as a user's project meets it: no conftest.py, pytest run in a subprocess,
under pytest-asyncio's strict and auto modes and under anyio's plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = "clerk_async.testing._plugin"
# pytest-asyncio warns (an error under -W error) until a project chooses this.
LOOP_SCOPE = "-oasyncio_default_fixture_loop_scope=function"

STRICT = '''
import pytest
from clerk_async.auth import Auth

@pytest.mark.asyncio
@pytest.mark.fake_clerk(users=3, secret_key="sk_test_marked")
async def test_the_fixtures_are_bound(fake_clerk, clerk):
    assert fake_clerk.secret_key == "sk_test_marked"
    assert len((await clerk.users.list()).items) == 3
    user_id = next(iter(fake_clerk.users))
    state = await clerk.authenticate_request(
        {"Authorization": "Bearer " + fake_clerk.session_token(user_id)}
    )
    assert state.to_auth().user_id == user_id

@pytest.mark.asyncio
async def test_each_test_gets_a_fresh_fake(fake_clerk, clerk):
    assert fake_clerk.users == {} and fake_clerk.secret_key == "sk_test_fake"
    assert (await clerk.users.count()).total_count == 0
'''

AUTO = '''
import pytest

@pytest.mark.fake_clerk(organizations=2)
async def test_auto_mode_needs_no_marker(fake_clerk, clerk):
    assert len((await clerk.organizations.list()).items) == 2
'''

ANYIO = '''
import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
@pytest.mark.fake_clerk(users=1)
async def test_under_anyio(fake_clerk, clerk):
    assert (await clerk.users.count()).total_count == 1
'''

MISUSED = '''
import pytest

@pytest.mark.asyncio
@pytest.mark.fake_clerk(10)
async def test_positional_options(fake_clerk):
    pass
'''


def run_pytest(tmp_path: Path, source: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_app.py").write_text(source)
    installed = any(e.value == PLUGIN for e in entry_points(group="pytest11"))
    # Installed (as by tox), pytest finds the plugin through its entry point; run from a
    # source checkout, it is named explicitly.
    load = [] if installed else ["-p", PLUGIN]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",
         *load, *options, str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_the_entry_point_is_declared() -> None:
    table = f'[project.entry-points.pytest11]\nclerk_async = "{PLUGIN}"\n'
    assert table in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("source", "options"),
    [
        (STRICT, (LOOP_SCOPE,)),
        (AUTO, (LOOP_SCOPE, "-o", "asyncio_mode=auto")),
        (ANYIO, (LOOP_SCOPE,)),
        (ANYIO, ("-p", "no:asyncio")),
    ],
    ids=["strict", "auto", "anyio", "anyio-without-pytest-asyncio"],
)
def test_the_fixtures_work_in_every_mode(
    tmp_path: Path, source: str, options: tuple[str, ...]
) -> None:
    result = run_pytest(tmp_path, source, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "warning" not in result.stdout


def test_a_marker_with_positional_options_says_how_to_fix_it(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, MISUSED, LOOP_SCOPE)
    assert result.returncode != 0
    assert "keyword arguments only" in result.stdout + result.stderr
