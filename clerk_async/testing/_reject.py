"""Answers in Clerk's error shape, raised anywhere in the fake and rendered by the server."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Reject", "invalid", "not_found", "taken"]


class Reject(Exception):
    """An HTTP error answer: ``{"errors": [{code, message, long_message, meta}], ...}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        long_message: str | None = None,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.long_message = long_message or message
        self.meta: dict[str, Any] = {"param_name": param} if param else {}
        self.headers = dict(headers or {})


def not_found(what: str = "Resource") -> Reject:
    return Reject(404, "resource_not_found", "not found", f"{what} not found")


def taken(param: str, message: str) -> Reject:
    return Reject(422, "form_identifier_exists", message, param=param)


def invalid(param: str, long_message: str) -> Reject:
    return Reject(422, "form_param_value_invalid", "is invalid", long_message, param=param)
