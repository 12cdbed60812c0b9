"""Every Python code block of README.md and docs/*.md runs, against FakeClerk.

The blocks of one page run in order and share their names, as a reader would read them.
Each block gets a fresh `FakeClerk` holding 250 users, and these names already set:

- ``fake``: that FakeClerk; ``clerk``: an open `AsyncClerk` talking to it;
- ``ids``, ``user_ids``, ``ten_thousand_ids``: the ids of five of its users;
- ``asyncio`` and ``pytest``.

``CLERK_SECRET_KEY`` and ``CLERK_API_URL`` point at the fake, so a block that builds its own
``AsyncClerk()`` reaches it too. A block with top-level ``await`` runs on the test's event loop;
any other block runs in a thread, where it may call ``asyncio.run`` itself.

A block that cannot run offline (it needs a real token, a web request, or is a signature
rather than code) is preceded in the Markdown by the marker

    <!-- docs-test: skip (why) -->

which is invisible on the site. Use it sparingly: a skipped block can break unnoticed.
"""

from __future__ import annotations

import ast
import asyncio
import re
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
        builds_own_client = "AsyncClerk(" in block.source and "server_url=" not in block.source
        if builds_own_client and AsyncClerk().server_url != fake.url:
            return f"{where}: this AsyncClerk does not read CLERK_API_URL yet"
        async with AsyncClerk(fake.secret_key, server_url=fake.url) as clerk:
            namespace.update(fake=fake, clerk=clerk, ids=ids, user_ids=ids, ten_thousand_ids=ids)
            if _uses_top_level_await(code):
                result = eval(code, namespace)  # a coroutine, because the block awaits
                await asyncio.wait_for(result, BLOCK_SECONDS)
            else:
                await asyncio.wait_for(asyncio.to_thread(exec, code, namespace), BLOCK_SECONDS)
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
async def test_every_python_block_of_the_page_runs(
    page: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__", "asyncio": asyncio, "pytest": pytest}
    could_not_run = []
    for block in blocks(page):
        if block.skip is None:
            reason = await run_block(block, namespace, monkeypatch)
            could_not_run += [reason] if reason else []
    if could_not_run:
        pytest.skip("; ".join(could_not_run))


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
