"""Backend API operations → the data a resource method needs (parameters, body, response)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._names import pascal, snake
from ._schemas import SchemaRegistry, read_names, read_table
from ._types import MAPPING, Ann, generic, named, union

PER_CALL_OPTIONS = ("timeout", "retries", "extra_headers")
# `clerk_async._pagination.DEFAULT_PAGE_SIZE`: the pager assumes it when `limit` is not given.
DEFAULT_PAGE_SIZE = 10
_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Param:
    name: str
    wire: str
    location: str  # "path", "query", "body", "file", "items"
    ann: Ann
    required: bool
    nullable: bool = False
    joined: bool = False  # a query list sent comma-separated (`explode: false`)
    schema: dict[str, Any] = field(default_factory=dict)
    doc: str = ""  # the spec's description, Markdown


@dataclass
class OperationDef:
    resource: str
    method: str
    http: str
    path: str
    operation_id: str
    summary: str
    description: str
    deprecated: bool
    authenticated: bool
    params: list[Param]
    body: str | None  # "json" | "multipart" | None
    empty_body: bool
    response: Ann | None
    error_statuses: list[int]
    page_item: Ann | None = None  # list operations (`limit` and `offset`): the item type,
    items_key: str = "data"  # the key of the item array in an object answer,
    other_shape: Ann | None = None  # and the other answer shape `paginated` can ask for

    @property
    def qualified(self) -> str:
        return f"{self.resource}.{self.method}"


def _request_components(spec: dict[str, Any]) -> set[str]:
    """Component schemas reachable from a request body: their optional fields default to UNSET."""
    components = spec["components"]["schemas"]
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    walk(components[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in spec["paths"].values():
        for method in _METHODS:
            if method in item:
                walk(item[method].get("requestBody", {}))
    return found


def load_operations(
    spec: dict[str, Any], table: Path, names: Path
) -> tuple[list[OperationDef], SchemaRegistry]:
    """Every operation of ``table``, and the registry holding every model they reach.

    ``names`` is the naming table (``source``, ``name``) that settles model names."""
    naming = read_names(names, "")
    registry = SchemaRegistry(spec["components"]["schemas"], _request_components(spec), naming)
    ops = [_operation(spec, registry, row) for row in read_table(table)]
    for name in spec["components"]["schemas"]:
        if registry.is_struct(spec["components"]["schemas"][name]):
            registry.component(name)
    if registry.unused_names():
        raise ValueError(f"spec/model-names.tsv rows no schema uses: {registry.unused_names()}")
    return ops, registry


def _operation(spec: dict[str, Any], registry: SchemaRegistry, row: dict[str, str]) -> OperationDef:
    raw = spec["paths"][row["path"]][row["http"].lower()]
    hint = pascal(row["operation_id"])
    params = _parameters(spec, registry, raw, hint, row["path"])
    body_kind, empty_body, body_params = _body(registry, raw, hint)
    params += body_params
    names = [p.name for p in params] + list(PER_CALL_OPTIONS)
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{row['operation_id']}: parameter names collide: {duplicates}")
    response = _response(spec, registry, raw, hint)
    listing = _listing(registry, row["operation_id"], params, response)
    return OperationDef(
        resource=row["resource"],
        method=row["method"],
        http=row["http"],
        path=row["path"],
        operation_id=row["operation_id"],
        summary=raw.get("summary", "").strip().rstrip("."),
        description=raw.get("description", "").strip(),
        deprecated=bool(raw.get("deprecated")) or row["deprecated"] == "yes",
        authenticated=raw.get("security", [{}]) != [],
        params=params,
        body=body_kind,
        empty_body=empty_body,
        response=response,
        error_statuses=sorted(int(c) for c in raw["responses"] if c.isdigit() and int(c) >= 400),
        page_item=listing[0] if listing else None,
        items_key=listing[1] if listing else "data",
        other_shape=_other_shape(listing[0], response, params) if listing else None,
    )


def _other_shape(item: Ann, response: Ann | None, params: list[Param]) -> Ann | None:
    """A list operation with a `paginated` flag answers in either shape: a bare array, or an
    object with `data` and `total_count`. The spec declares one; this is the other."""
    if not any(p.wire == "paginated" for p in params):
        return None
    assert response is not None
    if response.item is not None:
        return generic("Paginated", item)
    return generic("list", item)


def _listing(
    registry: SchemaRegistry, operation_id: str, params: list[Param], response: Ann | None
) -> tuple[Ann, str] | None:
    """For an operation paged by `limit` and `offset`: its item type and, when the answer is
    an object, the key of the item array. Both counts become `int` (a few say `number`)."""
    paging = {p.wire: p for p in params if p.location == "query" and p.wire in ("limit", "offset")}
    if len(paging) < 2:
        return None
    if paging["limit"].schema.get("default") != DEFAULT_PAGE_SIZE:
        raise ValueError(
            f"{operation_id}: the pager assumes a default limit of {DEFAULT_PAGE_SIZE}"
        )
    for p in paging.values():
        p.ann = named("int")
    assert response is not None, operation_id
    if response.item is not None:
        return response.item, "data"
    arrays = [f for f in registry.structs[response.text].fields if f.ann.item is not None]
    if len(arrays) != 1:
        raise ValueError(f"{operation_id}: a list answer must hold exactly one array")
    item = arrays[0].ann.item
    assert item is not None
    return item, arrays[0].wire


def _parameters(
    spec: dict[str, Any], registry: SchemaRegistry, raw: dict[str, Any], hint: str, path: str
) -> list[Param]:
    shared = spec["components"]["parameters"]
    resolved = [
        shared[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in raw.get("parameters", [])
    ]
    # A deprecated spelling of another parameter (`frontendApi` beside `frontend_api`) is dropped:
    # both would have the same Python name.
    current = {snake(p["name"]) for p in resolved if not p.get("deprecated")}
    resolved = [p for p in resolved if not (p.get("deprecated") and snake(p["name"]) in current)]
    path_names = re.findall(r"\{([^}]+)\}", path)
    out = []
    for location in ("path", "query"):
        group = [p for p in resolved if p["in"] == location]
        if location == "path":
            group.sort(key=lambda p: path_names.index(p["name"]))
        for p in group:
            schema = p.get("schema", {})
            ann = registry.annotation(schema, hint + pascal(p["name"]), request=True)
            if location == "query" and _is_boolean_text(schema):
                ann = named("bool")
            if location == "query" and ann.item is not None:
                ann = generic("Sequence", *ann.args)
            out.append(
                Param(
                    snake(p["name"]),
                    p["name"],
                    location,
                    ann,
                    location == "path" or bool(p.get("required")),
                    joined=p.get("explode") is False,
                    schema=schema,
                    doc=p.get("description") or schema.get("description", ""),
                )
            )
    return out


def _is_boolean_text(schema: dict[str, Any]) -> bool:
    """A query parameter the spec types as the strings ``true``/``false``: a `bool` in Python,
    sent lowercase like every boolean query value."""
    return schema.get("type") == "string" and sorted(schema.get("enum", [])) == ["false", "true"]


def _body(
    registry: SchemaRegistry, raw: dict[str, Any], hint: str
) -> tuple[str | None, bool, list[Param]]:
    body = raw.get("requestBody")
    if not body:
        return None, False, []
    content_type, media = next(iter(body["content"].items()))
    schema = registry.resolve(media["schema"])
    if schema.get("type") == "array":
        item = registry.annotation(schema["items"], hint + "Item", request=True)
        ann = generic("Sequence", _accepting_mapping(registry, item))
        items = Param(
            "items", "items", "items", ann, True, schema=schema, doc=body.get("description", "")
        )
        return "json", False, [items]
    kind = "multipart" if content_type.startswith("multipart/") else "json"
    props, required = registry.object_parts(schema)
    params = []
    for wire, prop in props.items():
        resolved = registry.resolve(prop)
        if kind == "multipart" and resolved.get("format") == "binary":
            ann, location = named("FileInput"), "file"
        else:
            ann, location = registry.annotation(prop, hint + pascal(wire), request=True), "body"
            ann = _accepting_mapping(registry, ann)
        params.append(
            Param(
                snake(wire),
                wire,
                location,
                ann,
                wire in required,
                bool(resolved.get("nullable")),
                schema=resolved,
                doc=prop.get("description") or resolved.get("description", ""),
            )
        )
    params.sort(key=lambda p: not p.required)
    return kind, bool(body.get("required")), params


def _accepting_mapping(registry: SchemaRegistry, ann: Ann) -> Ann:
    """Let a nested-object argument be the generated Struct or a plain mapping."""
    if ann.model:
        return union(ann, MAPPING)
    if ann.item is not None and ann.item.model:
        return generic("Sequence", union(ann.item, MAPPING))
    return ann


def _response(
    spec: dict[str, Any], registry: SchemaRegistry, raw: dict[str, Any], hint: str
) -> Ann | None:
    status = min(int(c) for c in raw["responses"] if c.startswith("2"))
    response = raw["responses"][str(status)]
    if "$ref" in response:
        name = response["$ref"].rsplit("/", 1)[1]
        response = spec["components"]["responses"][name]
        hint = pascal(name)
        if name in spec["components"]["schemas"] or hint in registry.structs:
            hint += "Response"
    else:
        hint += "Response"
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return registry.annotation(schema, hint, request=False)
