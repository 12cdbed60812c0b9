"""The committed models and resources are exactly what the generator writes today."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_regenerating_changes_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.generate", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_249_operations_and_167_schemas_are_generated() -> None:
    import clerk_async.models as models
    from clerk_async import AsyncClerk
    from tools.generate._names import pascal
    from tools.generate._schemas import RENAMES, read_names

    rows = (ROOT / "spec" / "operations.tsv").read_text().splitlines()[1:]
    client = AsyncClerk("sk_test_x")
    names = {tuple(r.split("\t")[:2]) for r in rows}
    assert len(names) == 249
    for resource, method in names:
        assert callable(getattr(getattr(client, resource), method))

    spec = yaml.safe_load((ROOT / "spec" / "bapi-2026-05-12.yml").read_text())
    schemas = spec["components"]["schemas"]
    assert len(schemas) == 167
    table = read_names(ROOT / "spec" / "model-names.tsv", "")
    missing = []
    for name, schema in schemas.items():
        if "properties" in schema or "allOf" in schema or "oneOf" in schema:
            expected = table.get(f"schema:{name}") or RENAMES.get(name) or pascal(name)
            if not hasattr(models, expected):
                missing.append(expected)
    assert missing == []


def public_model_names() -> list[str]:
    import clerk_async.models as models
    import clerk_async.webhooks as webhooks

    return sorted(set(models.__all__) | set(webhooks.__all__))


def test_no_public_model_name_carries_a_counter() -> None:
    numbered = [n for n in public_model_names() if re.search(r"\d$", n) and not n.endswith("Web3")]
    assert numbered == []
    assert len(public_model_names()) > 300


def test_acronyms_are_spelt_one_way_in_every_name() -> None:
    mixed = r"(Api|Jwt|Jwks|Url|Saml|Scim|Sms|Otp|Oauth|Http|Id)(?![a-z])"
    assert [n for n in public_model_names() if re.search(mixed, n)] == []


def test_webhook_payloads_cannot_be_mistaken_for_api_models() -> None:
    import clerk_async.models as models
    import clerk_async.webhooks as webhooks

    assert not set(models.__all__) & set(webhooks.__all__)
    payloads = [n for n in webhooks.__all__ if n[0].isupper() and not n.endswith("Event")]
    assert sorted(n for n in payloads if not n.endswith("EventData")) == [
        "EVENT_TYPES",
        "EventAttributes",
        "SECRET_ENV",
        "WebhookVerificationError",
        "WebhookVerifier",
    ]


def test_naming_table_settles_the_clashes_the_spec_creates() -> None:
    from clerk_async.models import APIKey, APIKeyWithSecret, DeletedObject
    from clerk_async.resources.api_keys import APIKeysResource
    from clerk_async.resources.machines import MachinesResource

    assert "secret" in APIKeyWithSecret.__struct_fields__
    assert "secret" not in APIKey.__struct_fields__
    assert typing.get_type_hints(APIKeysResource.get)["return"] is APIKey
    assert typing.get_type_hints(APIKeysResource.create)["return"] is APIKeyWithSecret
    # Deleted-object answers whose fields DeletedObject covers decode into it.
    assert typing.get_type_hints(APIKeysResource.delete)["return"] is DeletedObject
    assert typing.get_type_hints(MachinesResource.delete)["return"] is DeletedObject


def run_generator_on(spec: dict[str, Any], names: str, tmp_path: Path) -> str:
    """Load a small spec through the generator with a given naming table; '' or the error."""
    from tools.generate._operations import load_operations

    table = tmp_path / "operations.tsv"
    table.write_text(
        "resource\tmethod\thttp\tpath\toperation_id\ttag\tdeprecated\n"
        "things\tget\tGET\t/things\tGetThing\tThings\tno\n"
        "things\tdelete\tDELETE\t/things\tDeleteThing\tThings\tno\n"
    )
    naming = tmp_path / "names.tsv"
    naming.write_text("source\tname\twhy\n" + names)
    try:
        load_operations(spec, table, naming)
    except ValueError as error:
        return str(error)
    return ""


def tiny_spec(deleted_fields: dict[str, Any]) -> dict[str, Any]:
    thing = {
        "type": "object",
        "properties": {
            "object": {"type": "string", "enum": ["thing"]},
            "id": {"type": "string"},
            "size": {"type": "integer"},
        },
    }
    deleted = {
        "type": "object",
        "required": ["object"],
        "properties": {"object": {"type": "string", "enum": ["thing"]}, **deleted_fields},
    }

    def answer(schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}

    return {
        "paths": {
            "/things": {
                "get": {"responses": answer(thing)},
                "delete": {"responses": answer(deleted)},
            }
        },
        "components": {
            "schemas": {
                "DeletedObject": {
                    "type": "object",
                    "required": ["object"],
                    "properties": {
                        "object": {"type": "string"},
                        "id": {"type": "string"},
                        "deleted": {"type": "boolean"},
                    },
                }
            },
            "parameters": {},
        },
    }


def test_generation_fails_on_a_clash_the_table_does_not_settle(tmp_path: Path) -> None:
    spec = tiny_spec({"id": {"type": "string"}, "deleted": {"type": "boolean"}})
    error = run_generator_on(spec, "", tmp_path)
    assert "would both be named 'Thing'" in error and "spec/model-names.tsv" in error
    assert run_generator_on(spec, "inline:DeleteThingResponse\tDeletedObject\tx\n", tmp_path) == ""


def test_table_cannot_merge_shapes_that_would_not_decode(tmp_path: Path) -> None:
    spec = tiny_spec({"when": {"type": "integer"}})  # a field DeletedObject lacks
    error = run_generator_on(spec, "inline:DeleteThingResponse\tDeletedObject\tx\n", tmp_path)
    assert "would both be named 'DeletedObject'" in error


def test_table_never_hands_out_a_numbered_name_or_keeps_stale_rows(tmp_path: Path) -> None:
    spec = tiny_spec({"id": {"type": "string"}})
    error = run_generator_on(spec, "inline:DeleteThingResponse\tThing2\tx\n", tmp_path)
    assert "'Thing2'" in error and "name it in spec/model-names.tsv" in error
    stale = "inline:DeleteThingResponse\tDeletedObject\tx\nschema:Gone\tGone\tx\n"
    assert "schema:Gone" in run_generator_on(spec, stale, tmp_path)


def _carried(description: str, doc: str) -> bool:
    """Whether ``doc`` (a runtime docstring) carries the start of a spec description."""
    from tools.generate._docs import one_paragraph

    text = one_paragraph(description).replace("\\\\", "\\")
    return " ".join(text.split())[:40] in " ".join(doc.split())


def test_docstrings_carry_the_spec_descriptions_of_parameters_and_fields() -> None:
    import clerk_async.models as models
    from clerk_async import AsyncClerk
    from tools.generate._names import pascal
    from tools.generate._schemas import RENAMES, read_names

    spec = yaml.safe_load((ROOT / "spec" / "bapi-2026-05-12.yml").read_text())
    client = AsyncClerk("sk_test_x")
    described = carried = 0
    for row in (ROOT / "spec" / "operations.tsv").read_text().splitlines()[1:]:
        resource, method, http, path = row.split("\t")[:4]
        raw = spec["paths"][path][http.lower()]
        doc = getattr(getattr(client, resource), method).__doc__ or ""
        params = [
            spec["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
            for p in raw.get("parameters", [])
        ]
        body = raw.get("requestBody", {}).get("content", {})
        media: dict[str, Any] = next(iter(body.values()), {})
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        params += list(schema.get("properties", {}).values())
        for p in params:
            if p.get("description") and not p.get("deprecated"):
                described += 1
                carried += _carried(p["description"], doc)
    assert described > 700 and carried / described >= 0.9, (carried, described)

    table = read_names(ROOT / "spec" / "model-names.tsv", "")
    described = carried = 0
    for name, schema in spec["components"]["schemas"].items():
        cls = getattr(
            models, table.get(f"schema:{name}") or RENAMES.get(name) or pascal(name), None
        )
        for prop in schema.get("properties", {}).values():
            if cls is not None and prop.get("description"):
                described += 1
                carried += _carried(prop["description"], cls.__doc__ or "")
    assert described > 500 and carried / described >= 0.9, (carried, described)


def test_markdown_in_descriptions_becomes_plain_text() -> None:
    from tools.generate._docs import plain

    text = plain(
        "See **the [guide](https://clerk.com/docs)** or <b>this</b>.\n\n## Notes\n- one\n- two"
    )
    assert text == "See the guide (https://clerk.com/docs) or this.\n\nNotes\n- one\n- two"
    assert plain('a \\ b """') == 'a \\\\ b \\"\\"\\"'


