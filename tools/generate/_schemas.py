"""OpenAPI schemas → msgspec Struct definitions.

Rules that make real responses decode, whatever Clerk adds later:
- a string enum becomes ``Literal[...] | str``: new values still decode;
- ``oneOf``/``anyOf`` of objects becomes one Struct holding every variant's fields, all optional,
  so a variant Clerk adds later still decodes into something usable;
- ``allOf`` merges its parts;
- names listed in ``required`` but never declared (spec defects) are ignored;
- unknown fields are ignored (msgspec's default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._names import pascal, shadows_builtin, singular, snake

# Schemas whose names would read as something else in Python: Clerk's `ClerkError` schema is
# an error *entry*, not an exception.
RENAMES = {"ClerkError": "APIErrorDetail", "ClerkErrors": "APIErrors"}

# Field names whose values are credentials: masked in the model's repr.
SECRET_FIELDS = frozenset(
    {"secret", "client_secret", "secret_key", "token", "jwt", "password", "password_digest", "d", "k"}
)


@dataclass(frozen=True)
class Ann:
    """A type annotation and the generated models it names."""

    text: str
    deps: frozenset[str] = frozenset()

    def wrap(self, template: str) -> Ann:
        return Ann(template.format(self.text), self.deps)


ANY = Ann("Any")


@dataclass
class Field:
    name: str
    wire: str
    ann: Ann
    required: bool
    nullable: bool


@dataclass
class StructDef:
    name: str
    source: str
    request: bool
    fields: list[Field] = field(default_factory=list)
    used_by: set[str] = field(default_factory=set)

    @property
    def deps(self) -> set[str]:
        return {dep for f in self.fields for dep in f.ann.deps} - {self.name}

    @property
    def secrets(self) -> list[str]:
        return [f.name for f in self.fields if f.wire in SECRET_FIELDS]


class SchemaRegistry:
    """Turns schemas into annotations, creating each Struct once."""

    def __init__(self, components: dict[str, Any], request_components: set[str]) -> None:
        self.components = components
        self.request_components = request_components
        self.structs: dict[str, StructDef] = {}
        self._inline: dict[tuple[str, bool], str] = {}
        # An inline schema identical to a component (descriptions aside) reuses it.
        self._component_shapes = {_shape(s): n for n, s in components.items() if "properties" in s}

    # -- schema helpers -------------------------------------------------------------------

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def _variants(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The oneOf/anyOf branches that describe a shape (not bare ``required`` lists)."""
        branches = schema.get("oneOf", []) + schema.get("anyOf", [])
        return [b for b in branches if "$ref" in b or "type" in b or "properties" in b]

    def is_struct(self, schema: dict[str, Any]) -> bool:
        schema = self.resolve(schema)
        if "properties" in schema or "allOf" in schema:
            return True
        variants = self._variants(schema)
        return len(variants) > 1 and all(self.is_struct(v) for v in variants)

    def object_parts(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """Properties and required names of an object schema, allOf and unions folded in."""
        schema = self.resolve(schema)
        props = dict(schema.get("properties", {}))
        required = set(schema.get("required", []))
        for part in schema.get("allOf", []):
            part_props, part_required = self.object_parts(part)
            props.update(part_props)
            required |= part_required
        variants = [self.object_parts(v) for v in self._variants(schema) if self.is_struct(v)]
        for variant_props, _ in variants:
            for name, prop in variant_props.items():
                props[name] = _merge_property(props[name], prop) if name in props else prop
        return props, required & set(props)

    # -- annotations ----------------------------------------------------------------------

    def annotation(self, schema: dict[str, Any], hint: str, request: bool) -> Ann:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            target = self.components[name]
            if self.is_struct(target):
                return self.component(name)
            return self.annotation(target, pascal(name), request)
        variants = self._variants(schema)
        if len(variants) == 1 and "properties" not in schema:
            return self.annotation(variants[0], hint, request)
        if self.is_struct(schema):
            return self.inline(schema, hint, request)
        kind = schema.get("type")
        if kind == "array":
            return self.annotation(schema.get("items", {}), singular(hint), request).wrap("list[{}]")
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return self.annotation(extra, hint, request).wrap("dict[str, {}]")
            return Ann("dict[str, Any]")
        if kind == "string":
            values = [v for v in schema.get("enum", []) if isinstance(v, str)]
            if values:
                return Ann("Literal[{}] | str".format(", ".join(json.dumps(v) for v in values)))
            return Ann("str")
        return Ann({"integer": "int", "number": "float", "boolean": "bool"}.get(kind or "", "Any"))

    def component(self, name: str) -> Ann:
        struct_name = RENAMES.get(name) or pascal(name)
        if struct_name not in self.structs:
            self._build(struct_name, self.components[name], f"schema `{name}`",
                        name in self.request_components)
        return Ann(struct_name, frozenset({struct_name}))

    def inline(self, schema: dict[str, Any], hint: str, request: bool) -> Ann:
        same = self._component_shapes.get(_shape(schema))
        if same is not None:
            return self.component(same)
        key = (json.dumps(schema, sort_keys=True), request)
        if key not in self._inline:
            name = self._free_name(self._inline_name(schema, hint))
            self._inline[key] = name
            self._build(name, schema, "an inline schema", request)
        name = self._inline[key]
        return Ann(name, frozenset({name}))

    def _inline_name(self, schema: dict[str, Any], hint: str) -> str:
        """Name an inline object after its ``object`` tag when it has exactly one."""
        tag = schema.get("properties", {}).get("object", {}).get("enum", [])
        if len(tag) == 1 and isinstance(tag[0], str) and not hint.endswith("Request"):
            return pascal(tag[0])
        return hint

    def _free_name(self, name: str) -> str:
        candidate, n = name, 1
        taken = set(self.structs) | {
            RENAMES.get(c) or pascal(c) for c, s in self.components.items() if self.is_struct(s)
        }
        while candidate in taken:
            n += 1
            candidate = f"{name}{n}"
        return candidate

    def _build(self, name: str, schema: dict[str, Any], source: str, request: bool) -> None:
        struct = StructDef(name=name, source=source, request=request)
        self.structs[name] = struct  # registered first: recursive schemas refer back to it
        props, required = self.object_parts(schema)
        for wire, prop in props.items():
            py = snake(wire)
            if shadows_builtin(py) and py not in {"object", "type"}:
                raise ValueError(f"{name}.{wire} would shadow a builtin used in annotations")
            ann = self.annotation(prop, name + pascal(wire), request)
            struct.fields.append(
                Field(py, wire, ann, wire in required, bool(self.resolve(prop).get("nullable")))
            )


def _shape(schema: dict[str, Any]) -> str:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in {"description", "example"}}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return json.dumps(strip(schema), sort_keys=True)


