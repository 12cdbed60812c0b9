"""The bulk-job examples: their functions against FakeClerk, and the scripts as run by users."""

from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import msgspec

from clerk_async import AsyncClerk, NotFoundError
from clerk_async.models import User
from clerk_async.testing import FakeClerk

EXAMPLES = Path(__file__).parents[2] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CLERK_SECRET_KEY", "CLERK_API_URL")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_export_writes_every_user_once_oldest_first(tmp_path: Path) -> None:
    export = load("export_users")
    out = tmp_path / "users.jsonl"
    progress = io.StringIO()
    async with (
        FakeClerk(users=1_234) as fake,
        AsyncClerk(fake.secret_key, server_url=fake.url) as clerk,
    ):
        written = await export.export_users(clerk, out, progress=progress)
        users = [msgspec.json.decode(line, type=User) for line in out.read_bytes().splitlines()]
        assert written == len(users) == 1_234
        assert [u.id for u in users] == list(fake.users)
        assert users[0] == msgspec.convert(fake.users[users[0].id], User)
        # users.count, then three pages of 500 (the last one short).
        assert [r.path for r in fake.requests] == ["/v1/users/count"] + ["/v1/users"] * 3
    assert "1,234/1,234 users" in progress.getvalue()


async def test_ban_bans_the_listed_users_and_reports_the_rest(tmp_path: Path) -> None:
    ban = load("ban_users")
    async with (
        FakeClerk(users=50, delay=0.005) as fake,
        AsyncClerk(fake.secret_key, server_url=fake.url) as clerk,
    ):
        chosen = list(fake.users)[10:40]
        ids_file = tmp_path / "ids.txt"
        ids_file.write_text("# to ban\n\n" + "\n".join([*chosen[:15], "user_nope", *chosen[15:]]))
        ids = ban.read_ids(ids_file)
        assert ids == [*chosen[:15], "user_nope", *chosen[15:]]

        outcomes = await ban.ban_users(clerk, ids, concurrency=6)
        assert [o.item for o in outcomes] == ids
        assert isinstance(outcomes[15].error, NotFoundError)
        assert all(o.ok and o.value.banned for n, o in enumerate(outcomes) if n != 15)
        assert {i for i, user in fake.users.items() if user["banned"]} == set(chosen)
        assert fake.max_in_flight == 6
        assert ban.report(outcomes) == 1


def test_the_export_script_runs_against_the_demo_server(tmp_path: Path) -> None:
    result = run_script("export_users", "out.jsonl", "--demo-users", "700", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "700 users written to out.jsonl" in result.stdout
    assert len((tmp_path / "out.jsonl").read_bytes().splitlines()) == 700


def test_the_ban_script_runs_against_the_demo_server(tmp_path: Path) -> None:
    result = run_script("ban_users", "--concurrency", "10", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # the sample holds one id that does not exist
    assert "200 of 201 users banned" in result.stdout
    assert "FakeClerk now holds 200 banned users" in result.stdout
    # The demo's fake enforces a limit the job runs into: no ban is lost, and the wait shows.
    waited = re.search(r"calls spent ([0-9.]+)s in all", result.stdout)
    assert waited is not None and float(waited.group(1)) > 0
    assert "user_does_not_exist: not banned (404 resource_not_found)" in result.stderr


def test_the_fastapi_example_runs_offline(tmp_path: Path) -> None:
    result = run_script("fastapi_auth", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "CLERK_SECRET_KEY is not set: running offline against FakeClerk"
    assert [line.split(" ", 3)[2] for line in lines[1:]] == ["200", "401", "200", "403", "401"]
    assert '"detail":"token-invalid-authorized-parties"' in lines[2]


def test_the_fastapi_app_examples_own_suite_passes() -> None:
    # Run as its owners would: pytest-asyncio's strict mode (its default), no conftest.py;
    # the plugin comes from the installed entry point, or is named from a source checkout.
    plugin = "clerk_async.testing._plugin"
    installed = any(e.value == plugin for e in entry_points(group="pytest11"))
    env = {k: v for k, v in os.environ.items() if k not in ("CLERK_SECRET_KEY", "CLERK_API_URL")}
    env["PYTHONPATH"] = str(EXAMPLES.parent)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=strict",
            *([] if installed else ["-p", plugin]),
            str(EXAMPLES / "fastapi_app"),
        ],
        cwd=EXAMPLES.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
