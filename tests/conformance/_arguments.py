"""Valid arguments for every Backend API operation, derived from the vendored OpenAPI spec.

The spec is read at test time, so a refreshed spec is exercised without editing this file.
Each operation becomes a :class:`Call` that knows both the wire request (spec names, for
checking the builder with raw HTTP) and the SDK arguments (Python names, per the calling
convention). Values honour enums, formats, patterns, length and numeric bounds and item
counts; optional query parameters and body fields are filled in too, so that the SDK's
handling of every argument is seen by the mock server's validator.
"""

from __future__ import annotations

import functools
import re
import string
import struct
import sys
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The parser behind `re`; its public alias is deprecated from Python 3.11 on.
if sys.version_info >= (3, 11):
    from re import _parser as sre_parse  # type: ignore[attr-defined]  # private, no stub
else:  # pragma: no cover - Python 3.10
    import sre_parse

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "bapi-2026-05-12.yml"
OPERATIONS_PATH = ROOT / "spec" / "operations.tsv"

HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _png(width: int = 2, height: int = 2) -> bytes:
    """A small, genuinely decodable RGB PNG (what an image upload endpoint expects)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x6c\x47\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()

# Hand-picked values, keyed by "resource.method" and then by the spec name of a path
# parameter, query parameter or top-level body field. Everything else comes from the schema.
OVERRIDES: dict[str, dict[str, Any]] = {
    # `None` must reach Clerk as JSON null: a nullable field exercises that convention.
    "users.update": {"first_name": None},
    # The same for a nullable integer, on another resource.
    "organizations.update": {"max_allowed_memberships": None},
}

# Realistic strings for fields the schema types only as "string", by spec name (any level).
_NAMED_STRINGS: dict[str, str] = {
    "email_address": "jane.doe@example.com",
    "phone_number": "+15555550123",
    "web3_wallet": "0x71C7656EC7ab88b098defB751B7401B5f6d8976F",
    "username": "jane_doe",
    "first_name": "Jane",
    "last_name": "Doe",
    "password": "correct-horse-battery-staple",
    "code": "424242",
    "token": "tok_sample",
    "domain": "example.com",
    "name": "Sample",
    "slug": "sample-slug",
    "role": "org:member",
    "locale": "en-US",
    "order_by": "-created_at",
    "description": "Created by the conformance suite",
    "signing_algorithm": "RS256",
    "currency": "USD",
    "totp_secret": "JBSWY3DPEHPK3PXP",
    "backup_code": "12345678",
    "password_digest": "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
    "scope": "read",
    "permission": "org:sys_profile:manage",
    "query": "jane",
    "provider": "oauth_google",
    "template_name": "supabase",
    "role_set_key_or_id": "default",
}

# Prefixes Clerk uses for the ids most often passed around.
_ID_PREFIXES: dict[str, str] = {
    "user": "user",
    "organization": "org",
    "client": "client",
    "session": "sess",
    "invitation": "inv",
    "machine": "mch",
    "other_machine": "mch",
    "inviter_user": "user",
    "uploader_user": "user",
    "requesting_user": "user",
    "email_address": "idn",
    "phone_number": "idn",
}

_ID_TAIL = "2xhFjEI5X2qWRvtV13BzSj8H6Dk"  # 27 characters, like Clerk's ids


def snake(name: str) -> str:
    """The Python name of a spec name: ``apiKeyID`` -> ``api_key_id``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


@dataclass(frozen=True)
class Row:
    """One line of ``spec/operations.tsv``."""

    resource: str
    method: str
    http: str
    path: str
    operation_id: str
    tag: str
    deprecated: bool

    @property
    def id(self) -> str:
        return f"{self.resource}.{self.method}"


def operation_rows() -> list[Row]:
    lines = OPERATIONS_PATH.read_text(encoding="utf-8").splitlines()
    header, *body = (line.split("\t") for line in lines if line.strip())
    assert header == ["resource", "method", "http", "path", "operation_id", "tag", "deprecated"]
    return [
        Row(resource, method, http, path, operation_id, tag, deprecated=deprecated == "yes")
        for resource, method, http, path, operation_id, tag, deprecated, *_ in body
    ]


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as file:
        return yaml.safe_load(file)  # type: ignore[no-any-return]


