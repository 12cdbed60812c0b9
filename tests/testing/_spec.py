"""The vendored OpenAPI spec and a checker of JSON values against its schemas."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import yaml

from clerk_async.testing import FakeClerk

KEY = "sk_test_fake"
SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "bapi-2026-05-12.yml"


@functools.cache
def load_spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open() as file:
        spec: dict[str, Any] = yaml.load(file, Loader=loader)
    return spec


class SpecMismatch(AssertionError):
    pass


class Checker:
    """Checks JSON values against the spec's schemas; enough of OpenAPI 3.0 for these answers."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def schema(self, name: str) -> dict[str, Any]:
        return self.resolve({"$ref": f"#/components/schemas/{name}"})

    def response_schema(self, method: str, template: str, status: int) -> dict[str, Any]:
        operation = self.spec["paths"][template][method.lower()]
        response = self.resolve(operation["responses"][str(status)])
        return self.resolve(response["content"]["application/json"]["schema"])

    def check(self, schema: dict[str, Any], value: Any, where: str = "$") -> None:
        schema = self.merged(self.resolve(schema))
        if value is None:
            if not schema.get("nullable"):
                raise SpecMismatch(f"{where} is null but not nullable")
            return
        if "oneOf" in schema:
            self.check_one_of(schema, value, where)
            return
        if "anyOf" in schema:
            self.check_any_of(schema, value, where)
            return
        kind = schema.get("type")
        if kind is None and "properties" in schema:
            kind = "object"
        checks = {
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            "array": lambda v: isinstance(v, list),
            "object": lambda v: isinstance(v, dict),
        }
        if kind is not None and not checks[kind](value):
            raise SpecMismatch(f"{where} should be {kind}, got {type(value).__name__}: {value!r}")
        if "enum" in schema and value not in schema["enum"]:
            raise SpecMismatch(f"{where} = {value!r} is not one of {schema['enum']}")
        if kind == "array":
            for index, item in enumerate(value):
                self.check(schema.get("items", {}), item, f"{where}[{index}]")
        if kind == "object":
            properties = schema.get("properties", {})
            missing = [name for name in schema.get("required", []) if name not in value]
            if missing:
                raise SpecMismatch(f"{where} lacks required {missing}")
            if schema.get("additionalProperties") is False:
                extra = sorted(set(value) - set(properties))
                if extra:
                    raise SpecMismatch(f"{where} has undeclared {extra}")
            for name, item in value.items():
                if name in properties:
                    self.check(properties[name], item, f"{where}.{name}")

    def merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "allOf" not in schema:
            return schema
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        for part in schema["allOf"]:
            part = self.merged(self.resolve(part))
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def check_one_of(self, schema: dict[str, Any], value: Any, where: str) -> None:
        discriminator = schema.get("discriminator")
        if discriminator and isinstance(value, dict):
            tag = value.get(discriminator["propertyName"])
            target = discriminator.get("mapping", {}).get(tag)
            if target is None:
                raise SpecMismatch(f"{where} has unknown discriminator {tag!r}")
            self.check({"$ref": target}, value, where)
            return
        passing = 0
        for option in schema["oneOf"]:
            try:
                self.check(option, value, where)
            except SpecMismatch:
                continue
            passing += 1
        if passing != 1:
            raise SpecMismatch(f"{where} matches {passing} of the oneOf options, not exactly one")



    def check_any_of(self, schema: dict[str, Any], value: Any, where: str) -> None:
        failures = []
        for option in schema["anyOf"]:
            try:
                self.check(option, value, where)
            except SpecMismatch as exc:
                failures.append(str(exc))
            else:
                return
        raise SpecMismatch(f"{where} matches none of the anyOf options: {failures}")

    def check_answer(self, method: str, template: str, status: int, body: Any) -> None:
        """``body`` is what the spec says ``method template`` answers with ``status``."""
        if status < 300:
            self.check(self.response_schema(method, template, status), body)
        else:
            self.check(self.schema("ClerkErrors"), body)


class Api:
    """Raw HTTP to the fake; every answer is checked against the spec before it is returned."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeClerk, checker: Checker) -> None:
        self.session = session
        self.fake = fake
        self.checker = checker

    async def call(
        self,
        method: str,
        template: str,
        *,
        params: Any = None,
        json: Any = None,
        data: Any = None,
        key: str | None = KEY,
        **path: str,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        url = self.fake.url + template.format(**path)
        async with self.session.request(
            method, url, params=params, json=json, data=data, headers=headers
        ) as response:
            status, raw = response.status, await response.read()
            assert response.content_type == "application/json"
        body = msgspec.json.decode(raw)
        if status < 300:
            self.checker.check(self.checker.response_schema(method, template, status), body)
        else:
            self.checker.check(self.checker.schema("ClerkErrors"), body)
            assert isinstance(body["clerk_trace_id"], str) and body["clerk_trace_id"]
        return status, body

    async def ok(self, method: str, template: str, **kwargs: Any) -> Any:
        status, body = await self.call(method, template, **kwargs)
        assert status == 200, body
        return body

    async def error(
        self, status: int, code: str, method: str, template: str, **kwargs: Any
    ) -> dict[str, Any]:
        got, body = await self.call(method, template, **kwargs)
        assert (got, body["errors"][0]["code"]) == (status, code), body
        first: dict[str, Any] = body["errors"][0]
        return first
