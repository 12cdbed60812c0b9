"""Every Python code block of README.md and docs/*.md runs, against FakeClerk.

The blocks of one page run in order and share their names, as a reader would read them.
Each block gets a fresh `FakeClerk` holding 250 users, and these names already set:

- ``fake``: that FakeClerk; ``clerk``: an open `AsyncClerk` talking to it;
- ``ids``, ``user_ids``, ``ten_thousand_ids``: the ids of five of its users;
- ``asyncio`` and ``pytest``.

``CLERK_SECRET_KEY`` and ``CLERK_API_URL`` point at the fake, so a block that builds its own
``AsyncClerk()`` reaches it too. A block with top-level ``await`` runs on the test's event loop;
any other block runs in a thread, where it may call ``asyncio.run`` itself.

A block that defines ``test_`` functions is a test for the reader's own suite: all such blocks
of a page are written to one test module and run by pytest in a fresh process, with the
installed clerk_async plugin providing ``fake_clerk`` and ``clerk``; they must all pass.

A block that cannot run offline (it needs a real token, a web request, or is a signature
rather than code) is preceded in the Markdown by the marker

    <!-- docs-test: skip (why) -->

which is invisible on the site. Use it sparingly: a skipped block can break unnoticed.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clerk_async import AsyncClerk
from clerk_async.testing import FakeClerk

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!-- docs-test: skip \((.+)\) -->")
FENCE = re.compile(r"^```python\n(.*?)^```$", re.M | re.S)
# A block defining tests is run by pytest, as the reader's suite would run it.
TEST_FUNCTION = re.compile(r"^(?:async )?def test_", re.M)
# A block taking longer than this is stuck, not slow: FakeClerk answers in milliseconds.
BLOCK_SECONDS = 30


@dataclass
class Block:
    page: Path
    line: int
    source: str
    skip: str | None  # why it does not run, or None


def blocks(page: Path) -> list[Block]:
    """The Python blocks of a page, each with the skip reason its marker gives, if any."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = SKIP.fullmatch(before.strip())
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(page, line, match.group(1), marker.group(1) if marker else None))
    return found


def _uses_top_level_await(code: Any) -> bool:
    return bool(code.co_flags & ast.PyCF_ALLOW_TOP_LEVEL_AWAIT) or bool(code.co_flags & 0x80)


async def run_block(
    block: Block, namespace: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> str | None:
    """Run one block; the reason it could not run here, or None once it ran."""
    where = f"{block.page.relative_to(ROOT)}:{block.line}"
    code = compile(block.source, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    async with FakeClerk() as fake:
        ids = fake.seed_users(250)[:5]
        monkeypatch.setenv("CLERK_SECRET_KEY", fake.secret_key)
        monkeypatch.setenv("CLERK_API_URL", fake.url)
        async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
            namespace.update(
                fake=fake, fake_clerk=fake, clerk=clerk, ids=ids, user_ids=ids, ten_thousand_ids=ids
            )
            if _uses_top_level_await(code):
                result = eval(code, namespace)  # a coroutine, because the block awaits
                await asyncio.wait_for(result, BLOCK_SECONDS)
            else:
                await asyncio.wait_for(asyncio.to_thread(exec, code, namespace), BLOCK_SECONDS)
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
async def test_every_python_block_of_the_page_runs(
    page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__", "asyncio": asyncio, "pytest": pytest}
    tests = [
        block for block in blocks(page) if block.skip is None and TEST_FUNCTION.search(block.source)
    ]
    for block in blocks(page):
        if block.skip is None and block not in tests:
            await run_block(block, namespace, monkeypatch)
    if tests:
        run_as_pytest_module(tests, tmp_path)


def run_as_pytest_module(tests: list[Block], directory: Path) -> None:
    """Run the blocks that define pytest tests as one test module, in a fresh pytest with the
    installed clerk_async plugin, the way a reader's own suite would run them. The guide's
    ``myservice`` is the example service of ``examples/fastapi_app``."""
    (directory / "myservice.py").write_text("from fastapi_app.service import *  # noqa: F403\n")
    module = directory / "test_guide.py"
    module.write_text("\n\n".join(block.source for block in tests))
    paths = [str(directory), str(ROOT / "examples"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            str(module),
        ],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    where = ", ".join(f"{block.page.relative_to(ROOT)}:{block.line}" for block in tests)
    assert result.returncode == 0, f"the tests of {where} failed:\n{result.stdout}{result.stderr}"
    assert f"{len(TEST_FUNCTION.findall(module.read_text()))} passed" in result.stdout


def test_skip_markers_are_found_and_say_why(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n<!-- docs-test: skip (needs a real token) -->\n```python\nboom()\n```\n\n"
        "```python\nx = 1\n```\n"
    )
    found = blocks(page)
    assert [(b.line, b.skip, b.source) for b in found] == [
        (4, "needs a real token", "boom()\n"),
        (8, None, "x = 1\n"),
    ]


async def test_a_failing_block_fails_and_names_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python\nawait clerk.users.get('user_missing')\n```\n")
    block = blocks(page)[0]
    block.page = ROOT / "docs" / "page.md"  # where the message says it is
    from clerk_async import NotFoundError

    with pytest.raises(NotFoundError) as info:
        await run_block(block, {}, monkeypatch)
    assert any(frame.name == "<module>" for frame in info.traceback)
    assert "docs/page.md:1" in str(info.traceback[-1].path) or any(
        "docs/page.md:1" in str(entry.path) for entry in info.traceback
    )