def test_migration_table_pairs_the_official_call_with_ours() -> None:
    from tools.generate._migration import BEGIN, END

    text = (ROOT / "docs" / "migration.md").read_text()
    table = text[text.index(BEGIN) : text.index(END)]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 230
    theirs, ours = "`await clerk.users.get_async(user_id=…)`", "`await clerk.users.get(user_id)`"
    assert f"| `GetUser` | {theirs} | {ours} |" in rows
    # A list operation returns a pager here: no await for the call itself.
    assert any(
        r.startswith("| `GetUserList` |") and r.endswith("| `clerk.users.list()` |") for r in rows
    )
    assert "Only in `clerk_async`:" in table


def test_integer_fields_are_int_and_deprecated_models_are_marked() -> None:
    import clerk_async.models as models
    from clerk_async.webhooks import BillingSubscriptionItemCreditEventData
    from tools.generate._names import pascal
    from tools.generate._schemas import RENAMES, read_names

    spec = yaml.safe_load((ROOT / "spec" / "bapi-2026-05-12.yml").read_text())
    table = read_names(ROOT / "spec" / "model-names.tsv", "")
    checked = 0
    for name, schema in spec["components"]["schemas"].items():
        cls = getattr(
            models, table.get(f"schema:{name}") or RENAMES.get(name) or pascal(name), None
        )
        hints = typing.get_type_hints(cls) if cls is not None else {}
        for wire, prop in schema.get("properties", {}).items():
            field = next(
                (f for f in getattr(cls, "__struct_encode_fields__", ()) if f == wire), None
            )
            if prop.get("type") == "integer" and field is not None:
                index = cls.__struct_encode_fields__.index(wire)  # type: ignore[union-attr]
                hint = hints[cls.__struct_fields__[index]]  # type: ignore[union-attr]
                assert int in typing.get_args(hint) or hint is int, (name, wire, hint)
                checked += 1
    assert checked > 200
    assert "may be removed" in getattr(BillingSubscriptionItemCreditEventData, "__deprecated__", "")
