"""serialize / deserialize: snapshots, timestamps, versions and malformed input (reference §10)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, Field

from temporal_router import RestoreResult, ValidationError, Workflow, define_workflow

from ._models import Todo, make_task_definition

MOMENT = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


class Ledger(BaseModel):
    opened: date
    seen_at: datetime
    tags: list[str] = []


class Aliased(BaseModel):
    first_name: str = Field(alias="firstName")


def _task(**overrides: Any) -> Workflow:
    definition = make_task_definition()
    wf = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"}, now=MOMENT)
    return Workflow(
        overrides.get("id", wf.id),
        overrides.get("definition_name", wf.definition_name),
        overrides.get("state", wf.state),
        overrides.get("data", wf.data),
        overrides.get("created_at", wf.created_at),
        overrides.get("updated_at", wf.updated_at),
    )


def _snapshot(**overrides: Any) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "id": "t-1",
        "definition_name": "Task",
        "state": "Todo",
        "data": {"title": "x", "priority": 2},
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-01-15T11:30:00.250Z",
        "model_version": 1,
        "version": 1,
    }
    snapshot.update(overrides)
    return snapshot


def _restore_error(result: RestoreResult) -> ValidationError:
    assert not result.ok
    assert result.workflow is None
    assert isinstance(result.error, ValidationError)
    assert result.error.source == "restore"
    return result.error


# --- serialize -----------------------------------------------------------------------------


def test_serialize_produces_the_full_snapshot() -> None:
    snapshot = make_task_definition().serialize(_task())
    assert snapshot == {
        "id": "t-1",
        "definition_name": "Task",
        "state": "Todo",
        "data": {"title": "x", "priority": 0},
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-01-15T10:00:00.000Z",
        "model_version": 1,
        "version": 1,
    }


def test_serialize_timestamps_are_iso_8601_utc_milliseconds_with_z() -> None:
    wf = _task(
        created_at=datetime(2026, 3, 1, 8, 5, 9, 123456, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 8, 5, 9, tzinfo=UTC),
    )
    snapshot = make_task_definition().serialize(wf)
    assert snapshot["created_at"] == "2026-03-01T08:05:09.123Z"
    assert snapshot["updated_at"] == "2026-03-01T08:05:09.000Z"


def test_serialize_converts_other_timezones_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    wf = _task(created_at=datetime(2026, 1, 15, 12, 0, tzinfo=plus_two))
    assert make_task_definition().serialize(wf)["created_at"] == "2026-01-15T10:00:00.000Z"


def test_serialize_treats_naive_timestamps_as_utc() -> None:
    wf = _task(created_at=datetime(2026, 1, 15, 10, 0))
    assert make_task_definition().serialize(wf)["created_at"] == "2026-01-15T10:00:00.000Z"


def test_serialize_definition_name_comes_from_the_definition() -> None:
    snapshot = make_task_definition("Task").serialize(_task(definition_name="SomethingElse"))
    assert snapshot["definition_name"] == "Task"


def test_serialize_model_version_comes_from_the_definition() -> None:
    assert make_task_definition(model_version=3).serialize(_task())["model_version"] == 3


def test_serialize_version_defaults_to_1() -> None:
    assert make_task_definition().serialize(_task())["version"] == 1


def test_serialize_version_can_be_given() -> None:
    assert make_task_definition().serialize(_task(), version=7)["version"] == 7


def test_serialize_data_is_json_safe() -> None:
    # Improvement: the reference passes data through as is (Dates stay Date objects).
    definition = define_workflow("L", states={"L": Ledger}, commands={}, events={}, errors={})
    wf = definition.create_workflow(
        "l-1",
        initial_state="L",
        data={"opened": "2026-01-02", "seen_at": "2026-01-02T03:04:05Z", "tags": ["a"]},
        now=MOMENT,
    )
    snapshot = definition.serialize(wf)
    assert snapshot["data"] == {
        "opened": "2026-01-02",
        "seen_at": "2026-01-02T03:04:05Z",
        "tags": ["a"],
    }
    assert json.loads(json.dumps(snapshot)) == snapshot


def test_serialize_data_uses_field_aliases() -> None:
    definition = define_workflow("A", states={"A": Aliased}, commands={}, events={}, errors={})
    wf = definition.create_workflow("a-1", initial_state="A", data={"firstName": "Ada"})
    assert definition.serialize(wf)["data"] == {"firstName": "Ada"}


def test_serialize_returns_fresh_data_not_shared_with_the_workflow() -> None:
    definition = make_task_definition()
    wf = _task()
    snapshot = definition.serialize(wf)
    snapshot["data"]["title"] = "changed"
    assert wf.data == Todo(title="x")
    assert definition.serialize(wf)["data"]["title"] == "x"


# --- deserialize ---------------------------------------------------------------------------


def test_deserialize_restores_the_workflow() -> None:
    result = make_task_definition().deserialize(_snapshot())
    assert result.ok
    assert result.error is None
    assert result.workflow == Workflow(
        "t-1",
        "Task",
        "Todo",
        Todo(title="x", priority=2),
        MOMENT,
        datetime(2026, 1, 15, 11, 30, 0, 250000, tzinfo=UTC),
    )


def test_deserialize_unknown_state_returns_restore_error_with_one_issue() -> None:
    error = _restore_error(make_task_definition().deserialize(_snapshot(state="Gone")))
    assert len(error.issues) == 1
    issue = error.issues[0]
    assert issue["msg"] == "Unknown state: Gone"
    assert issue["loc"] == ("state",)
    assert issue["input"] == "Gone"
    assert str(error) == "Validation failed (restore): state: Unknown state: Gone"


def test_deserialize_invalid_data_returns_restore_error_with_issues() -> None:
    error = _restore_error(make_task_definition().deserialize(_snapshot(data={"priority": "x"})))
    assert {issue["loc"] for issue in error.issues} == {("title",), ("priority",)}
    assert str(error).startswith("Validation failed (restore): ")


def test_deserialize_returns_the_error_rather_than_raising_it() -> None:
    result = make_task_definition().deserialize(_snapshot(data={}))
    assert isinstance(result.error, Exception)


def test_deserialize_data_is_parsed_output_with_defaults_and_unknown_keys_stripped() -> None:
    result = make_task_definition().deserialize(_snapshot(data={"title": "x", "legacy": 1}))
    assert result.workflow is not None
    assert result.workflow.data.model_dump() == {"title": "x", "priority": 0}


def test_deserialize_applies_schema_coercion() -> None:
    definition = define_workflow("L", states={"L": Ledger}, commands={}, events={}, errors={})
    result = definition.deserialize(
        _snapshot(
            definition_name="L",
            state="L",
            data={"opened": "2026-01-02", "seen_at": "2026-01-02T03:04:05Z"},
        )
    )
    assert result.workflow is not None
    assert result.workflow.data == Ledger(
        opened=date(2026, 1, 2), seen_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )


def test_deserialize_keeps_the_snapshot_definition_name_unchecked() -> None:
    result = make_task_definition("Task").deserialize(_snapshot(definition_name="Other"))
    assert result.workflow is not None
    assert result.workflow.definition_name == "Other"


def test_deserialize_does_not_check_model_version() -> None:
    assert make_task_definition().deserialize(_snapshot(model_version=99)).ok


def test_deserialize_timestamps_are_utc_aware() -> None:
    result = make_task_definition().deserialize(
        _snapshot(created_at="2026-01-15T12:00:00+02:00", updated_at="2026-01-15T10:00:00")
    )
    assert result.workflow is not None
    assert result.workflow.created_at == MOMENT
    assert result.workflow.created_at.utcoffset() == timedelta(0)
    assert result.workflow.updated_at == MOMENT
    assert result.workflow.updated_at.utcoffset() == timedelta(0)


def test_deserialize_drops_the_version() -> None:
    definition = make_task_definition()
    result = definition.deserialize(_snapshot(version=7))
    assert result.workflow is not None
    assert not hasattr(result.workflow, "version")
    assert definition.serialize(result.workflow)["version"] == 1


def test_deserialize_accepts_snapshot_without_model_version_or_version() -> None:
    snapshot = _snapshot()
    del snapshot["model_version"], snapshot["version"]
    assert make_task_definition().deserialize(snapshot).ok


def test_deserialize_does_not_modify_the_snapshot() -> None:
    snapshot = _snapshot(data={"title": "x", "legacy": 1})
    before = json.dumps(snapshot, sort_keys=True)
    make_task_definition().deserialize(snapshot)
    assert json.dumps(snapshot, sort_keys=True) == before


@pytest.mark.parametrize("garbage", [None, "snapshot", 42, 3.5, [], ["t-1"], b"{}", object()])
def test_deserialize_non_dict_snapshot_returns_restore_error(garbage: object) -> None:
    error = _restore_error(make_task_definition().deserialize(garbage))
    assert error.issues


@pytest.mark.parametrize(
    "missing", ["id", "definition_name", "state", "data", "created_at", "updated_at"]
)
def test_deserialize_snapshot_missing_key_returns_restore_error(missing: str) -> None:
    snapshot = _snapshot()
    del snapshot[missing]
    error = _restore_error(make_task_definition().deserialize(snapshot))
    assert [issue["loc"] for issue in error.issues] == [(missing,)]


@pytest.mark.parametrize("field", ["created_at", "updated_at"])
@pytest.mark.parametrize("bad", ["yesterday", "", "2026-13-45T00:00:00Z", None, [], {}])
def test_deserialize_bad_timestamp_returns_restore_error(field: str, bad: object) -> None:
    error = _restore_error(make_task_definition().deserialize(_snapshot(**{field: bad})))
    assert [issue["loc"][0] for issue in error.issues] == [field]


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("id", 1),
        ("id", None),
        ("definition_name", ["Task"]),
        ("state", 3),
        ("state", None),
        ("data", ["title", "x"]),
        ("data", "title=x"),
        ("data", None),
        ("model_version", "one"),
        ("version", "latest"),
    ],
)
def test_deserialize_wrong_types_return_restore_error(field: str, bad: object) -> None:
    error = _restore_error(make_task_definition().deserialize(_snapshot(**{field: bad})))
    assert error.issues[0]["loc"][0] == field


def test_deserialize_snapshot_with_unhashable_state_returns_restore_error() -> None:
    result = make_task_definition().deserialize(_snapshot(state={"name": "Todo"}))
    _restore_error(result)


# --- round trip ----------------------------------------------------------------------------


def test_round_trip_through_json_restores_an_equal_workflow() -> None:
    definition = make_task_definition()
    wf = definition.create_workflow("t-9", initial_state="Todo", data={"title": "t", "priority": 3})
    restored = definition.deserialize(json.loads(json.dumps(definition.serialize(wf))))
    assert restored.ok
    assert restored.workflow == wf


def test_round_trip_preserves_dates_and_aliases() -> None:
    class Rich(BaseModel):
        person: Aliased
        opened: date
        seen_at: datetime

    definition = define_workflow("R", states={"R": Rich}, commands={}, events={}, errors={})
    wf = definition.create_workflow(
        "r-1",
        initial_state="R",
        data={
            "person": {"firstName": "Ada"},
            "opened": "2026-01-02",
            "seen_at": "2026-01-02T03:04:05.678Z",
        },
    )
    snapshot = json.loads(json.dumps(definition.serialize(wf)))
    restored = definition.deserialize(snapshot)
    assert restored.workflow == wf
    assert definition.serialize(wf) == snapshot
