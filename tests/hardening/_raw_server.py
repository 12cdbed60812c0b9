"""A bare HTTP/1.1 server on 127.0.0.1 that records each raw request line, as sent on the wire.

No HTTP framework sits in between, so nothing decodes or normalises the target before the
test sees it. Every request is answered 404 with Clerk's error body.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

_BODY = b'{"errors":[{"code":"resource_not_found","message":"no"}]}'
_ANSWER = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


class RawServer:
    def __init__(self) -> None:
        self.request_lines: list[str] = []
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, _, rest = head.partition(b"\r\n")
                self.request_lines.append(line.decode("latin-1"))
                length = 0
                for header in rest.split(b"\r\n"):
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                writer.write(_ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def raw_server() -> AsyncIterator[RawServer]:
    state = RawServer()
    server = await asyncio.start_server(state._handle, "127.0.0.1", 0, limit=1 << 20)
    port = server.sockets[0].getsockname()[1]
    state.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield state
    finally:
        server.close()
        await server.wait_closed()
