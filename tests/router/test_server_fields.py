"""server() fields, serialize_for_client and the client definition (reference §10.4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, cast

import pytest
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from temporal_router import (
    ClientWorkflowDefinition,
    UnknownNameError,
    ValidationError,
    Workflow,
    WorkflowDefinition,
    define_workflow,
    is_server_field,
    server,
)

MOMENT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


class Card(BaseModel):
    last4: str
    token: str = server(Field(default="tok"))


class Address(BaseModel):
    city: str
    door_code: str = server("0000")


class Order(BaseModel):
    total: int
    secret: str = server(Field(default="s"))
    note: Annotated[str, server()] = ""
    internal_id: str = server()
    address: Address
    cards: list[Card] = []


class Public(BaseModel):
    title: str
    count: int = 0
    tags: list[str] = Field(default_factory=lambda: ["new"])


class AllSecret(BaseModel):
    a: str = server("a")
    b: int = server(1)


class Person(BaseModel):
    first_name: str = Field(alias="firstName")
    ssn: str = server(Field(default="", alias="SSN"))


def _definition() -> WorkflowDefinition:
    return define_workflow(
        "Shop",
        states={"Order": Order, "Public": Public, "AllSecret": AllSecret, "Person": Person},
        commands={},
        events={},
        errors={},
        model_version=2,
    )


ORDER_DATA = {
    "total": 10,
    "secret": "s3cret",
    "note": "hidden",
    "internal_id": "i-1",
    "address": {"city": "Ghent", "door_code": "1234"},
    "cards": [{"last4": "4242", "token": "t-1"}],
}


def _order() -> Workflow:
    return _definition().create_workflow("o-1", initial_state="Order", data=ORDER_DATA, now=MOMENT)


# --- marking -------------------------------------------------------------------------------


def test_server_marks_field_given_as_pydantic_field() -> None:
    assert is_server_field(Order.model_fields["secret"])
    assert Order.model_fields["secret"].default == "s"


def test_server_marks_field_given_a_default_value() -> None:
    info = Address.model_fields["door_code"]
    assert is_server_field(info)
    assert info.default == "0000"


def test_server_without_argument_marks_a_required_field() -> None:
    info = Order.model_fields["internal_id"]
    assert is_server_field(info)
    assert info.is_required()


def test_server_works_as_annotated_metadata() -> None:
    info = Order.model_fields["note"]
    assert is_server_field(info)
    assert info.default == ""


def test_is_server_field_is_false_for_unmarked_fields() -> None:
    assert not is_server_field(Order.model_fields["total"])
    assert not is_server_field(Order.model_fields["address"])
    assert not is_server_field(cast(FieldInfo, Field(default=1)))


def test_server_returns_a_field_info() -> None:
    assert isinstance(server(Field(default=1)), FieldInfo)
    assert isinstance(server(3), FieldInfo)


def test_server_does_not_mutate_the_field_it_marks() -> None:
    original = cast(FieldInfo, Field(default="x", min_length=1))
    marked = server(original)
    assert is_server_field(marked)
    assert not is_server_field(original)


def test_server_field_keeps_its_validation() -> None:
    class Secretive(BaseModel):
        pin: str = server(Field(min_length=4))

    definition = define_workflow("P", states={"S": Secretive}, commands={}, events={}, errors={})
    with pytest.raises(ValidationError):
        definition.create_workflow("p-1", initial_state="S", data={"pin": "12"})
    wf = definition.create_workflow("p-1", initial_state="S", data={"pin": "1234"})
    assert definition.serialize(wf)["data"] == {"pin": "1234"}


# --- serialize_for_client ------------------------------------------------------------------


def test_serialize_for_client_strips_server_fields() -> None:
    data = _definition().serialize_for_client(_order())["data"]
    assert "secret" not in data
    assert "note" not in data
    assert "internal_id" not in data
    assert data["total"] == 10


def test_serialize_for_client_strips_nested_model_server_fields() -> None:
    data = _definition().serialize_for_client(_order())["data"]
    assert data["address"] == {"city": "Ghent"}


def test_serialize_for_client_does_not_strip_inside_lists() -> None:
    data = _definition().serialize_for_client(_order())["data"]
    assert data["cards"] == [{"last4": "4242", "token": "t-1"}]


def test_serialize_for_client_matches_serialize_apart_from_data() -> None:
    definition = _definition()
    wf = _order()
    full = dict(definition.serialize(wf, version=4))
    client = dict(definition.serialize_for_client(wf, version=4))
    assert full.pop("data") != client.pop("data")
    assert full == client
    assert client["model_version"] == 2
    assert client["version"] == 4
    assert client["created_at"] == "2026-01-15T10:00:00.000Z"


def test_serialize_for_client_leaves_serialize_unchanged() -> None:
    definition = _definition()
    wf = _order()
    definition.serialize_for_client(wf)
    assert definition.serialize(wf)["data"]["secret"] == "s3cret"
    assert definition.serialize(wf)["data"]["address"]["door_code"] == "1234"


def test_serialize_for_client_without_server_fields_equals_serialize() -> None:
    definition = _definition()
    wf = definition.create_workflow("p-1", initial_state="Public", data={"title": "t"})
    assert definition.serialize_for_client(wf) == definition.serialize(wf)


def test_serialize_for_client_all_server_fields_gives_empty_data() -> None:
    definition = _definition()
    wf = definition.create_workflow("a-1", initial_state="AllSecret", data={})
    assert definition.serialize_for_client(wf)["data"] == {}


def test_serialize_for_client_unknown_state_leaves_data_unchanged() -> None:
    definition = _definition()
    wf = Workflow("x-1", "Shop", "Vanished", Order.model_validate(ORDER_DATA), MOMENT, MOMENT)
    assert definition.serialize_for_client(wf)["data"] == definition.serialize(wf)["data"]
    assert definition.serialize_for_client(wf)["data"]["secret"] == "s3cret"


def test_serialize_for_client_strips_aliased_server_fields() -> None:
    definition = _definition()
    wf = definition.create_workflow(
        "p-1", initial_state="Person", data={"firstName": "Ada", "SSN": "123"}
    )
    assert definition.serialize(wf)["data"] == {"firstName": "Ada", "SSN": "123"}
    assert definition.serialize_for_client(wf)["data"] == {"firstName": "Ada"}


def test_serialize_for_client_is_json_safe() -> None:
    snapshot = _definition().serialize_for_client(_order())
    assert json.loads(json.dumps(snapshot)) == snapshot


# --- for_client ----------------------------------------------------------------------------


def test_for_client_is_memoised() -> None:
    definition = _definition()
    client = definition.for_client()
    assert isinstance(client, ClientWorkflowDefinition)
    assert definition.for_client() is client


def test_for_client_is_per_definition() -> None:
    assert _definition().for_client() is not _definition().for_client()


def test_for_client_has_name_and_states() -> None:
    client = _definition().for_client()
    assert client.name == "Shop"
    assert client.has_state("Order")
    assert not client.has_state("Nope")
    assert not client.has_state("__class__")


def test_for_client_state_schema_has_no_server_fields() -> None:
    schema = _definition().for_client().get_state_schema("Order")
    assert set(schema.model_fields) == {"total", "address", "cards"}
    address = schema.model_fields["address"].annotation
    assert isinstance(address, type)
    assert issubclass(address, BaseModel)
    assert set(address.model_fields) == {"city"}


def test_for_client_get_state_schema_unknown_raises_unknown_name_error() -> None:
    with pytest.raises(UnknownNameError, match=r"^Unknown state: Nope$"):
        _definition().for_client().get_state_schema("Nope")


def test_client_deserialize_accepts_client_snapshot() -> None:
    definition = _definition()
    result = definition.for_client().deserialize(definition.serialize_for_client(_order()))
    assert result.ok
    assert result.workflow is not None
    assert result.workflow.state == "Order"
    assert result.workflow.data.model_dump() == {
        "total": 10,
        "address": {"city": "Ghent"},
        "cards": [{"last4": "4242", "token": "t-1"}],
    }


def test_client_deserialize_accepts_client_snapshot_with_aliased_fields() -> None:
    definition = _definition()
    wf = definition.create_workflow(
        "p-1", initial_state="Person", data={"firstName": "Ada", "SSN": "123"}
    )
    result = definition.for_client().deserialize(definition.serialize_for_client(wf))
    assert result.ok, result.error
    assert result.workflow is not None
    assert result.workflow.data.model_dump(by_alias=True) == {"firstName": "Ada"}


def test_client_deserialize_rejects_server_fields() -> None:
    definition = _definition()
    result = definition.for_client().deserialize(definition.serialize(_order()))
    assert not result.ok
    assert result.error is not None
    assert result.error.source == "restore"
    locs = {issue["loc"] for issue in result.error.issues}
    assert locs == {("secret",), ("note",), ("internal_id",), ("address", "door_code")}


def test_client_deserialize_rejects_unknown_keys_even_without_server_fields() -> None:
    definition = _definition()
    wf = definition.create_workflow("p-1", initial_state="Public", data={"title": "t"})
    snapshot = definition.serialize(wf)
    assert definition.deserialize({**snapshot, "data": {"title": "t", "x": 1}}).ok
    result = definition.for_client().deserialize({**snapshot, "data": {"title": "t", "x": 1}})
    assert not result.ok
    assert result.error is not None
    assert [issue["loc"] for issue in result.error.issues] == [("x",)]


def test_client_deserialize_keeps_defaults() -> None:
    definition = _definition()
    wf = definition.create_workflow("p-1", initial_state="Public", data={"title": "t"})
    snapshot = definition.serialize(wf)
    del snapshot["data"]["count"], snapshot["data"]["tags"]
    result = definition.for_client().deserialize(snapshot)
    assert result.workflow is not None
    assert result.workflow.data.model_dump() == {"title": "t", "count": 0, "tags": ["new"]}


def test_client_deserialize_unknown_state_returns_restore_error() -> None:
    definition = _definition()
    snapshot = {**definition.serialize(_order()), "state": "Gone"}
    result = definition.for_client().deserialize(snapshot)
    assert not result.ok
    assert result.error is not None
    assert result.error.issues[0]["msg"] == "Unknown state: Gone"


def test_client_deserialize_of_garbage_does_not_raise() -> None:
    result = _definition().for_client().deserialize(["not", "a", "snapshot"])
    assert not result.ok
