"""define_workflow, create_workflow, schema look-ups and parse_command (reference §2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from temporal_router import (
    Command,
    ConfigurationError,
    UnknownNameError,
    ValidationError,
    Workflow,
    WorkflowDefinition,
    define_workflow,
)

from ._models import Doing, Finish, NotAllowed, Rename, Start, Started, Todo, make_task_definition


class Stamped(BaseModel):
    at: datetime
    count: int = 0


def _registries() -> dict[str, Any]:
    return {
        "states": {"Todo": Todo},
        "commands": {"Start": Start},
        "events": {"Started": Started},
        "errors": {"NotAllowed": NotAllowed},
    }


# --- define_workflow -----------------------------------------------------------------------


def test_define_workflow_returns_definition_with_name_and_registries() -> None:
    definition = make_task_definition("Orders")
    assert isinstance(definition, WorkflowDefinition)
    assert definition.name == "Orders"
    assert list(definition.states) == ["Todo", "Doing", "Done"]
    assert definition.commands["Start"] is Start
    assert definition.events["Started"] is Started
    assert definition.errors["NotAllowed"] is NotAllowed


def test_define_workflow_accepts_empty_registries() -> None:
    definition = define_workflow("Empty", states={}, commands={}, events={}, errors={})
    assert definition.states == {}
    assert not definition.has_state("Todo")


@pytest.mark.parametrize("missing", ["states", "commands", "events", "errors"])
def test_define_workflow_requires_all_four_registries(missing: str) -> None:
    kwargs = _registries()
    del kwargs[missing]
    with pytest.raises(TypeError, match=missing):
        define_workflow("Task", **kwargs)


@pytest.mark.parametrize("culprit", ["states", "commands", "events", "errors"])
@pytest.mark.parametrize("bad", [None, [Todo], "Todo", 42])
def test_define_workflow_rejects_non_mapping_registry_naming_it(culprit: str, bad: object) -> None:
    kwargs = _registries()
    kwargs[culprit] = bad
    with pytest.raises(ConfigurationError, match=rf"^{culprit} must be a mapping"):
        define_workflow("Task", **kwargs)


@pytest.mark.parametrize("culprit", ["states", "commands", "events", "errors"])
@pytest.mark.parametrize("bad_schema", [dict, Todo(title="x"), None, "Todo", int])
def test_define_workflow_rejects_non_model_schema_naming_registry_and_name(
    culprit: str, bad_schema: object
) -> None:
    kwargs = _registries()
    kwargs[culprit] = {"Culprit": bad_schema}
    with pytest.raises(ConfigurationError) as info:
        define_workflow("Task", **kwargs)
    assert str(info.value).startswith(f"{culprit}['Culprit'] must be a pydantic BaseModel")


@pytest.mark.parametrize("bad_name", ["", 1, None])
def test_define_workflow_rejects_registry_names_that_are_not_non_empty_strings(
    bad_name: object,
) -> None:
    kwargs = _registries()
    kwargs["events"] = {bad_name: Started}
    with pytest.raises(ConfigurationError, match=r"^events: every name must be a non-empty string"):
        define_workflow("Task", **kwargs)


@pytest.mark.parametrize("bad_name", ["", None, 3])
def test_define_workflow_rejects_empty_or_non_string_definition_name(bad_name: Any) -> None:
    with pytest.raises(ConfigurationError, match="definition name"):
        define_workflow(bad_name, **_registries())


def test_define_workflow_model_version_defaults_to_1() -> None:
    assert define_workflow("Task", **_registries()).model_version == 1


def test_define_workflow_keeps_given_model_version() -> None:
    assert define_workflow("Task", **_registries(), model_version=4).model_version == 4


@pytest.mark.parametrize("bad", [0, -1])
def test_define_workflow_rejects_model_version_below_1(bad: int) -> None:
    with pytest.raises(ConfigurationError, match="model_version must be >= 1"):
        define_workflow("Task", **_registries(), model_version=bad)


@pytest.mark.parametrize("bad", [True, 1.0, "2", None])
def test_define_workflow_rejects_model_version_that_is_not_an_int(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="model_version must be an int"):
        define_workflow("Task", **_registries(), model_version=bad)


def test_define_workflow_copies_registries_so_later_changes_do_not_leak_in() -> None:
    states: dict[str, type[BaseModel]] = {"Todo": Todo}
    definition = define_workflow("Task", states=states, commands={}, events={}, errors={})
    states["Doing"] = Doing
    assert not definition.has_state("Doing")


# --- create_workflow ---------------------------------------------------------------------


def test_create_workflow_rejects_unknown_initial_state() -> None:
    definition = make_task_definition()
    with pytest.raises(UnknownNameError, match=r"^Unknown state: Nope$") as info:
        definition.create_workflow("t-1", initial_state="Nope", data={"title": "x"})
    assert info.value.kind == "state"
    assert info.value.name == "Nope"


def test_create_workflow_rejects_invalid_data_with_state_validation_error() -> None:
    # Improvement: a ValidationError carrying pydantic's issues, not a bare Error.
    definition = make_task_definition()
    with pytest.raises(ValidationError) as info:
        definition.create_workflow("t-1", initial_state="Todo", data={"priority": "high"})
    error = info.value
    assert error.source == "state"
    assert {issue["loc"] for issue in error.issues} == {("title",), ("priority",)}
    assert str(error).startswith("Validation failed (state): ")
    assert "title: Field required" in str(error)


def test_create_workflow_returns_workflow_value_with_definition_name() -> None:
    definition = make_task_definition("Orders")
    wf = definition.create_workflow("o-1", initial_state="Todo", data={"title": "buy"})
    assert isinstance(wf, Workflow)
    assert (wf.id, wf.definition_name, wf.state) == ("o-1", "Orders", "Todo")
    assert wf.data == Todo(title="buy", priority=0)


def test_create_workflow_data_is_parsed_output_with_defaults_filled() -> None:
    wf = make_task_definition().create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    assert isinstance(wf.data, Todo)
    assert wf.data.priority == 0
    assert "priority" in wf.data.model_dump()


def test_create_workflow_strips_unknown_keys() -> None:
    wf = make_task_definition().create_workflow(
        "t-1", initial_state="Todo", data={"title": "x", "sneaky": True}
    )
    assert wf.data.model_dump() == {"title": "x", "priority": 0}
    assert not hasattr(wf.data, "sneaky")


def test_create_workflow_applies_schema_coercion() -> None:
    definition = define_workflow("S", states={"S": Stamped}, commands={}, events={}, errors={})
    wf = definition.create_workflow(
        "s-1", initial_state="S", data={"at": "2026-01-15T10:00:00Z", "count": "3"}
    )
    assert isinstance(wf.data, Stamped)
    assert wf.data.at == datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert wf.data.count == 3


def test_create_workflow_revalidates_model_instance_into_a_new_object() -> None:
    given = Todo(title="x", priority=2)
    wf = make_task_definition().create_workflow("t-1", initial_state="Todo", data=given)
    assert wf.data == given
    assert wf.data is not given


def test_create_workflow_created_at_equals_updated_at() -> None:
    wf = make_task_definition().create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    assert wf.created_at == wf.updated_at


def test_create_workflow_timestamps_are_utc_with_millisecond_precision() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    wf = make_task_definition().create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    after = datetime.now(UTC)
    assert wf.created_at.utcoffset() == timedelta(0)
    assert wf.created_at.microsecond % 1000 == 0
    assert before <= wf.created_at <= after


def test_create_workflow_now_overrides_the_clock() -> None:
    moment = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)
    wf = make_task_definition().create_workflow(
        "t-1", initial_state="Todo", data={"title": "x"}, now=moment
    )
    assert wf.created_at == wf.updated_at == moment


@pytest.mark.parametrize("bad_id", ["", None, 7])
def test_create_workflow_rejects_empty_or_non_string_id(bad_id: Any) -> None:
    with pytest.raises(ValueError, match="workflow id must be a non-empty string"):
        make_task_definition().create_workflow(bad_id, initial_state="Todo", data={"title": "x"})


def test_create_workflow_accepts_none_data_for_state_without_required_fields() -> None:
    class Empty(BaseModel):
        note: str = "none"

    definition = define_workflow("E", states={"E": Empty}, commands={}, events={}, errors={})
    wf = definition.create_workflow("e-1", initial_state="E", data=None)
    assert wf.data == Empty()


def test_workflow_is_immutable() -> None:
    wf = make_task_definition().create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    with pytest.raises(AttributeError):
        wf.state = "Doing"  # type: ignore[misc]


# --- schema look-ups -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("getter", "name", "expected"),
    [
        ("get_state_schema", "Todo", Todo),
        ("get_command_schema", "Rename", Rename),
        ("get_event_schema", "Started", Started),
        ("get_error_schema", "NotAllowed", NotAllowed),
    ],
)
def test_get_schema_returns_registered_model(getter: str, name: str, expected: type) -> None:
    assert getattr(make_task_definition(), getter)(name) is expected


@pytest.mark.parametrize(
    ("getter", "kind"),
    [
        ("get_state_schema", "state"),
        ("get_command_schema", "command"),
        ("get_event_schema", "event"),
        ("get_error_schema", "error"),
    ],
)
def test_get_schema_unknown_name_raises_unknown_name_error(getter: str, kind: str) -> None:
    definition = make_task_definition()
    with pytest.raises(UnknownNameError) as info:
        getattr(definition, getter)("Missing")
    assert str(info.value) == f"Unknown {kind}: Missing"
    assert info.value.kind == kind
    assert info.value.name == "Missing"


def test_unknown_name_error_is_a_key_error_whose_str_is_not_quoted() -> None:
    with pytest.raises(KeyError) as info:
        make_task_definition().get_state_schema("X")
    assert str(info.value) == "Unknown state: X"


def test_get_schema_does_not_look_across_registries() -> None:
    definition = make_task_definition()
    with pytest.raises(UnknownNameError, match=r"^Unknown command: Todo$"):
        definition.get_command_schema("Todo")
    with pytest.raises(UnknownNameError, match=r"^Unknown state: Start$"):
        definition.get_state_schema("Start")


def test_get_schema_with_unhashable_name_raises_unknown_name_error() -> None:
    with pytest.raises(UnknownNameError):
        make_task_definition().get_state_schema(["Todo"])  # type: ignore[arg-type]


def test_has_state_has_command_has_event_report_membership() -> None:
    definition = make_task_definition()
    assert definition.has_state("Todo")
    assert not definition.has_state("Start")
    assert definition.has_command("Start")
    assert not definition.has_command("Todo")
    assert definition.has_event("Started")
    assert not definition.has_event("Start")


@pytest.mark.parametrize(
    "name",
    ["__class__", "__init__", "__dict__", "toString", "constructor", "keys", "get", "items", ""],
)
def test_has_state_uses_own_keys_only(name: str) -> None:
    # Improvement over the JS `in` operator: prototype/attribute names are not states.
    definition = make_task_definition()
    assert not definition.has_state(name)
    assert not definition.has_command(name)
    assert not definition.has_event(name)
    with pytest.raises(UnknownNameError):
        definition.get_state_schema(name)


def test_has_state_is_case_sensitive() -> None:
    assert not make_task_definition().has_state("todo")


def test_has_error_reports_declared_error_codes() -> None:
    # Addition: the reference has no hasError.
    definition = make_task_definition()
    assert definition.has_error("NotAllowed")
    assert not definition.has_error("Todo")


# --- parse_command -------------------------------------------------------------------------


def test_parse_command_accepts_command_object() -> None:
    command = make_task_definition().parse_command(Command("Start", {"assignee": "ada"}))
    assert command == Command("Start", Start(assignee="ada"))


def test_parse_command_accepts_dict() -> None:
    command = make_task_definition().parse_command({"type": "Start", "payload": {"assignee": "a"}})
    assert command.type == "Start"
    assert command.payload == Start(assignee="a")


def test_parse_command_missing_payload_defaults_to_empty() -> None:
    command = make_task_definition().parse_command({"type": "Finish"})
    assert command.payload == Finish()


def test_parse_command_payload_is_parsed_output_without_unknown_keys() -> None:
    command = make_task_definition().parse_command(
        {"type": "Start", "payload": {"assignee": "ada", "extra": 1}}
    )
    assert command.payload.model_dump() == {"assignee": "ada"}


def test_parse_command_revalidates_model_payload() -> None:
    payload = Start(assignee="ada")
    command = make_task_definition().parse_command(Command("Start", payload))
    assert command.payload == payload
    assert command.payload is not payload


def test_parse_command_unknown_type_raises_unknown_name_error() -> None:
    with pytest.raises(UnknownNameError, match=r"^Unknown command: Launch$"):
        make_task_definition().parse_command({"type": "Launch", "payload": {}})


def test_parse_command_invalid_payload_raises_command_validation_error() -> None:
    with pytest.raises(ValidationError) as info:
        make_task_definition().parse_command({"type": "Rename", "payload": {"title": ""}})
    assert info.value.source == "command"
    assert [issue["loc"] for issue in info.value.issues] == [("title",)]


@pytest.mark.parametrize("raw", [None, "Start", 42, ["Start"], {"payload": {}}])
def test_parse_command_malformed_command_raises_command_validation_error(raw: Any) -> None:
    with pytest.raises(ValidationError) as info:
        make_task_definition().parse_command(raw)
    assert info.value.source == "command"
    assert len(info.value.issues) == 1


@pytest.mark.parametrize("bad_type", [None, 1, ["Start"]])
def test_parse_command_non_string_type_raises_command_validation_error(bad_type: Any) -> None:
    with pytest.raises(ValidationError, match="command type must be a string") as info:
        make_task_definition().parse_command({"type": bad_type, "payload": {}})
    assert info.value.source == "command"


def test_validate_uses_a_model_rebuilt_after_definition() -> None:
    # Validators are cached per schema; a schema whose forward reference resolves only
    # after the definition was made must not stay stuck on pydantic's placeholder.
    class Later(BaseModel):
        child: Leaf

    definition = define_workflow("Forward", states={"S": Later}, commands={}, events={}, errors={})
    with pytest.raises(Exception, match="not fully defined"):
        definition.validate("state", "S", {"child": {"n": 1}}, source="state")

    class Leaf(BaseModel):
        n: int

    Later.model_rebuild(_types_namespace={"Leaf": Leaf})
    parsed = definition.validate("state", "S", {"child": {"n": 1}}, source="state")
    assert parsed.child.n == 1  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        definition.validate("state", "S", {"child": {"n": "x"}}, source="state")


def test_validate_refuses_unhashable_and_unknown_names() -> None:
    definition = define_workflow("Names", states={"S": Todo}, commands={}, events={}, errors={})
    with pytest.raises(UnknownNameError):
        definition.validate("state", ["S"], {"title": "x"}, source="state")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError):
        definition.validate("state", "T", {"title": "x"}, source="state")
