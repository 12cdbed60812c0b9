"""Every Backend API operation, called through the SDK against a Prism mock of the spec.

Prism validates each request against the vendored spec and answers with the spec's example
for the success response. A call passes when it answers 2xx, Prism reports no violation on
the request side, and the answer decodes into the type the SDK method declares.
"""

from __future__ import annotations

import builtins
import functools
import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import yarl

import clerk_async.models
from clerk_async import AsyncClerk, AsyncPager, Page
from clerk_async._errors import ClerkDecodeError
from clerk_async.models import Paginated

from . import _arguments
from ._arguments import Call, Row, build_call, load_spec, operation_rows

pytestmark = pytest.mark.prism

ROWS = operation_rows()

# Operations whose success body, as Prism builds it from the spec, breaks the spec's own
# schema so badly that no faithful model can decode it. Prism reports these itself as
# response violations. The request must still be accepted; the call must then fail with
# ClerkDecodeError at the place given (a regular expression), and nowhere else. When Prism or
# the spec is fixed, the call decodes, `pytest.raises` fails, and the entry must go.
_USER_BODY = (
    r"missing required field `id` - at `\$(\[0\])?\.saml_accounts\[0\]\.saml_connection`",
    "User.saml_accounts[].saml_connection (and enterprise_accounts[].enterprise_connection) is"
    " `type: object, nullable: true, oneOf: [$ref]`; Prism's example for it is `{}`, without"
    " the required id, name, active, provider, ... of SAMLAccountConnection",
)
_SAML_CONNECTION_BODY = (
    r"missing required field `object`",
    "SAMLConnection puts `anyOf: [{required: [domain]}, {required: [domains]}]` beside its"
    " properties; Prism's example for the whole object is then `{}`, all 25 required fields"
    " missing",
)
EXAMPLE_DEFECTS: dict[str, tuple[str, str]] = {
    "users.list": _USER_BODY,
    "users.create": _USER_BODY,
    "users.get": _USER_BODY,
    "users.update": _USER_BODY,
    "users.ban": _USER_BODY,
    "users.unban": _USER_BODY,
    "users.bulk_ban": _USER_BODY,
    "users.bulk_unban": _USER_BODY,
    "users.lock": _USER_BODY,
    "users.unlock": _USER_BODY,
    "users.set_profile_image": _USER_BODY,
    "users.delete_profile_image": _USER_BODY,
    "users.update_metadata": _USER_BODY,
    "users.replace_metadata": _USER_BODY,
    "users.remove_password": _USER_BODY,
    "users.set_password_compromised": _USER_BODY,
    "users.unset_password_compromised": _USER_BODY,
    "saml_connections.list": _SAML_CONNECTION_BODY,  # the items of data[]
    "saml_connections.create": _SAML_CONNECTION_BODY,
    "saml_connections.get": _SAML_CONNECTION_BODY,
    "saml_connections.update": _SAML_CONNECTION_BODY,
}


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_operation(
    row: Row, prism_url: str, response_violations: dict[str, list[str]]
) -> None:
    call = build_call(row)
    args, kwargs = call.sdk_arguments()
    exchanges: list[_Exchange] = []
    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(_on_start(exchanges))
    trace.on_request_chunk_sent.append(_on_chunk(exchanges))
    trace.on_request_end.append(_on_end(exchanges))
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        AsyncClerk(
            "sk_test_conformance", server_url=prism_url, session=session, retry=False
        ) as clerk,
    ):
        method = getattr(getattr(clerk, row.resource), row.method)
        declared = _declared_return(method)
        item_type: Any = None
        if typing.get_origin(declared) is AsyncPager:
            # A list method: awaiting its pager sends the one request; the page holds the
            # answer decoded as the operation declares, and the items typed as the pager says.
            (item_type,) = typing.get_args(declared)
            with _deprecation_expected(row.deprecated, row.id):  # warned when called
                declared = method(*args, **kwargs)._op.response
        defect = EXAMPLE_DEFECTS.get(row.id)
        failure: BaseException | None = None
        try:
            with _deprecation_expected(row.deprecated, row.id):
                if defect is None:
                    result = await method(*args, **kwargs)
                else:
                    with pytest.raises(ClerkDecodeError, match=defect[0]):
                        await method(*args, **kwargs)
        except Exception as exc:
            failure = exc

    violations = [v for exchange in exchanges for v in _violations(exchange.answer_headers)]
    response_side = [v["message"] for v in violations if v["location"][0] != "request"]
    if response_side:
        response_violations[row.id] = response_side
    request_side = [v for v in violations if v["location"][0] == "request"]
    report = json.dumps(request_side, indent=1) if request_side else "none"
    if failure is not None:
        raise AssertionError(
            f"{row.id} raised {type(failure).__name__}: {failure}\n"
            f"Prism's request violations: {report}"
        ) from failure
    assert len(exchanges) == 1, f"expected one HTTP exchange, saw {len(exchanges)}"
    assert request_side == [], f"Prism rejected parts of the request: {report}"
    _check_wire(call, exchanges[0])
    _check_declared_type(row, call.response_shape(), declared)
    if defect is None and item_type is not None:
        assert isinstance(result, Page), f"{row.id} returned {type(result).__name__}"
        assert _is_instance(result.raw, declared), f"{row.id}: the page holds {result.raw!r:.100}"
        assert result.items and all(_is_instance(item, item_type) for item in result)
    elif defect is None:
        assert _is_instance(result, declared), (
            f"{row.id} returned {type(result).__name__}, not {declared}"
        )


