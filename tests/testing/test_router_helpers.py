"""temporal_router.testing: the pure-Python helpers for users' own tests (reference §15)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from temporal_router import (
    Context,
    DispatchResult,
    DomainFailure,
    MigrationPipeline,
    RouterFailure,
    UnexpectedFailure,
    UnknownNameError,
    ValidationError,
    ValidationFailure,
    WorkflowRouter,
    define_migrations,
    define_workflow,
)
from temporal_router.testing import (
    PathStep,
    create_test_deps,
    create_test_workflow,
    expect_error,
    expect_ok,
    test_migration,
    test_migration_path,
    test_migration_restore,
    test_path,
)
from tests.router._models import Doing, NotAllowed, Todo, make_task_definition

DEFINITION = make_task_definition()


def _router() -> WorkflowRouter:
    router = WorkflowRouter(DEFINITION)

    def start(ctx: Context) -> None:
        if ctx.command.payload.assignee == "nobody":
            ctx.error("NotAllowed", {"reason": "nobody"})
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Finish", lambda ctx: ctx.transition("Done", ctx.data))
    router.state(["Todo", "Doing"]).on(
        "Rename", lambda ctx: ctx.update(title=ctx.command.payload.title)
    )
    return router


def _ok(state: str = "Doing") -> DispatchResult:
    wf = DEFINITION.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    if state == "Todo":
        return DispatchResult.success(wf, [])
    doing = DEFINITION.create_workflow(
        "t-1", initial_state="Doing", data={"title": "x", "assignee": "a"}
    )
    return DispatchResult.success(doing, [])


DOMAIN = DispatchResult.failure(
    DomainFailure("NotAllowed", NotAllowed(reason="r"), "Domain error: NotAllowed")
)
NO_HANDLER = DispatchResult.failure(
    RouterFailure("NO_HANDLER", "No handler for command 'Finish' in state 'Todo'")
)
INVALID = DispatchResult.failure(ValidationFailure("command", [], "Invalid command payload: x"))
UNEXPECTED = DispatchResult.failure(UnexpectedFailure(RuntimeError("bug"), "bug"))


# --- create_test_workflow ------------------------------------------------------------------


def test_create_test_workflow_default_id_is_test_and_7_base36_chars() -> None:
    wf = create_test_workflow(DEFINITION, "Todo", {"title": "x"})
    assert re.fullmatch(r"test-[a-z0-9]{7}", wf.id)


def test_create_test_workflow_default_ids_differ() -> None:
    ids = {create_test_workflow(DEFINITION, "Todo", {"title": "x"}).id for _ in range(20)}
    assert len(ids) == 20


def test_create_test_workflow_uses_given_id() -> None:
    wf = create_test_workflow(DEFINITION, "Doing", {"title": "x", "assignee": "a"}, id="w-1")
    assert (wf.id, wf.state, wf.definition_name) == ("w-1", "Doing", "Task")
    assert wf.data == Doing(title="x", assignee="a")


def test_create_test_workflow_invalid_data_raises() -> None:
    with pytest.raises(ValidationError):
        create_test_workflow(DEFINITION, "Todo", {})


def test_create_test_workflow_unknown_state_raises() -> None:
    with pytest.raises(UnknownNameError, match="Unknown state: Nope"):
        create_test_workflow(DEFINITION, "Nope", {"title": "x"})


# --- expect_ok -------------------------------------------------------------------------------


def test_expect_ok_returns_the_workflow() -> None:
    result = _ok()
    assert expect_ok(result) is result.workflow
    assert expect_ok(result, "Doing") is result.workflow


def test_expect_ok_on_error_raises_with_error_as_json() -> None:
    with pytest.raises(AssertionError) as info:
        expect_ok(NO_HANDLER)
    message = str(info.value)
    prefix = "Expected ok result, but got error: "
    assert message.startswith(prefix)
    assert json.loads(message[len(prefix) :]) == {
        "code": "NO_HANDLER",
        "message": "No handler for command 'Finish' in state 'Todo'",
        "category": "router",
    }


def test_expect_ok_on_error_with_non_json_fields_still_describes_it() -> None:
    with pytest.raises(AssertionError, match=r"^Expected ok result, but got error: .*RuntimeError"):
        expect_ok(UNEXPECTED)


def test_expect_ok_wrong_state_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Expected state 'Done' but got 'Doing'$"):
        expect_ok(_ok(), "Done")


# --- expect_error ----------------------------------------------------------------------------


def test_expect_error_returns_the_error() -> None:
    assert expect_error(DOMAIN, "domain") is DOMAIN.error
    assert expect_error(DOMAIN, "domain", "NotAllowed") is DOMAIN.error
    assert expect_error(NO_HANDLER, "router", "NO_HANDLER") is NO_HANDLER.error


def test_expect_error_on_ok_result_raises() -> None:
    with pytest.raises(
        AssertionError, match=r"^Expected error 'domain', but got ok \(state Todo\)$"
    ):
        expect_error(_ok("Todo"), "domain")


def test_expect_error_category_mismatch_raises() -> None:
    with pytest.raises(
        AssertionError,
        match=r"^Expected error category 'validation' but got 'domain': Domain error: NotAllowed$",
    ):
        expect_error(DOMAIN, "validation")


def test_expect_error_code_mismatch_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Expected error code 'Other' but got 'NotAllowed'$"):
        expect_error(DOMAIN, "domain", "Other")
    with pytest.raises(AssertionError, match="UNKNOWN_STATE"):
        expect_error(NO_HANDLER, "router", "UNKNOWN_STATE")


def test_expect_error_checks_code_against_validation_source() -> None:
    # Improvement: the reference silently ignores a code for validation errors.
    assert expect_error(INVALID, "validation", "command") is INVALID.error
    with pytest.raises(AssertionError, match=r"^Expected error code 'state' but got 'command'$"):
        expect_error(INVALID, "validation", "state")


def test_expect_error_code_for_category_without_code_fails() -> None:
    # Improvement: the reference silently ignores it.
    with pytest.raises(AssertionError, match=r"^Expected error code 'X' but got 'None'$"):
        expect_error(UNEXPECTED, "unexpected", "X")


# --- test_path -------------------------------------------------------------------------------


async def test_test_path_runs_every_step_and_returns_the_final_workflow() -> None:
    wf = await test_path(
        _router(),
        DEFINITION,
        [
            {
                "start": "Todo",
                "data": {"title": "x"},
                "command": "Start",
                "payload": {"assignee": "ada"},
                "expect": "Doing",
            },
            PathStep("Rename", {"title": "y"}, expect="Doing"),
            {"command": "Finish", "expect": "Done"},
        ],
    )
    assert wf.state == "Done"
    assert wf.data.model_dump() == {"title": "y", "assignee": "ada"}
    assert re.fullmatch(r"test-[a-z0-9]{7}", wf.id)


async def test_test_path_requires_at_least_one_step() -> None:
    with pytest.raises(AssertionError, match=r"^testPath requires at least one step$"):
        await test_path(_router(), DEFINITION, [])


async def test_test_path_first_step_requires_start() -> None:
    with pytest.raises(AssertionError, match=r"^Step 1: the first step needs 'start'"):
        await test_path(_router(), DEFINITION, [{"command": "Finish", "expect": "Done"}])


async def test_test_path_failed_dispatch_names_step_and_command() -> None:
    steps: list[Any] = [
        PathStep("Start", {"assignee": "ada"}, expect="Doing", start="Todo", data={"title": "x"}),
        PathStep("Start", {"assignee": "bob"}, expect="Doing"),
    ]
    with pytest.raises(AssertionError) as info:
        await test_path(_router(), DEFINITION, steps)
    message = str(info.value)
    prefix = "Step 2: dispatch 'Start' failed: "
    assert message.startswith(prefix)
    assert json.loads(message[len(prefix) :])["code"] == "NO_HANDLER"


async def test_test_path_domain_error_fails_the_step() -> None:
    steps: list[Any] = [
        PathStep("Start", {"assignee": "nobody"}, start="Todo", data={"title": "x"}),
    ]
    with pytest.raises(AssertionError, match=r"^Step 1: dispatch 'Start' failed: .*NotAllowed"):
        await test_path(_router(), DEFINITION, steps)


async def test_test_path_wrong_state_names_step() -> None:
    steps: list[Any] = [
        PathStep("Start", {"assignee": "a"}, expect="Doing", start="Todo", data={"title": "x"}),
        PathStep("Rename", {"title": "z"}, expect="Done"),
    ]
    with pytest.raises(AssertionError, match=r"^Step 2: Expected state 'Done' but got 'Doing'$"):
        await test_path(_router(), DEFINITION, steps)


async def test_test_path_step_without_expect_skips_the_state_check() -> None:
    wf = await test_path(
        _router(),
        DEFINITION,
        [PathStep("Rename", {"title": "z"}, start="Todo", data={"title": "x"})],
    )
    assert (wf.state, wf.data) == ("Todo", Todo(title="z"))


async def test_test_path_invalid_start_data_raises() -> None:
    with pytest.raises(ValidationError):
        await test_path(
            _router(), DEFINITION, [PathStep("Finish", start="Todo", data={"priority": 1})]
        )


# --- create_test_deps ------------------------------------------------------------------------


def test_create_test_deps_is_identity() -> None:
    deps = {"db": object()}
    assert create_test_deps(deps) is deps


def test_create_test_deps_adds_no_stubs() -> None:
    deps = create_test_deps({"db": 1})
    assert deps == {"db": 1}


# --- migration helpers -------------------------------------------------------------------


def _pipeline() -> MigrationPipeline:
    def rename(snapshot: dict[str, Any]) -> dict[str, Any]:
        data = dict(snapshot["data"])
        data["title"] = data.pop("name")
        return {**snapshot, "data": data}

    return define_migrations(
        make_task_definition(model_version=3),
        {
            2: rename,
            3: ("prioritise", lambda s: {**s, "data": {**s["data"], "priority": 5}}),
        },
    )


def test_test_migration_runs_one_step_and_compares_data() -> None:
    test_migration(_pipeline(), from_version=1, input={"name": "x"}, expected={"title": "x"})
    test_migration(
        _pipeline(), from_version=2, input={"title": "x"}, expected={"title": "x", "priority": 5}
    )


def test_test_migration_data_mismatch_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Migration 1 → 2: expected"):
        test_migration(_pipeline(), from_version=1, input={"name": "x"}, expected={"name": "x"})


def test_test_migration_missing_step_raises() -> None:
    with pytest.raises(AssertionError, match=r"^No migration step from version 3$"):
        test_migration(_pipeline(), from_version=3, input={}, expected={})


def test_test_migration_builds_snapshot_in_first_state_unless_given() -> None:
    seen: list[dict[str, Any]] = []

    def record(snapshot: dict[str, Any]) -> dict[str, Any]:
        seen.append(snapshot)
        return snapshot

    pipeline = define_migrations(make_task_definition(model_version=2), {2: record})
    test_migration(pipeline, from_version=1, input={"a": 1}, expected={"a": 1})
    test_migration(pipeline, from_version=1, input={"a": 1}, expected={"a": 1}, state="Done")
    assert [s["state"] for s in seen] == ["Todo", "Done"]
    assert seen[0]["definition_name"] == "Task"
    assert seen[0]["model_version"] == 1


def test_test_migration_path_runs_the_chain_and_returns_the_snapshot() -> None:
    snapshot = test_migration_path(
        _pipeline(),
        from_version=1,
        input={"name": "x"},
        expected={"title": "x", "priority": 5},
        expect_version=3,
    )
    assert snapshot["model_version"] == 3
    assert snapshot["state"] == "Todo"


def test_test_migration_path_expect_version_defaults_to_target() -> None:
    snapshot = test_migration_path(
        _pipeline(), from_version=2, input={"title": "x"}, expected={"title": "x", "priority": 5}
    )
    assert snapshot["model_version"] == 3


def test_test_migration_path_version_mismatch_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Expected model_version 2 but got 3$"):
        test_migration_path(
            _pipeline(),
            from_version=1,
            input={"name": "x"},
            expected={"title": "x", "priority": 5},
            expect_version=2,
        )


def test_test_migration_path_data_mismatch_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Expected data \{'title': 'x'\}"):
        test_migration_path(
            _pipeline(), from_version=1, input={"name": "x"}, expected={"title": "x"}
        )


def test_test_migration_path_failed_migration_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Migration failed: Migration 1 → 2 failed: 'name'"):
        test_migration_path(_pipeline(), from_version=1, input={}, expected={})


def test_test_migration_restore_migrates_then_deserializes() -> None:
    wf = test_migration_restore(
        _pipeline(), from_version=1, input={"name": "x"}, expect_state="Todo"
    )
    assert wf.state == "Todo"
    assert wf.data == Todo(title="x", priority=5)


def test_test_migration_restore_state_mismatch_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Expected state 'Done' but got 'Todo'$"):
        test_migration_restore(
            _pipeline(), from_version=1, input={"name": "x"}, expect_state="Done"
        )


def test_test_migration_restore_invalid_data_raises_restore_failed() -> None:
    with pytest.raises(AssertionError, match=r"^Restore failed: Validation failed \(restore\)"):
        test_migration_restore(_pipeline(), from_version=1, input={"name": "x"}, state="Doing")


def test_test_migration_restore_failed_migration_raises() -> None:
    with pytest.raises(AssertionError, match=r"^Migration failed: "):
        test_migration_restore(_pipeline(), from_version=4, input={"name": "x"})


def test_migration_helpers_on_definition_without_states_raise_assertion_error() -> None:
    empty = define_workflow("Empty", states={}, commands={}, events={}, errors={}, model_version=2)
    pipeline = define_migrations(empty, {2: lambda s: s})
    with pytest.raises(AssertionError, match="has no states"):
        test_migration_path(pipeline, from_version=1, input={}, expected={})


def test_helpers_are_not_collected_by_pytest() -> None:
    for helper in (test_path, test_migration, test_migration_path, test_migration_restore):
        assert getattr(helper, "__test__", True) is False
