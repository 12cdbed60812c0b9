"""Multipart uploads: turning the ``file=`` argument of an upload operation into form parts.

Parts are read into memory before the first attempt, so a retry sends the same bytes again.
"""

from __future__ import annotations

import asyncio
import mimetypes
import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from ._errors import ClerkError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["FileInput", "Part", "form_data", "parts"]

FileInput = bytes | bytearray | IO[bytes] | os.PathLike[str] | str | tuple[str, bytes, str]
"""What a multipart file field accepts: bytes, a binary file object, a path, or
``(filename, content, content_type)``."""


@dataclass(frozen=True)
class Part:
    """One multipart field, read into memory so that a retry can send it again."""

    name: str
    value: bytes | str
    filename: str | None = None
    content_type: str | None = None


async def parts(operation: str, fields: dict[str, object], files: tuple[str, ...]) -> list[Part]:
    """The parts of a multipart body: the ``files`` fields read as files, the rest as text."""
    return [
        await _file_part(operation, name, value) if name in files else Part(name, _text(value))
        for name, value in fields.items()
    ]


def form_data(body: list[Part]) -> aiohttp.FormData:
    """A fresh ``FormData`` for one attempt (aiohttp consumes it when sending)."""
    import aiohttp

    form = aiohttp.FormData()
    for part in body:
        form.add_field(
            part.name, part.value, filename=part.filename, content_type=part.content_type
        )
    return form


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def _file_part(operation: str, name: str, value: object) -> Part:
    if isinstance(value, tuple):
        filename, content, content_type = value
        return Part(name, bytes(content), filename, content_type)
    if isinstance(value, (bytes, bytearray)):
        content = bytes(value)
        filename = name
    elif isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        try:
            content = await asyncio.to_thread(_read_file, path)
        except OSError as exc:
            raise ClerkError(f"{operation}: cannot read {name} from {path!r}: {exc}") from exc
        filename = os.path.basename(path)
    elif hasattr(value, "read"):
        content = value.read()
        if not isinstance(content, bytes):
            raise TypeError(f"{operation}: {name} must be opened in binary mode ('rb')")
        filename = os.path.basename(str(getattr(value, "name", name)))
    else:
        raise TypeError(
            f"{operation}: {name} must be bytes, a binary file, a path or"
            f" (filename, content, content_type), not {type(value).__name__}"
        )
    content_type = _sniff(content) or mimetypes.guess_type(filename)[0]
    if content_type and "." not in filename:
        filename += mimetypes.guess_extension(content_type) or ""
    return Part(name, content, filename, content_type or "application/octet-stream")


def _read_file(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _sniff(content: bytes) -> str | None:
    for magic, content_type in _SIGNATURES:
        if content.startswith(magic):
            return content_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None