@dataclass
class _Exchange:
    """One request as it went over the wire, and the headers of its answer."""

    method: str
    url: yarl.URL
    headers: Mapping[str, str]
    sent: bytearray = field(default_factory=bytearray)
    answer_headers: Mapping[str, str] = field(default_factory=dict)


def _on_start(exchanges: list[_Exchange]) -> Any:
    async def record(
        session: aiohttp.ClientSession,
        context: types.SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        exchanges.append(_Exchange(params.method, params.url, params.headers.copy()))

    return record


def _on_chunk(exchanges: list[_Exchange]) -> Any:
    async def record(
        session: aiohttp.ClientSession,
        context: types.SimpleNamespace,
        params: aiohttp.TraceRequestChunkSentParams,
    ) -> None:
        exchanges[-1].sent += params.chunk

    return record


def _on_end(exchanges: list[_Exchange]) -> Any:
    async def record(
        session: aiohttp.ClientSession,
        context: types.SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        exchanges[-1].answer_headers = params.response.headers.copy()

    return record


def _check_wire(call: Call, exchange: _Exchange) -> None:
    """What the SDK sent is exactly the request the arguments describe, laid out as the
    spec says (path escaping, query style and explode, body field names, JSON null)."""
    assert exchange.method == call.row.http
    assert exchange.url.path == call.url_path()
    sent_query = sorted(exchange.url.query.items())
    assert sent_query == sorted(call.query_pairs()), (
        f"query sent {sent_query}, the spec lays the arguments out as {call.query_pairs()}"
    )
    assert ("Authorization" in exchange.headers) == call.authenticated
    if call.body_kind == "json":
        assert exchange.headers.get("Content-Type") == "application/json"
        assert json.loads(exchange.sent) == call.body
    elif call.body_kind == "multipart":
        fields = re.findall(rb'form-data; name="([^"]+)"', bytes(exchange.sent))
        assert sorted(f.decode() for f in fields) == sorted(call.body)
        assert _arguments.PNG in exchange.sent
    else:
        assert exchange.sent == b""


def _declared_return(method: Any) -> Any:
    """The method's return annotation, evaluated in its module like get_type_hints does
    (alone, so that a parameter annotation cannot stand in the way)."""
    function = method.__func__

    def returns() -> None: ...

    returns.__annotations__ = {"return": function.__annotations__["return"]}
    return typing.get_type_hints(returns, globalns=function.__globals__)["return"]


def _deprecation_expected(deprecated: bool, operation: str) -> Any:
    if deprecated:
        return pytest.warns(DeprecationWarning, match=operation.replace(".", r"\."))
    return _Nothing()


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _violations(headers: Mapping[str, str]) -> list[dict[str, Any]]:
    raw = headers.get("sl-violations")
    return json.loads(raw) if raw else []


@functools.cache
def _renamed_schemas() -> dict[str, str]:
    """Component schemas that spec/model-names.tsv gives another public name."""
    table = _arguments.ROOT.joinpath("spec", "model-names.tsv").read_text().splitlines()[1:]
    rows = (line.split("\t") for line in table if line.startswith("schema:"))
    return {source.removeprefix("schema:"): name for source, name, *_ in rows}


def _check_declared_type(row: Row, shape: tuple[str, str | None], declared: Any) -> None:
    """The return annotation follows the spec: a named component schema keeps its name
    (made an identifier), or the name spec/model-names.tsv gives it."""
    kind, name = shape
    if kind == "none":
        assert declared is type(None) or declared is None, f"{row.id} declares {declared}"
        return
    if typing.get_origin(declared) in (typing.Union, types.UnionType):
        # A list operation with `paginated`, which switches between a bare array and an object
        # with `data` and `total_count`: it decodes the spec's shape or the other one.
        assert _takes_paginated(row), f"{row.id} declares {declared}"
        declared, other = typing.get_args(declared)
        assert typing.get_origin(other) in (builtins.list, Paginated), f"{row.id}: {other}"
    if name is None:
        return  # an inline schema: the generator picks the name
    schema = load_spec()["components"]["schemas"][name]
    if schema.get("type") == "array" and "$ref" not in schema.get("items", {}):
        # A named array of inline objects: only the list is named by the spec.
        assert typing.get_origin(declared) is list, f"{row.id} declares {declared}"
        return
    public = _renamed_schemas().get(name, re.sub(r"\W", "", name))
    model = getattr(clerk_async.models, public, None)
    assert model is not None, f"clerk_async.models has no {name} (used by {row.id})"
    expected = builtins.list[model] if kind == "list" else model  # type: ignore[valid-type]
    assert declared == expected, f"{row.id} declares {declared}, the spec says {expected}"


def _takes_paginated(row: Row) -> bool:
    spec = load_spec()
    parameters = spec["paths"][row.path][row.http.lower()].get("parameters", [])
    return any(_arguments.resolve(spec, p)["name"] == "paginated" for p in parameters)


def _is_instance(value: Any, declared: Any) -> bool:
    if declared is Any:
        return True
    if declared is None or declared is type(None):
        return value is None
    origin = typing.get_origin(declared)
    if origin in (typing.Union, types.UnionType):
        return any(_is_instance(value, option) for option in typing.get_args(declared))
    if origin is list:
        (item,) = typing.get_args(declared)
        return isinstance(value, list) and all(_is_instance(element, item) for element in value)
    if origin is dict:
        key, item = typing.get_args(declared)
        return isinstance(value, dict) and all(
            _is_instance(k, key) and _is_instance(v, item) for k, v in value.items()
        )
    if isinstance(declared, type):
        return isinstance(value, declared)
    if isinstance(origin, type):  # a generic model such as Paginated[Client]
        return isinstance(value, origin)
    raise AssertionError(f"cannot check a value against {declared!r}")


def test_every_operation_is_covered() -> None:
    spec = load_spec()
    in_spec = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in _arguments.HTTP_METHODS
    }
    in_table = {(row.http, row.path) for row in ROWS}
    assert len(ROWS) == 249
    assert len({row.id for row in ROWS}) == 249
    assert in_table == in_spec
