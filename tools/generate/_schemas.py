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

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._names import pascal, shadows_builtin, singular, snake
from ._types import ANY, STR, Ann, generic, literal_or_str, model, named

# Schemas whose names would read as something else in Python: Clerk's `ClerkError` schema is
# an error *entry*, not an exception.
RENAMES = {"ClerkError": "APIErrorDetail", "ClerkErrors": "APIErrors"}

# Field names whose values are credentials: masked in the model's repr.
SECRET_FIELDS = frozenset(
    {
        "secret",
        "client_secret",
        "secret_key",
        "token",
        "jwt",
        "password",
        "password_digest",
        "d",
        "k",
    }
)


@dataclass
class Field:
    name: str
    wire: str
    ann: Ann
    required: bool
    nullable: bool
    doc: str = ""
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass
class StructDef:
    name: str
    source: str
    request: bool
    doc: str = ""
    deprecated: bool = False
    fields: list[Field] = field(default_factory=list)
    used_by: set[str] = field(default_factory=set)

    @property
    def deps(self) -> set[str]:
        return {dep for f in self.fields for dep in f.ann.deps} - {self.name}

    @property
    def secrets(self) -> list[str]:
        return [f.name for f in self.fields if f.wire in SECRET_FIELDS]


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of a committed tab-separated table, as dicts keyed by its header."""
    with path.open(newline="") as file:
        return list(csv.DictReader(file, delimiter="\t"))


def read_names(path: Path, prefix: str) -> dict[str, str]:
    """The naming table's rows for one spec: ``webhooks:`` rows for the webhook events spec,
    unprefixed rows for the Backend API, each as source → Python name."""
    rows = read_table(path)
    return {
        row["source"].removeprefix(prefix): row["name"]
        for row in rows
        if row["source"].startswith("webhooks:") == bool(prefix)
    }


class NameClash(ValueError):
    """Two different schemas would get the same Python name; the naming table must settle it."""


# Names that end in a digit because the word does, not because a counter added one.
_WORDS_ENDING_IN_DIGITS = ("Web3", "S256")


def check_not_numbered(name: str, source: str) -> None:
    """Refuse ``APIKey2``-style names: they change whenever the spec is reordered."""
    if name[-1].isdigit() and not name.endswith(_WORDS_ENDING_IN_DIGITS):
        raise NameClash(f"{source} would be named {name!r}; name it in spec/model-names.tsv")


class SchemaRegistry:
    """Turns schemas into annotations, creating each Struct once under a stable name.

    A component schema is named after itself; an inline object after its ``object`` tag when
    it has exactly one, else after where it appears (its *hint*, such as
    ``GetAPIKeyResponse``). ``names`` overrides both: it maps ``schema:<spec name>`` or
    ``inline:<hint>`` to the Python name. Two schemas may share a name only when the table
    says so and the existing Struct decodes everything the other describes, or when they
    declare the same fields; anything else raises `NameClash`.
    """

    def __init__(
        self,
        components: dict[str, Any],
        request_components: set[str],
        names: dict[str, str] | None = None,
        suffix: str = "",
    ) -> None:
        self.components = components
        self.request_components = request_components
        self.names = dict(names or {})
        self.suffix = suffix
        self.used_names: set[str] = set()
        self.structs: dict[str, StructDef] = {}
        self._inline: dict[tuple[str, bool], str] = {}
        self._components_claimed: set[str] = set()
        # Python name -> the source that owns it; components are reserved up front so that
        # the order operations are read in cannot hand a component's name to something else.
        self._owners: dict[str, str] = {}
        for spec_name, schema in components.items():
            if self.is_struct(schema):
                self._owners.setdefault(self._component_name(spec_name), f"schema:{spec_name}")
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
            return generic(
                "list", self.annotation(schema.get("items", {}), singular(hint), request)
            )
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return generic("dict", STR, self.annotation(extra, hint, request))
            return generic("dict", STR, ANY)
        if kind == "string":
            values = [v for v in schema.get("enum", []) if isinstance(v, str)]
            if values:
                return literal_or_str(values)
            return STR
        return named(
            {"integer": "int", "number": "float", "boolean": "bool"}.get(kind or "", "Any")
        )

    def component(self, name: str) -> Ann:
        struct_name = self._component_name(name)
        if name not in self._components_claimed:
            self._components_claimed.add(name)
            self._claim(
                struct_name,
                self.components[name],
                f"schema:{name}",
                f"schema `{name}`",
                name in self.request_components,
            )
        return model(struct_name)

    def inline(self, schema: dict[str, Any], hint: str, request: bool) -> Ann:
        same = self._component_shapes.get(_shape(schema))
        if same is not None:
            return self.component(same)
        key = (json.dumps(schema, sort_keys=True), request)
        wanted = self._lookup(f"inline:{hint}")
        if key not in self._inline:
            name = wanted or self._inline_name(schema, hint)
            self._inline[key] = self._claim(
                name, schema, f"inline:{hint}", "an inline schema", request
            )
        name = self._inline[key]
        if wanted is not None and wanted != name:
            raise NameClash(
                f"spec/model-names.tsv names inline:{hint} {wanted!r}, but the same "
                f"schema is already named {name!r}"
            )
        return model(name)

    def unused_names(self) -> list[str]:
        """Rows of the naming table no schema needed: a stale table fails generation too."""
        return sorted(set(self.names) - self.used_names)

    def _lookup(self, key: str) -> str | None:
        if key in self.names:
            self.used_names.add(key)
            return self.names[key]
        return None

    def _component_name(self, name: str) -> str:
        named = self._lookup(f"schema:{name}") or RENAMES.get(name) or pascal(name)
        return self._suffixed(named)

    def _suffixed(self, name: str) -> str:
        """``name`` ending in the registry's suffix, a spec's ``EventPayload`` ending replaced."""
        if not self.suffix or name.endswith(self.suffix):
            return name
        for ending in ("EventPayload", "Payload"):
            name = name.removesuffix(ending)
        return name + self.suffix

    def _inline_name(self, schema: dict[str, Any], hint: str) -> str:
        """Name an inline object after its ``object`` tag when it has exactly one."""
        tag = schema.get("properties", {}).get("object", {}).get("enum", [])
        if len(tag) == 1 and isinstance(tag[0], str) and not hint.endswith("Request"):
            return self._suffixed(pascal(tag[0]))
        return hint

    def _claim(
        self, name: str, schema: dict[str, Any], key: str, source: str, request: bool
    ) -> str:
        """Build the Struct for ``schema`` as ``name``, or reuse the one that already has it."""
        check_not_numbered(name, key)
        owner = self._owners.get(name)
        if owner is None or (owner == key and name not in self.structs):
            self._owners[name] = key
            self._build(name, schema, source, request)
            return name
        if name not in self.structs:  # a reserved component not built yet: build it first
            self.component(owner.split(":", 1)[1])
        if owner == key:
            return name
        probe = f"_Probe{len(self.structs)}"
        # Nested objects are named as the existing Struct's are, so that they compare equal.
        self._build(probe, schema, source, request, hint_base=name)
        candidate = self.structs.pop(probe)
        existing = self.structs[name]
        if _same_fields(existing, candidate):
            for old, new in zip(existing.fields, candidate.fields, strict=True):
                old.nullable |= new.nullable
                old.required &= new.required
        elif not (key in self.names and _decodes(existing, candidate)):
            raise NameClash(
                f"{key} and {owner} would both be named {name!r} but differ; give one of them "
                "another name in spec/model-names.tsv"
            )
        return name

    def _build(
        self,
        name: str,
        schema: dict[str, Any],
        source: str,
        request: bool,
        hint_base: str | None = None,
    ) -> None:
        struct = StructDef(name=name, source=source, request=request)
        self.structs[name] = struct  # registered first: recursive schemas refer back to it
        struct.doc = self.resolve(schema).get("description", "")
        struct.deprecated = bool(self.resolve(schema).get("deprecated"))
        props, required = self.object_parts(schema)
        for wire, prop in props.items():
            py = snake(wire)
            if shadows_builtin(py) and py not in {"object", "type"}:
                raise ValueError(f"{name}.{wire} would shadow a builtin used in annotations")
            hint = (hint_base or name).removesuffix(self.suffix) + pascal(wire)
            ann = self.annotation(prop, self._suffixed(hint) if self.suffix else hint, request)
            resolved = self.resolve(prop)
            struct.fields.append(
                Field(
                    py,
                    wire,
                    ann,
                    wire in required,
                    bool(resolved.get("nullable")),
                    prop.get("description") or resolved.get("description", ""),
                    resolved,
                )
            )


def _same_fields(a: StructDef, b: StructDef) -> bool:
    return [(f.name, f.ann.text) for f in a.fields] == [(f.name, f.ann.text) for f in b.fields]


def _decodes(existing: StructDef, other: StructDef) -> bool:
    """Whether every answer shaped like ``other`` decodes into ``existing``: each of its fields
    exists there with the same or a wider type, and nothing required there may be missing."""
    theirs = {f.name: f for f in existing.fields}
    ours = {f.name: f for f in other.fields}
    for f in other.fields:
        mine = theirs.get(f.name)
        if mine is None or (f.nullable and not mine.nullable):
            return False
        wider = mine.ann.text == "str" and f.ann.text.endswith("| str")
        if mine.ann.text != f.ann.text and not wider:
            return False
    return all(
        ours.get(f.name) is not None and ours[f.name].required
        for f in existing.fields
        if f.required
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
