"""Every event type of the webhook spec decodes into its class, with typed data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from clerk_async.webhooks import (
    EVENT_TYPES,
    OrganizationInvitationWithOrganizationEventData,
    OrganizationMembershipUpdatedEvent,
    SubscriptionItemEventData,
    SubscriptionItemPastDueEvent,
    TypedEvent,
    UnknownEvent,
    UserCreatedEvent,
    UserEventData,
    WebhookVerificationError,
    decode_event,
    verify_webhook,
)

from ._signing import new_secret, sign

ROOT = Path(__file__).resolve().parents[2]
SPEC = yaml.safe_load((ROOT / "spec" / "webhooks-2025-04-15.yml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
EVENTS = SPEC["x-webhooks"]


def spec_example(event_type: str) -> dict[str, Any]:
    content = EVENTS[event_type]["post"]["requestBody"]["content"]["application/json"]
    if "example" in content:
        return dict(content["example"])
    ref = content["examples"]["default"]["$ref"].rsplit("/", 1)[1]
    return dict(SPEC["components"]["examples"][ref]["value"])


def data_schema(event_type: str) -> dict[str, Any]:
    schema = EVENTS[event_type]["post"]["requestBody"]["content"]["application/json"]["schema"]
    for part in schema["allOf"]:
        if "data" in part.get("properties", {}):
            return dict(part["properties"]["data"])
    raise AssertionError(f"{event_type} declares no data")


def assert_data_class(data: object, event_type: str) -> None:
    """The payload's class is named ``…EventData`` and says which spec schema it models."""
    cls = type(data)
    assert cls.__name__.endswith("EventData"), cls.__name__
    schema = data_schema(event_type)
    if "$ref" in schema:
        assert f"Schema `{schema['$ref'].rsplit('/', 1)[1]}` of the webhook" in (cls.__doc__ or "")
    else:  # The invitation events extend `OrganizationInvitation` inline.
        assert cls is OrganizationInvitationWithOrganizationEventData


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def properties(schema: dict[str, Any]) -> dict[str, Any]:
    schema = resolve(schema)
    props: dict[str, Any] = {}
    for part in schema.get("allOf", []):
        props.update(properties(part))
    props.update(schema.get("properties", {}))
    return props


def build(schema: dict[str, Any], objects: list[int], depth: int = 0) -> Any:
    """A value of the schema with every declared property filled in, to a bounded depth.

    ``objects`` counts the objects built from schemas with declared properties: each must
    decode into a Struct.
    """
    schema = resolve(schema)
    if "allOf" in schema or "properties" in schema:
        objects[0] += 1
        if depth > 4:
            return {}
        return {name: build(prop, objects, depth + 1) for name, prop in properties(schema).items()}
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return build(schema[key][0], objects, depth)
    kind = schema.get("type")
    if kind == "array":
        return [build(schema.get("items", {}), objects, depth + 1)] if depth <= 4 else []
    if kind == "object":
        return {"key": "value"}
    if kind == "string":
        return schema.get("enum", ["text"])[0]
    return {"integer": 7, "number": 1.5, "boolean": True}.get(kind or "", "anything")


def assert_decoded(value: Any, raw: Any, path: str = "$") -> int:
    """Every declared field holds the raw value, nested objects as Structs; counts the Structs."""
    if isinstance(value, msgspec.Struct):
        assert isinstance(raw, dict), path
        count = 1
        for info in msgspec.structs.fields(value):
            field_value = getattr(value, info.name)
            if info.encode_name in raw:
                count += assert_decoded(field_value, raw[info.encode_name], f"{path}.{info.name}")
            else:
                assert field_value is None, f"{path}.{info.name} set without being sent"
        return count
    if isinstance(value, list):
        assert isinstance(raw, list) and len(value) == len(raw), path
        pairs = enumerate(zip(value, raw, strict=True))
        return sum(assert_decoded(v, r, f"{path}[{i}]") for i, (v, r) in pairs)
    assert value == raw, path
    if not isinstance(value, float):  # a float field may receive a JSON integer
        assert type(value) is type(raw), path
    return 0


def test_every_spec_event_type_has_a_class() -> None:
    assert set(EVENT_TYPES) == set(EVENTS)
    assert len(EVENT_TYPES) == 45
    for event_type, cls in EVENT_TYPES.items():
        assert cls.type == event_type
        assert issubclass(cls, TypedEvent)


