"""Docstring text: the spec's descriptions made plain, and what our code adds to them.

Descriptions in the spec are Markdown written for a web page; a docstring is read in an IDE
tooltip as often as on the documentation site, so links become ``text (url)``, emphasis and
HTML tags go, and inline code keeps its backticks (both renderings read them well).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")

STATUS_ERRORS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}


def plain(markdown: str) -> str:
    """Markdown → docstring text; paragraphs stay apart, list items stay one per line."""
    text = _LINK.sub(
        lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})",
        markdown,
    )
    text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3), text)
    text = _TAG.sub("", text)
    text = re.sub(r"^#+\s*", "", text, flags=re.M)
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def one_paragraph(markdown: str) -> str:
    """Plain text on one logical line, for an ``Args:`` or ``Attributes:`` entry."""
    return " ".join(plain(markdown).split())


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?:)`" else text + "."


def constraints(schema: dict[str, Any]) -> list[str]:
    """What the spec says a value may be: its allowed values, range and default."""
    notes = []
    items = schema.get("items", {}) if schema.get("type") == "array" else {}
    target = items or schema
    enum = [v for v in target.get("enum", []) if isinstance(v, str)]
    if enum:
        notes.append("Known values: " + ", ".join(f"`{v}`" for v in enum) + ".")
    low, high = target.get("minimum"), target.get("maximum")
    if low is not None and high is not None:
        notes.append(f"From {low} to {high}.")
    elif low is not None:
        notes.append(f"At least {low}.")
    elif high is not None:
        notes.append(f"At most {high}.")
    low_items, high_items = schema.get("minItems"), schema.get("maxItems")
    if low_items is not None and high_items is not None:
        notes.append(f"{low_items} to {high_items} entries.")
    elif high_items is not None:
        notes.append(f"At most {high_items} entries.")
    if "default" in schema and not isinstance(schema["default"], (dict, list)):
        notes.append(f"Clerk's default: `{json.dumps(schema['default'])}`.")
    return notes


def raises(statuses: list[int]) -> list[tuple[str, str]]:
    """One ``(exception, when)`` per class, its statuses listed, in the order of the first."""
    by_class: dict[str, list[int]] = defaultdict(list)
    for status in sorted(statuses):
        default = "ServerError" if status >= 500 else "ClerkAPIError"
        by_class[STATUS_ERRORS.get(status, default)].append(status)
    out = []
    for cls, codes in by_class.items():
        listed = " or ".join(str(c) for c in codes)
        out.append((cls, f"Clerk answers {listed}."))
    return out
