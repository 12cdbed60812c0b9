"""Multipart file uploads (profile images, organization logos), kept for tests to inspect."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email import policy as email_policy
from email.parser import BytesParser

from aiohttp import web

from .._reject import Reject

__all__ = ["Upload", "Uploads", "digest"]


@dataclass(frozen=True)
class Upload:
    """A file received by a multipart operation (a profile image or an organization logo)."""

    target_id: str
    field: str
    filename: str | None
    content_type: str
    content: bytes


def digest(upload: Upload) -> str:
    return hashlib.sha256(upload.content).hexdigest()[:16]


class Uploads(list[Upload]):
    """Every file received, in order; :meth:`receive` parses and checks one."""

    async def receive(self, request: web.Request, target_id: str) -> Upload:
        """Parse the multipart body (already read for the record) and keep its ``file`` part."""
        if request.content_type != "multipart/form-data":
            raise Reject(
                400,
                "request_body_invalid",
                "multipart/form-data expected",
                f"This operation takes a multipart/form-data body, not {request.content_type!r}.",
            )
        header = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=email_policy.HTTP).parsebytes(header + await request.read())
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                content = part.get_payload(decode=True)
                if not isinstance(content, bytes) or not content:
                    break
                upload = Upload(
                    target_id=target_id,
                    field="file",
                    filename=part.get_filename(),
                    content_type=part.get_content_type(),
                    content=content,
                )
                if not upload.content_type.startswith("image/"):
                    raise Reject(
                        400,
                        "unsupported_content_type",
                        "Unsupported content type",
                        f"{upload.content_type} is not an image type.",
                        param="file",
                    )
                self.append(upload)
                return upload
        raise Reject(
            422, "form_param_missing", "is missing", "A 'file' part is required.", param="file"
        )
