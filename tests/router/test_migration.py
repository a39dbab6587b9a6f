"""define_migrations and migrate (reference §11)."""

from __future__ import annotations

import types
from typing import Any

import pytest

from temporal_router import (
    ConfigurationError,
    MigrationEntry,
    MigrationError,
    MigrationPipeline,
    define_migrations,
    migrate,
)

from ._models import make_task_definition


def _snapshot(model_version: Any = 1, **overrides: Any) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        "id": "t-1",
        "definition_name": "Task",
        "state": "Todo",
        "data": {"name": "x"},
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-01-15T10:00:00.000Z",
        "model_version": model_version,
        "version": 3,
    }
    snapshot.update(overrides)
    return snapshot


def _rename_name_to_title(snapshot: dict[str, Any]) -> dict[str, Any]:
    data = dict(snapshot["data"])
    data["title"] = data.pop("name")
    return {**snapshot, "data": data}


def _add_priority(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {**snapshot, "data": {**snapshot["data"], "priority": 1}}


def _pipeline_v3() -> MigrationPipeline:
    return define_migrations(
        make_task_definition(model_version=3),
        {2: _rename_name_to_title, 3: ("add priority", _add_priority)},
    )


# --- define_migrations ---------------------------------------------------------------------


def test_define_migrations_builds_pipeline_with_target_and_steps() -> None:
    definition = make_task_definition(model_version=3)
    pipeline = define_migrations(
        definition, {3: ("add priority", _add_priority), 2: _rename_name_to_title}
    )
    assert pipeline.definition is definition
    assert pipeline.target_version == 3
    assert list(pipeline.steps) == [2, 3]
    assert pipeline.steps[2] == MigrationEntry(2, _rename_name_to_title, None)
    assert pipeline.steps[3] == MigrationEntry(3, _add_priority, "add priority")


@pytest.mark.parametrize("key", [1, 0, -2])
def test_define_migrations_rejects_keys_not_above_1(key: int) -> None:
    definition = make_task_definition(model_version=2)
    with pytest.raises(
        ConfigurationError,
        match=rf"^Migration keys must be > 1 \(version 1 is the baseline\)\. Got: {key}$",
    ):
        define_migrations(definition, {key: _add_priority, 2: _add_priority})


@pytest.mark.parametrize("key", ["2", 2.0, True, None])
def test_define_migrations_rejects_keys_that_are_not_ints(key: Any) -> None:
    definition = make_task_definition(model_version=2)
    with pytest.raises(ConfigurationError, match=r"^Migration keys must be > 1"):
        define_migrations(definition, {key: _add_priority})


@pytest.mark.parametrize(("keys", "highest"), [([2], 2), ([2, 3, 4], 4)])
def test_define_migrations_rejects_highest_key_other_than_model_version(
    keys: list[int], highest: int
) -> None:
    definition = make_task_definition(model_version=3)
    with pytest.raises(
        ConfigurationError,
        match=rf"^Highest migration key \({highest}\) does not match definition modelVersion \(3\)$",
    ):
        define_migrations(definition, dict.fromkeys(keys, _add_priority))


def test_define_migrations_rejects_gaps() -> None:
    definition = make_task_definition(model_version=5)
    with pytest.raises(ConfigurationError, match=r"^Migration version gap: .*\[3, 4\]"):
        define_migrations(definition, {2: _add_priority, 5: _add_priority})


def test_define_migrations_accepts_contiguous_run_not_starting_at_2() -> None:
    pipeline = define_migrations(make_task_definition(model_version=3), {3: _add_priority})
    assert list(pipeline.steps) == [3]


@pytest.mark.parametrize("model_version", [1, 4])
def test_define_migrations_accepts_empty_map(model_version: int) -> None:
    pipeline = define_migrations(make_task_definition(model_version=model_version), {})
    assert pipeline.steps == {}
    assert pipeline.target_version == model_version


def test_define_migrations_accepts_description_and_function_entries() -> None:
    pipeline = define_migrations(
        make_task_definition(model_version=2), {2: ("rename name", _rename_name_to_title)}
    )
    assert pipeline.steps[2].description == "rename name"
    assert pipeline.steps[2].fn is _rename_name_to_title


@pytest.mark.parametrize(
    "entry",
    [
        ("only a description",),
        ("description", _add_priority, "extra"),
        (_add_priority, "swapped"),
        (None, _add_priority),
        ("not callable", 42),
    ],
)
def test_define_migrations_rejects_malformed_description_entries(entry: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^Migration 2: expected a function or"):
        define_migrations(make_task_definition(model_version=2), {2: entry})


@pytest.mark.parametrize("entry", [42, "up", None, {"up": _add_priority}])
def test_define_migrations_rejects_entries_that_are_not_functions(entry: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"^Migration 2: expected a function"):
        define_migrations(make_task_definition(model_version=2), {2: entry})


# --- migrate: checks -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, None, "2", 1.5, True, [1]])
def test_migrate_rejects_invalid_model_version(bad: Any) -> None:
    result = migrate(_pipeline_v3(), _snapshot(bad))
    assert not result.ok
    assert result.snapshot is None
    assert isinstance(result.error, MigrationError)
    assert str(result.error) == f"Migration 0 → 3 failed: Invalid model_version: {bad!r}"


def test_migrate_rejects_missing_model_version() -> None:
    snapshot = _snapshot()
    del snapshot["model_version"]
    result = migrate(_pipeline_v3(), snapshot)
    assert result.error is not None
    assert "Invalid model_version: None" in str(result.error)


def test_migrate_rejects_other_definition_name() -> None:
    result = migrate(_pipeline_v3(), _snapshot(1, definition_name="Invoice"))
    assert result.error is not None
    assert str(result.error) == (
        "Migration 1 → 3 failed: Snapshot definition 'Invoice' does not match "
        "pipeline definition 'Task'"
    )
    assert (result.error.from_version, result.error.to_version) == (1, 3)


def test_migrate_rejects_newer_model_version_cannot_downgrade() -> None:
    result = migrate(_pipeline_v3(), _snapshot(4))
    assert result.error is not None
    assert str(result.error) == (
        "Migration 4 → 3 failed: Snapshot model_version 4 is newer than target 3. Cannot downgrade."
    )


def test_migrate_checks_model_version_before_definition_name() -> None:
    result = migrate(_pipeline_v3(), _snapshot("x", definition_name="Invoice"))
    assert result.error is not None
    assert "Invalid model_version" in str(result.error)


def test_migrate_checks_definition_name_before_downgrade() -> None:
    result = migrate(_pipeline_v3(), _snapshot(9, definition_name="Invoice"))
    assert result.error is not None
    assert "does not match pipeline definition" in str(result.error)


@pytest.mark.parametrize(
    "snapshot",
    [
        _snapshot("x"),
        _snapshot(1, definition_name="Invoice"),
        _snapshot(4),
    ],
)
def test_migrate_check_failures_call_on_error_once_and_never_on_step(
    snapshot: dict[str, Any],
) -> None:
    errors: list[MigrationError] = []
    steps: list[Any] = []
    result = migrate(
        _pipeline_v3(),
        snapshot,
        on_step=lambda *args: steps.append(args),
        on_error=errors.append,
    )
    assert errors == [result.error]
    assert steps == []


@pytest.mark.parametrize(
    "garbage", [None, "snapshot", 42, [], ["model_version", 1], object(), {}, {"model_version": {}}]
)
def test_migrate_never_raises_on_garbage_input(garbage: Any) -> None:
    errors: list[MigrationError] = []
    result = migrate(_pipeline_v3(), garbage, on_error=errors.append)
    assert not result.ok
    assert isinstance(result.error, MigrationError)
    assert errors == [result.error]


# --- migrate: running ----------------------------------------------------------------------


def test_migrate_at_target_returns_the_same_snapshot() -> None:
    snapshot = _snapshot(3, data={"title": "x", "priority": 1})
    calls: list[Any] = []
    result = migrate(_pipeline_v3(), snapshot, on_step=lambda *a: calls.append(a))
    assert result.ok
    assert result.error is None
    assert result.snapshot is snapshot
    assert calls == []


def test_migrate_at_target_returns_a_dict_for_other_mappings() -> None:
    snapshot = types.MappingProxyType(_snapshot(3))
    result = migrate(_pipeline_v3(), snapshot)
    assert result.snapshot == dict(snapshot)
    assert type(result.snapshot) is dict


def test_migrate_runs_every_step_in_order() -> None:
    result = migrate(_pipeline_v3(), _snapshot(1))
    assert result.ok
    assert result.snapshot == _snapshot(3, data={"title": "x", "priority": 1})


def test_migrate_runs_only_the_remaining_steps() -> None:
    result = migrate(_pipeline_v3(), _snapshot(2, data={"title": "y"}))
    assert result.snapshot is not None
    assert result.snapshot["data"] == {"title": "y", "priority": 1}
    assert result.snapshot["model_version"] == 3


def test_migrate_forces_model_version_over_what_the_step_set() -> None:
    pipeline = define_migrations(
        make_task_definition(model_version=3),
        {2: lambda s: {**s, "model_version": 99}, 3: lambda s: {**s, "model_version": "bogus"}},
    )
    seen: list[int] = []
    result = migrate(
        pipeline, _snapshot(1), on_step=lambda f, t, s, d: seen.append(s["model_version"])
    )
    assert seen == [2, 3]
    assert result.snapshot is not None
    assert result.snapshot["model_version"] == 3


def test_migrate_forces_model_version_when_the_step_drops_it() -> None:
    pipeline = define_migrations(
        make_task_definition(model_version=2),
        {2: lambda s: {k: v for k, v in s.items() if k != "model_version"}},
    )
    result = migrate(pipeline, _snapshot(1))
    assert result.snapshot is not None
    assert result.snapshot["model_version"] == 2


def test_migrate_calls_on_step_after_each_step_with_description() -> None:
    calls: list[tuple[int, int, dict[str, Any], str | None]] = []
    result = migrate(
        _pipeline_v3(), _snapshot(1), on_step=lambda f, t, s, d: calls.append((f, t, s, d))
    )
    assert [(f, t, d) for f, t, _, d in calls] == [(1, 2, None), (2, 3, "add priority")]
    assert calls[0][2]["data"] == {"title": "x"}
    assert calls[0][2]["model_version"] == 2
    assert calls[1][2] == result.snapshot


def test_migrate_success_does_not_call_on_error() -> None:
    errors: list[MigrationError] = []
    assert migrate(_pipeline_v3(), _snapshot(1), on_error=errors.append).ok
    assert errors == []


def test_migrate_does_not_modify_the_input_snapshot() -> None:
    snapshot = _snapshot(1)
    migrate(_pipeline_v3(), snapshot)
    assert snapshot == _snapshot(1)


def test_migrate_step_may_change_the_state() -> None:
    pipeline = define_migrations(
        make_task_definition(model_version=2),
        {2: lambda s: {**s, "state": "Done", "data": {"title": "t", "assignee": "a"}}},
    )
    result = migrate(pipeline, _snapshot(1))
    assert result.snapshot is not None
    assert result.snapshot["state"] == "Done"


def test_migrate_keeps_the_concurrency_version() -> None:
    result = migrate(_pipeline_v3(), _snapshot(1))
    assert result.snapshot is not None
    assert result.snapshot["version"] == 3


def test_migrate_step_exception_gives_migration_error_with_cause() -> None:
    boom = RuntimeError("boom")
    ran: list[int] = []

    def fail(snapshot: dict[str, Any]) -> dict[str, Any]:
        raise boom

    def later(snapshot: dict[str, Any]) -> dict[str, Any]:
        ran.append(3)
        return snapshot

    pipeline = define_migrations(make_task_definition(model_version=3), {2: fail, 3: later})
    errors: list[MigrationError] = []
    steps: list[Any] = []
    result = migrate(
        pipeline, _snapshot(1), on_step=lambda *a: steps.append(a), on_error=errors.append
    )
    assert not result.ok
    error = result.error
    assert isinstance(error, MigrationError)
    assert (error.from_version, error.to_version) == (1, 2)
    assert error.cause is boom
    assert error.__cause__ is boom
    assert str(error) == "Migration 1 → 2 failed: boom"
    assert errors == [error]
    assert ran == []
    assert steps == []


def test_migrate_step_failing_later_reports_its_own_versions_after_earlier_on_step() -> None:
    def fail(snapshot: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("bad data")

    pipeline = define_migrations(
        make_task_definition(model_version=3), {2: _rename_name_to_title, 3: fail}
    )
    steps: list[tuple[int, int]] = []
    result = migrate(pipeline, _snapshot(1), on_step=lambda f, t, s, d: steps.append((f, t)))
    assert result.error is not None
    assert (result.error.from_version, result.error.to_version) == (2, 3)
    assert steps == [(1, 2)]


@pytest.mark.parametrize("produced", [None, ["not", "a", "snapshot"], "snapshot"])
def test_migrate_step_returning_non_mapping_gives_migration_error(produced: Any) -> None:
    pipeline = define_migrations(make_task_definition(model_version=2), {2: lambda s: produced})
    result = migrate(pipeline, _snapshot(1))
    assert result.error is not None
    assert isinstance(result.error.cause, TypeError)
    assert (result.error.from_version, result.error.to_version) == (1, 2)


def test_migrate_missing_step_gives_no_migration_function_found() -> None:
    pipeline = define_migrations(make_task_definition(model_version=3), {3: _add_priority})
    errors: list[MigrationError] = []
    result = migrate(pipeline, _snapshot(1), on_error=errors.append)
    assert result.error is not None
    assert (result.error.from_version, result.error.to_version) == (1, 2)
    assert str(result.error) == "Migration 1 → 2 failed: No migration function found for version 2"
    assert errors == [result.error]


def test_migrate_with_empty_pipeline_below_target_fails() -> None:
    pipeline = define_migrations(make_task_definition(model_version=2), {})
    result = migrate(pipeline, _snapshot(1))
    assert result.error is not None
    assert "No migration function found for version 2" in str(result.error)


def test_migration_error_message_uses_cause_text() -> None:
    error = MigrationError(2, 3, "no currency")
    assert str(error) == "Migration 2 → 3 failed: no currency"
    assert (error.from_version, error.to_version, error.cause) == (2, 3, "no currency")