def resolve(spec: Mapping[str, Any], node: Any) -> Any:
    """Follow ``$ref`` until a real node is reached."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass(frozen=True)
class QueryParam:
    name: str
    value: Any
    explode: bool = True


@dataclass
class Call:
    """One valid request for one operation."""

    row: Row
    operation: Mapping[str, Any]
    path_params: list[tuple[str, str]] = field(default_factory=list)
    query: list[QueryParam] = field(default_factory=list)
    body_kind: str | None = None  # "json", "multipart" or None
    body: Any = None  # an object's fields (dict), an array body (list), or None

    @property
    def id(self) -> str:
        return self.row.id

    @property
    def authenticated(self) -> bool:
        return self.operation.get("security") != []

    def response_shape(self) -> tuple[str, str | None]:
        """What the 2xx answer is: ``("none", None)`` for no body, ``("model", Name)`` or
        ``("list", Name)`` for a component schema (or an array of one), ``("inline", None)``
        for a schema written in place (the generator names those itself)."""
        spec = load_spec()
        ((_, answer),) = [
            (code, resolve(spec, answer))
            for code, answer in self.operation["responses"].items()
            if str(code).startswith("2")
        ]
        content = answer.get("content")
        if not content:
            return ("none", None)
        schema = content["application/json"]["schema"]
        if "$ref" in schema:
            return ("model", schema["$ref"].rsplit("/", 1)[-1])
        if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
            return ("list", schema["items"]["$ref"].rsplit("/", 1)[-1])
        return ("inline", None)

    def url_path(self) -> str:
        path = self.row.path
        for name, value in self.path_params:
            path = path.replace("{" + name + "}", value)
        return path

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query string as the spec's style/explode settings lay it out."""
        pairs: list[tuple[str, str]] = []
        for param in self.query:
            if isinstance(param.value, list):
                items = [_wire_scalar(item) for item in param.value]
                if param.explode:
                    pairs.extend((param.name, item) for item in items)
                else:
                    pairs.append((param.name, ",".join(items)))
            else:
                pairs.append((param.name, _wire_scalar(param.value)))
        return pairs

    def sdk_arguments(self) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for ``clerk.<resource>.<method>``."""
        args: list[Any] = [value for _, value in self.path_params]
        kwargs: dict[str, Any] = {snake(param.name): param.value for param in self.query}
        if isinstance(self.body, list):
            args.append(self.body)
        elif isinstance(self.body, dict):
            kwargs.update({snake(name): value for name, value in self.body.items()})
        return args, kwargs


def _wire_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_call(row: Row) -> Call:
    spec = load_spec()
    operation = spec["paths"][row.path][row.http.lower()]
    overrides = OVERRIDES.get(row.id, {})
    call = Call(row=row, operation=operation)
    params = [resolve(spec, p) for p in operation.get("parameters", [])]

    path_params = {p["name"]: p for p in params if p["in"] == "path"}
    for name in re.findall(r"\{([^}]+)\}", row.path):
        value = overrides.get(name, _Sampler(spec).value(path_params[name]["schema"], name))
        call.path_params.append((name, value))

    for param in params:
        if param["in"] != "query" or param.get("deprecated"):
            continue  # deprecated parameters are left out: the SDK may not offer them
        name = param["name"]
        value = overrides.get(name, _Sampler(spec).value(param["schema"], name))
        explode = param.get("explode", param.get("style", "form") == "form")
        call.query.append(QueryParam(name, value, explode))

    request_body = resolve(spec, operation.get("requestBody"))
    if request_body:
        ((content_type, media),) = request_body["content"].items()
        schema = resolve(spec, media["schema"])
        call.body_kind = "multipart" if content_type == "multipart/form-data" else "json"
        body = _Sampler(spec).value(schema, "")
        if isinstance(body, dict):
            parameters = set(path_params) | {q.name for q in call.query}
            body.update({k: v for k, v in overrides.items() if k not in parameters})
            # Body fields and parameters share one keyword namespace in the SDK.
            for name in sorted(parameters & set(body)):
                raise AssertionError(f"{row.id}: body field {name!r} shadows a parameter")
        call.body = body
    return call


def all_calls() -> list[Call]:
    return [build_call(row) for row in operation_rows()]


class _Sampler:
    """Builds one valid, deterministic value for a schema."""

    max_depth = 6

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec

    def value(self, schema: Any, name: str, depth: int = 0) -> Any:
        schema = self._merge(resolve(self.spec, schema))
        if "enum" in schema:
            choices = [choice for choice in schema["enum"] if choice is not None]
            return schema["example"] if schema.get("example") in choices else choices[0]
        if "example" in schema and _fits(schema, schema["example"]):
            return schema["example"]
        kind = schema.get("type") or ("object" if "properties" in schema else "string")
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind == "boolean":
            return schema.get("default", True)
        if kind in ("integer", "number"):
            return self._number(schema, name)
        return self._string(schema, name)

    def _merge(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """Fold allOf into one schema and take the first non-null branch of anyOf/oneOf.

        A schema-level anyOf that only lists required properties (a constraint, not a
        type) is satisfied by filling every property, which ``_object`` does anyway.
        """
        merged = {k: v for k, v in schema.items() if k not in ("allOf", "anyOf", "oneOf")}
        for part in schema.get("allOf", []):
            part = self._merge(resolve(self.spec, part))
            merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
            merged["required"] = [*merged.get("required", []), *part.get("required", [])]
            merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
        for key in ("anyOf", "oneOf"):
            branches = [resolve(self.spec, b) for b in schema.get(key, [])]
            typed = [
                b for b in branches if b.get("type") not in (None, "null") or "properties" in b
            ]
            if typed:
                merged.update(self._merge(typed[0]))
        return merged

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required", []))
        result: dict[str, Any] = {}
        for prop, sub in properties.items():
            sub_schema = resolve(self.spec, sub)
            if prop not in required and (sub_schema.get("deprecated") or depth >= self.max_depth):
                continue
            result[prop] = self.value(sub_schema, prop, depth + 1)
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, Mapping) and resolve(self.spec, extra):
            # A map with typed values: one entry of that type.
            result = {"sample_key": self.value(extra, "sample_key", depth + 1)}
        elif not properties and extra is not False:
            result = {"plan": "pro", "seats": 5}  # free-form metadata or claims
        return result

    def _array(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        # Two items where allowed, so that repeated and comma-joined query styles differ.
        count = max(schema.get("minItems", 0), 2)
        if "maxItems" in schema:
            count = min(count, schema["maxItems"])
        item_schema = self._merge(resolve(self.spec, schema.get("items", {})))
        if "enum" in item_schema:
            choices = [c for c in item_schema["enum"] if c is not None]
            return choices[: max(min(count, len(choices)), 1)]
        first = self.value(item_schema, _singular(name), depth + 1)
        return [_distinct(first, i, item_schema.get("pattern")) for i in range(count)]

    def _number(self, schema: Mapping[str, Any], name: str) -> float:
        low = schema.get("minimum")
        high = schema.get("maximum")
        if low is not None and schema.get("exclusiveMinimum") is True:
            low += 1
        if high is not None and schema.get("exclusiveMaximum") is True:
            high -= 1
        if "default" in schema and schema["default"] is not None:
            value = schema["default"]
        elif name.endswith(("_at", "_after", "_before", "_since")):
            value = 1_700_690_400_000  # a millisecond timestamp
        else:
            value = 10
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        # Whole numbers stay ints even for "number": an int is a valid float argument.
        return int(value) if value == int(value) else float(value)

    def _string(self, schema: Mapping[str, Any], name: str) -> str | bytes:
        name = snake(name)
        fmt = schema.get("format")
        if fmt == "binary":
            return PNG
        if "pattern" in schema:
            value = sample_pattern(schema["pattern"])
        elif fmt == "email":
            value = "jane.doe@example.com"
        elif fmt == "uri" or name.endswith(("_url", "_uri")) or name == "url":
            value = "https://example.com/callback"
        elif fmt == "date-time":
            value = "2026-01-15T10:30:00Z"
        elif name in _NAMED_STRINGS:
            value = _NAMED_STRINGS[name]
        elif name.endswith("_id") or name == "id":
            stem = name.removesuffix("_id") or "id"
            value = f"{_ID_PREFIXES.get(stem, stem)}_{_ID_TAIL}"
        else:
            value = f"sample {name}".strip()
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if len(value) < low:
            value += "x" * (low - len(value))
        if high is not None and len(value) > high:
            value = value[:high]
        return value


def _fits(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether an example from the spec respects the schema's own simple constraints."""
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        shortest: int = schema.get("minLength", 0)
        longest: int = schema.get("maxLength", len(value))
        return shortest <= len(value) <= longest
    return value is not None