@pytest.mark.parametrize("event_type", list(EVENTS))
def test_spec_example_decodes_to_its_class(event_type: str) -> None:
    example = spec_example(event_type)
    event = decode_event(json.dumps(example))
    assert type(event) is EVENT_TYPES[event_type]
    assert event.type == event_type
    assert_data_class(event.data, event_type)
    assert event.timestamp == example["timestamp"]
    assert event.instance_id == example["instance_id"]
    assert assert_decoded(event.data, example["data"], "$.data") >= 1


@pytest.mark.parametrize("event_type", list(EVENTS))
def test_payload_built_from_the_schema_decodes_every_field(event_type: str) -> None:
    objects = [0]
    data = build(data_schema(event_type), objects)
    payload = {"object": "event", "type": event_type, "instance_id": "ins_1", "timestamp": 1,
               "event_attributes": {"http_request": {"client_ip": "127.0.0.1", "user_agent": "t"}},
               "data": data}
    event = decode_event(json.dumps(payload).encode())
    assert type(event) is EVENT_TYPES[event_type]
    assert_data_class(event.data, event_type)
    # Every object the schema declares decodes into a Struct, nested ones included.
    assert assert_decoded(event.data, data, "$.data") == objects[0]
    assert event.event_attributes is not None
    assert event.event_attributes.http_request is not None
    assert event.event_attributes.http_request.client_ip == "127.0.0.1"


def test_typed_fields_are_reachable() -> None:
    event = decode_event(json.dumps(spec_example("user.created")))
    assert isinstance(event, UserCreatedEvent)
    user = event.data
    assert isinstance(user, UserEventData)
    assert user.id is not None and user.id.startswith("user_")
    assert user.first_name == "John" and user.public_metadata == {}

    event2 = decode_event(json.dumps(spec_example("subscriptionItem.pastDue")))
    assert isinstance(event2, SubscriptionItemPastDueEvent)
    assert isinstance(event2.data, SubscriptionItemEventData)

    membership = decode_event(json.dumps(spec_example("organizationMembership.updated")))
    assert isinstance(membership, OrganizationMembershipUpdatedEvent)
    assert membership.data.organization is not None
    assert membership.data.organization.id is not None


def test_enum_values_outside_the_spec_and_missing_fields_still_decode() -> None:
    example = spec_example("organizationMembership.updated")
    example["data"] = {"object": "organization_membership_v2", "role": "org:owner",
                       "surprise": {"new": True}}
    event = decode_event(json.dumps(example))
    assert isinstance(event, OrganizationMembershipUpdatedEvent)
    assert event.data.object == "organization_membership_v2"
    assert event.data.id is None


def test_unknown_event_type_keeps_its_data() -> None:
    payload = {"object": "event", "type": "agent.created", "instance_id": "ins_1",
               "timestamp": 1716883200, "data": {"id": "agt_1", "nested": [1, {"a": None}]},
               "new_envelope_field": "ignored"}
    event = decode_event(json.dumps(payload))
    assert type(event) is UnknownEvent
    assert event.type == "agent.created"
    assert event.data == {"id": "agt_1", "nested": [1, {"a": None}]}
    assert event.timestamp == 1716883200


def test_unknown_event_type_through_verification() -> None:
    secret = new_secret()
    body = json.dumps({"type": "billing.somethingNew", "data": [1, 2]})
    event = verify_webhook(body, sign(secret, body), secret)
    assert isinstance(event, UnknownEvent)
    assert event.data == [1, 2]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"data": {}}',
        b'{"type": 5, "data": {}}',
        b'{"type": "user.created", "data": "a string"}',
        b'{"type": "user.created"}',
        b'{"type": "user.created", "data": {"id": 12}}',
    ],
)
def test_correctly_signed_garbage_is_an_invalid_payload(body: bytes) -> None:
    secret = new_secret()
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(body, sign(secret, body.decode()), secret)
    assert info.value.reason == "invalid_payload"


def test_events_module_matches_a_fresh_generation() -> None:
    from tools.generate import _webhooks

    generated = ROOT / "clerk_async" / "webhooks" / "_events.py"
    assert _webhooks.render() == generated.read_text()
