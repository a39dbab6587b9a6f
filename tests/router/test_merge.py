"""Router composition: parent.use(child) (§3.6)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from temporal_router import (
    ConfigurationError,
    Context,
    DependencyFailure,
    Next,
    UnexpectedFailure,
    WorkflowRouter,
)

from ._models import make_task_definition, task_definition
from ._support import cmd, doing, failed, ok, todo


def recording(log: list[str], name: str) -> Any:
    async def mw(ctx: Context, next: Next) -> None:
        log.append(name)
        await next()

    return mw


def handler(log: list[str], name: str) -> Any:
    return lambda ctx: log.append(name)


def test_merge_requires_the_same_definition_object() -> None:
    twin = make_task_definition()  # same name, different object
    parent = WorkflowRouter(task_definition)

    with pytest.raises(ConfigurationError) as info:
        parent.use(WorkflowRouter(twin))

    assert str(info.value) == (
        "Cannot merge router for 'Task' into router for 'Task': definition mismatch"
    )


def test_merge_mismatch_message_names_both_definitions() -> None:
    other = make_task_definition("Other")

    with pytest.raises(ConfigurationError, match="'Other' into router for 'Task'"):
        WorkflowRouter(task_definition).use(WorkflowRouter(other))


async def test_merge_is_an_eager_copy_later_child_registrations_are_unseen() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", handler(log, "child finish"))
    parent = WorkflowRouter(task_definition)
    parent.use(child)

    child.state("Todo").on("Rename", handler(log, "late handler"))
    child.state("Todo").use(recording(log, "late state mw"))
    child.use(recording(log, "late global mw"))
    child.on("*", "Start", handler(log, "late wildcard"))
    child.on("dispatch:start", lambda *a: log.append("late hook"))

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["child finish"]
    assert parent.resolve("Todo", "Rename") is None
    assert parent.resolve("Doing", "Start") is None


async def test_merge_copies_only_registrations_made_before_use() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", handler(log, "before merge"))
    parent = WorkflowRouter(task_definition)
    parent.use(child)
    child.state("Todo").on("Finish", handler(log, "replaced on child after merge"))

    ok(await parent.dispatch(todo(), cmd("Finish")))
    ok(await child.dispatch(todo(), cmd("Finish")))

    assert log == ["before merge", "replaced on child after merge"]


async def test_one_child_may_be_merged_into_several_parents() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", handler(log, "child"))
    first, second = WorkflowRouter(task_definition), WorkflowRouter(task_definition)
    first.use(child)
    second.use(child)
    first.use(recording(log, "first only"))

    ok(await first.dispatch(todo(), cmd("Finish")))
    ok(await second.dispatch(todo(), cmd("Finish")))

    assert log == ["first only", "child", "child"]


async def test_merge_nests_transitively() -> None:
    log: list[str] = []
    leaf = WorkflowRouter(task_definition)
    leaf.state("Todo").on("Finish", handler(log, "leaf handler"))
    leaf.use(recording(log, "leaf mw"))
    leaf.on("dispatch:end", lambda *a: log.append("leaf hook"))
    middle = WorkflowRouter(task_definition)
    middle.use(leaf)
    root = WorkflowRouter(task_definition)
    root.use(middle)

    ok(await root.dispatch(todo(), cmd("Finish")))

    assert log == ["leaf mw", "leaf handler", "leaf hook"]


async def test_child_global_middleware_is_appended_at_merge_time() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.use(recording(log, "child"))
    parent = WorkflowRouter(task_definition)
    parent.use(recording(log, "parent before"))
    parent.use(child)
    parent.use(recording(log, "parent after"))
    parent.state("Todo").on("Finish", handler(log, "handler"))

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["parent before", "child", "parent after", "handler"]


async def test_parent_wins_for_single_state_handlers() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", handler(log, "child"))
    child.state("Todo").on("Rename", handler(log, "child rename"))
    parent = WorkflowRouter(task_definition)
    parent.state("Todo").on("Finish", handler(log, "parent"))
    parent.use(child)

    ok(await parent.dispatch(todo(), cmd("Finish")))
    ok(await parent.dispatch(todo(), cmd("Rename", title="x")))

    assert log == ["parent", "child rename"]


async def test_parent_wins_for_multi_state_handlers() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state(["Todo", "Doing"], lambda s: s.on("Rename", handler(log, "child")))
    parent = WorkflowRouter(task_definition)
    parent.state(["Todo"], lambda s: s.on("Rename", handler(log, "parent")))
    parent.use(child)

    ok(await parent.dispatch(todo(), cmd("Rename", title="x")))
    ok(await parent.dispatch(doing(), cmd("Rename", title="x")))

    assert log == ["parent", "child"]


async def test_child_single_state_handler_beats_parent_multi_state_handler() -> None:
    """ "Parent wins" holds per registration kind; at dispatch, single beats multi."""
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Rename", handler(log, "child single"))
    parent = WorkflowRouter(task_definition)
    parent.state(["Todo", "Doing"], lambda s: s.on("Rename", handler(log, "parent multi")))
    parent.use(child)

    ok(await parent.dispatch(todo(), cmd("Rename", title="x")))
    ok(await parent.dispatch(doing(), cmd("Rename", title="x")))

    assert log == ["child single", "parent multi"]


async def test_child_state_middleware_runs_after_the_parents() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.state("Todo").use(recording(log, "child state"))
    child.state(["Todo"], lambda s: s.use(recording(log, "child multi")))
    parent = WorkflowRouter(task_definition)
    parent.state("Todo").use(recording(log, "parent state"))
    parent.state(["Todo"], lambda s: s.use(recording(log, "parent multi")))
    parent.use(child)
    parent.state("Todo").on("Finish", handler(log, "handler"))

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["parent state", "child state", "parent multi", "child multi", "handler"]


async def test_child_wildcards_are_copied_only_if_the_parent_has_none() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.on("*", "Rename", handler(log, "child rename"))
    child.on("*", "Finish", handler(log, "child finish"))
    parent = WorkflowRouter(task_definition)
    parent.on("*", "Rename", handler(log, "parent rename"))
    parent.use(child)

    ok(await parent.dispatch(todo(), cmd("Rename", title="x")))
    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["parent rename", "child finish"]


async def test_child_hooks_are_appended_to_the_parents() -> None:
    log: list[str] = []
    child = WorkflowRouter(task_definition)
    child.on("dispatch:start", lambda *a: log.append("child start"))
    child.on("transition", lambda *a: log.append("child transition"))
    parent = WorkflowRouter(task_definition)
    parent.on("dispatch:start", lambda *a: log.append("parent start"))
    parent.use(child)
    parent.on("dispatch:start", lambda *a: log.append("parent start, later"))
    parent.state("Todo").on(
        "Finish", lambda ctx: ctx.transition("Doing", {"title": "t", "assignee": "a"})
    )

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["parent start", "child start", "parent start, later", "child transition"]


async def test_parent_deps_apply_to_merged_handlers() -> None:
    seen: list[Any] = []
    child = WorkflowRouter(task_definition, {"source": "child"})
    child.state("Todo").on("Finish", lambda ctx: seen.append(ctx.deps.source))
    parent = WorkflowRouter(task_definition, {"source": "parent"})
    parent.use(child)

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert seen == ["parent"]


async def test_parent_wrap_deps_option_applies_to_merged_handlers() -> None:
    class Db:
        def get(self) -> None:
            raise ConnectionError("down")

    deps = SimpleNamespace(db=Db())
    child = WorkflowRouter(task_definition, deps, wrap_deps=True)
    child.state("Todo").on("Finish", lambda ctx: ctx.deps.db.get())
    unwrapped_parent = WorkflowRouter(task_definition, deps, wrap_deps=False)
    unwrapped_parent.use(child)
    wrapped_parent = WorkflowRouter(task_definition, deps)
    wrapped_parent.use(child)

    unwrapped = failed(await unwrapped_parent.dispatch(todo(), cmd("Finish")), UnexpectedFailure)
    wrapped = failed(await wrapped_parent.dispatch(todo(), cmd("Finish")), DependencyFailure)

    assert isinstance(unwrapped.error, ConnectionError)
    assert wrapped.name == "db"
    assert failed(await child.dispatch(todo(), cmd("Finish")), DependencyFailure).name == "db"


async def test_parent_on_hook_error_applies_to_merged_hooks() -> None:
    parent_reports: list[BaseException] = []
    child_reports: list[BaseException] = []

    def bad(*args: Any) -> None:
        raise RuntimeError("child hook bug")

    child = WorkflowRouter(task_definition, on_hook_error=child_reports.append)
    child.on("dispatch:start", bad)
    parent = WorkflowRouter(task_definition, on_hook_error=parent_reports.append)
    parent.use(child)
    parent.state("Todo").on("Finish", lambda ctx: None)

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert [str(e) for e in parent_reports] == ["child hook bug"]
    assert child_reports == []


async def test_merge_after_a_dispatch_invalidates_cached_routes() -> None:
    log: list[str] = []
    parent = WorkflowRouter(task_definition)
    parent.state("Todo").on("Finish", handler(log, "parent"))
    ok(await parent.dispatch(todo(), cmd("Finish")))  # resolves and caches the route
    child = WorkflowRouter(task_definition)
    child.use(recording(log, "child mw"))
    child.state("Todo").use(recording(log, "child state mw"))

    parent.use(child)
    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["parent", "child mw", "child state mw", "parent"]


def test_merge_leaves_the_child_unchanged() -> None:
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", lambda ctx: None)
    parent = WorkflowRouter(task_definition)
    parent.state("Todo").on("Rename", lambda ctx: None)
    parent.on("transition", lambda *a: None)

    parent.use(child)

    assert [(r.state, r.command) for r in child.routes()] == [("Todo", "Finish")]
    assert child.hooks("transition") == []