def _singular(name: str) -> str:
    """The name an array's items are sampled under: ``user_ids`` -> ``user_id``."""
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _distinct(item: Any, index: int, pattern: str | None) -> Any:
    """The i-th item of an array: a variant of the first one, so that items differ."""
    if index == 0:
        return item
    if isinstance(item, dict):
        return {
            key: _distinct(value, index, None) if key == "email_address" else value
            for key, value in item.items()
        }
    if not isinstance(item, str) or not item:
        return item
    if "@" in item:
        local, _, domain = item.partition("@")
        return f"{local}+{index}@{domain}"
    if pattern is not None:
        return sample_pattern(pattern, seed=index)
    if "/" not in item and "." in item:  # a domain
        return f"app{index}.{item}"
    last = item[-1]
    for alphabet in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
        if last in alphabet:  # same shape, one character further on
            return item[:-1] + alphabet[(alphabet.index(last) + index) % len(alphabet)]
    return f"{item}-{index}"


# -- A deterministic sampler for the small regular expressions the spec uses. --

_PREFERRED = string.ascii_lowercase + string.digits + string.ascii_uppercase + "_-."


def sample_pattern(pattern: str, seed: int = 0) -> str:
    """A string that fully matches ``pattern`` (anchors included); another seed gives
    another string."""
    parsed = sre_parse.parse(pattern)
    value = "".join(_emit(parsed, _counter(seed)))
    if not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), value):
        raise ValueError(f"could not build a sample for pattern {pattern!r} (got {value!r})")
    return value


