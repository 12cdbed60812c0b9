"""Hostile path parameters: every operation, every path parameter and values an attacker would
send. A value that is (or decodes to) a dot segment is refused before anything is sent; every
other value reaches the wire inside its own segment, so no call can be turned into another.
"""

from __future__ import annotations

import re
import warnings
from typing import Any
from urllib.parse import unquote

import pytest

from clerk_async import AsyncClerk, NotFoundError

from ..conformance._arguments import Row, build_call, operation_rows
from ._raw_server import raw_server

REFUSED = ["", ".", "..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%2e", "%252e%252e", "%25252e%25252E"]
KEPT = [
    "..%2f",
    "a/../..",
    "/",
    "../users",
    "?",
    "#",
    "x?limit=1#y",
    "\x00",
    "a\r\nX-Injected: 1",
    "ünïcødé-日本",
    "%",
    "%zz",
    "...",
    " ",
    "x" * 10_000,
]
ROWS = [row for row in operation_rows() if "{" in row.path]


def _segments(path: str) -> list[str]:
    return path.split("?", 1)[0].split("/")


async def _call(clerk: AsyncClerk, row: Row, args: list[Any], kwargs: dict[str, Any]) -> None:
    method = getattr(getattr(clerk, row.resource), row.method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        await method(*args, **kwargs)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_path_parameters_stay_in_their_segment(row: Row) -> None:
    call = build_call(row)
    args, kwargs = call.sdk_arguments()
    names = [name for name, _ in call.path_params]
    template = ["v1", *row.path.strip("/").split("/")]
    async with raw_server() as server, AsyncClerk(
        "sk_test_hostile", server_url=server.url, retry=False
    ) as clerk:
        for index, name in enumerate(names):
            for value in REFUSED:
                hostile = list(args)
                hostile[index] = value
                with pytest.raises(ValueError, match=rf"{re.escape(row.id)}: {name} is "):
                    await _call(clerk, row, hostile, kwargs)
            assert server.request_lines == [], f"{row.id} sent a refused value"

            for value in KEPT:
                hostile = list(args)
                hostile[index] = value
                with pytest.raises(NotFoundError):
                    await _call(clerk, row, hostile, kwargs)
                method, target, _ = server.request_lines.pop().split(" ")
                assert method == row.http
                sent = _segments(target)[1:]
                assert len(sent) == len(template), f"{row.id}: {value!r} changed the path: {target}"
                for want, got in zip(template, sent, strict=True):
                    if want == f"{{{name}}}":
                        assert unquote(got) == value
                        assert "/" not in got and "?" not in got and "#" not in got
                    elif not want.startswith("{"):
                        assert got == want


def test_every_path_parameter_of_every_operation_is_walked() -> None:
    # 162 of the 249 operations take 187 path parameters in all (spec 2026-05-12).
    assert len(ROWS) == 162
    assert sum(row.path.count("{") for row in ROWS) == 187


async def test_a_non_string_path_parameter_is_a_type_error() -> None:
    async with raw_server() as server, AsyncClerk("sk_test_x", server_url=server.url) as clerk:
        with pytest.raises(TypeError, match=r"users\.get: user_id must be a str, not int"):
            await clerk.users.get(42)  # type: ignore[arg-type]
    assert server.request_lines == []