def _merge_property(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """One schema accepting what either variant's property accepts."""
    if a == b:
        return a
    nullable = bool(a.get("nullable") or b.get("nullable"))
    if a.get("type") == b.get("type") == "string":
        merged: dict[str, Any] = {"type": "string"}
        if "enum" in a and "enum" in b:
            merged["enum"] = list(dict.fromkeys(a["enum"] + b["enum"]))
    elif "$ref" in a and "$ref" in b and a["$ref"] == b["$ref"]:
        merged = {"$ref": a["$ref"]}
    elif a.get("type") == b.get("type") and a.get("type") in {"integer", "number", "boolean"}:
        merged = {"type": a["type"]}
    else:
        merged = {}
    if nullable:
        merged["nullable"] = True
    return merged


def field_line(f: Field, request: bool) -> str:
    """One Struct field: required, nullable and request/response defaults applied."""
    ann = f.ann.text
    if f.required:
        default = None
    elif request:
        ann += " | UnsetType"
        default = "UNSET"
    else:
        default = "None"
    if f.nullable or default == "None":
        ann += " | None"
    if f.name != f.wire:
        args = [f"name={json.dumps(f.wire)}"] + ([f"default={default}"] if default else [])
        return f"{f.name}: {ann} = field({', '.join(args)})"
    return f"{f.name}: {ann}" + (f" = {default}" if default else "")