def _counter(seed: int) -> Iterator[int]:
    n = seed
    while True:
        yield n
        n += 1


def _emit(items: Any, position: Iterator[int]) -> Iterator[str]:
    for op, arg in items:
        name = _name(op)
        if name == "LITERAL":
            yield chr(arg)
        elif name == "AT":
            continue
        elif name == "SUBPATTERN":
            yield from _emit(arg[-1], position)
        elif name == "BRANCH":
            yield from _emit(arg[1][0], position)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = low if low > 0 else min(high, 8)
            for _ in range(count):
                yield from _emit(sub, position)
        elif name == "IN":
            yield _pick(lambda c, arg=arg: _in_class(arg, c), next(position))
        elif name == "ANY":
            yield _pick(lambda c: c != "\n", next(position))
        elif name == "NOT_LITERAL":
            yield _pick(lambda c, arg=arg: c != chr(arg), next(position))
        else:
            raise ValueError(f"unsupported regular expression construct {name}")


def _pick(accepts: Any, position: int) -> str:
    candidates = [c for c in _PREFERRED if accepts(c)]
    if not candidates:
        raise ValueError("no printable character fits the character class")
    return candidates[(position * 7) % len(candidates)]


_CATEGORIES = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_SPACE": str.isspace,
}


def _in_class(items: Any, char: str) -> bool:
    negate = False
    matched = False
    for op, arg in items:
        name = _name(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            matched |= char == chr(arg)
        elif name == "RANGE":
            matched |= arg[0] <= ord(char) <= arg[1]
        elif name == "CATEGORY":
            category = _name(arg)
            if category.startswith("CATEGORY_NOT_"):
                matched |= not _CATEGORIES[category.replace("NOT_", "")](char)
            else:
                matched |= _CATEGORIES[category](char)
        else:
            raise ValueError(f"unsupported character class construct {name}")
    return matched != negate


def _name(constant: Any) -> str:
    """The name of one of the regular expression parser's opcodes."""
    return str(getattr(constant, "name", constant))
