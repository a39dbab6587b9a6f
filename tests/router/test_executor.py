"""memory_store and WorkflowExecutor: load, middleware, dispatch, save (reference §12)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from temporal_router import (
    Command,
    ConcurrencyConflictError,
    Context,
    DomainFailure,
    Event,
    ExecutionResult,
    ExecutorContext,
    ExecutorError,
    MemoryStore,
    RouterFailure,
    StoredWorkflow,
    UnexpectedFailure,
    ValidationFailure,
    WorkflowDefinition,
    WorkflowExecutor,
    WorkflowRouter,
    WorkflowSnapshot,
    memory_store,
)

from ._models import Started, make_task_definition

NextFn = Callable[[], Awaitable[None]]


def _router(definition: WorkflowDefinition | None = None) -> WorkflowRouter:
    router = WorkflowRouter(definition or make_task_definition())

    def start(ctx: Context) -> None:
        if ctx.command.payload.assignee == "nobody":
            ctx.error("NotAllowed", {"reason": "no assignee"})
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Finish", lambda ctx: ctx.transition("Done", ctx.data))
    router.state(["Todo", "Doing"]).on(
        "Rename", lambda ctx: ctx.update(title=ctx.command.payload.title)
    )
    return router


async def _seeded(
    router: WorkflowRouter, store: MemoryStore | None = None, id: str = "t-1"
) -> tuple[WorkflowExecutor, MemoryStore]:
    store = store if store is not None else memory_store()
    definition = router.definition
    wf = definition.create_workflow(id, initial_state="Todo", data={"title": "x"})
    await store.save(id=id, snapshot=definition.serialize(wf), expected_version=0)
    return WorkflowExecutor(router, store), store


START = {"type": "Start", "payload": {"assignee": "ada"}}


def _snapshot(state: str = "Todo", data: dict[str, Any] | None = None) -> WorkflowSnapshot:
    return {
        "id": "t-1",
        "definition_name": "Task",
        "state": state,
        "data": {"title": "x"} if data is None else data,
        "created_at": "2026-01-15T10:00:00.000Z",
        "updated_at": "2026-01-15T10:00:00.000Z",
        "model_version": 1,
        "version": 1,
    }


# --- memory_store --------------------------------------------------------------------------


async def test_memory_store_load_of_unknown_id_returns_none() -> None:
    assert await memory_store().load("nope") is None


async def test_memory_store_create_with_expected_version_0_stores_version_1() -> None:
    store = memory_store()
    await store.save(id="t-1", snapshot=_snapshot(), expected_version=0)
    stored = await store.load("t-1")
    assert stored == StoredWorkflow({**_snapshot(), "version": 1}, 1)


async def test_memory_store_versions_grow_by_one_per_save() -> None:
    store = memory_store()
    await store.save(id="t-1", snapshot=_snapshot(), expected_version=0)
    await store.save(id="t-1", snapshot=_snapshot("Doing"), expected_version=1)
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 2
    assert stored.snapshot["version"] == 2
    assert stored.snapshot["state"] == "Doing"


async def test_memory_store_stamps_version_over_the_snapshot_version() -> None:
    store = memory_store()
    await store.save(id="t-1", snapshot={**_snapshot(), "version": 42}, expected_version=0)
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.snapshot["version"] == 1


@pytest.mark.parametrize(("expected", "actual"), [(0, 1), (2, 1), (5, 1)])
async def test_memory_store_version_mismatch_raises_concurrency_conflict(
    expected: int, actual: int
) -> None:
    store = memory_store()
    await store.save(id="t-1", snapshot=_snapshot(), expected_version=0)
    with pytest.raises(ConcurrencyConflictError) as info:
        await store.save(id="t-1", snapshot=_snapshot("Doing"), expected_version=expected)
    assert str(info.value) == (
        f'Concurrency conflict for workflow "t-1": expected version {expected}, actual {actual}'
    )
    assert (info.value.workflow_id, info.value.expected_version, info.value.actual_version) == (
        "t-1",
        expected,
        actual,
    )
    stored = await store.load("t-1")
    assert stored is not None
    assert (stored.version, stored.snapshot["state"]) == (1, "Todo")


async def test_memory_store_saving_unknown_id_with_nonzero_version_conflicts_with_actual_0() -> (
    None
):
    with pytest.raises(ConcurrencyConflictError) as info:
        await memory_store().save(id="new", snapshot=_snapshot(), expected_version=1)
    assert info.value.actual_version == 0
    assert await memory_store().load("new") is None


async def test_memory_store_ignores_events() -> None:
    store = memory_store()
    await store.save(
        id="t-1",
        snapshot=_snapshot(),
        expected_version=0,
        events=[Event("Started", Started(assignee="a"))],
    )
    stored = await store.load("t-1")
    assert stored is not None
    assert "events" not in stored.snapshot


async def test_memory_store_instances_are_independent() -> None:
    first, second = memory_store(), memory_store()
    assert isinstance(first, MemoryStore)
    await first.save(id="t-1", snapshot=_snapshot(), expected_version=0)
    assert await second.load("t-1") is None


# --- execute: early failures ---------------------------------------------------------------


async def test_execute_unknown_id_returns_not_found() -> None:
    executor = WorkflowExecutor(_router(), memory_store())
    result = await executor.execute("ghost", START)
    assert not result.ok
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "not_found"
    assert result.error.id == "ghost"


async def test_execute_expected_version_mismatch_conflicts_before_middleware() -> None:
    executor, store = await _seeded(_router())
    ran: list[str] = []

    async def spy(ctx: ExecutorContext, next: NextFn) -> None:
        ran.append("mw")
        await next()

    executor.use(spy)
    result = await executor.execute("t-1", START, expected_version=7)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "conflict"
    assert (result.error.expected_version, result.error.actual_version) == (7, 1)
    assert result.error.message == (
        'Concurrency conflict for workflow "t-1": expected version 7, actual 1'
    )
    assert ran == []
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1


async def test_execute_matching_expected_version_succeeds() -> None:
    executor, _ = await _seeded(_router())
    result = await executor.execute("t-1", START, expected_version=1)
    assert result.ok
    assert result.version == 2


async def test_execute_unrestorable_snapshot_returns_restore_error() -> None:
    store = memory_store()
    await store.save(id="t-1", snapshot=_snapshot(data={"title": 5}), expected_version=0)
    result = await WorkflowExecutor(_router(), store).execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "restore"
    assert result.error.id == "t-1"
    assert [issue["loc"] for issue in result.error.issues] == [("title",)]
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1


async def test_execute_unknown_stored_state_returns_restore_error() -> None:
    store = memory_store()
    await store.save(id="t-1", snapshot=_snapshot("Archived"), expected_version=0)
    result = await WorkflowExecutor(_router(), store).execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "restore"
    assert result.error.issues[0]["msg"] == "Unknown state: Archived"


# --- execute: dispatch -----------------------------------------------------------------------


async def test_execute_domain_error_passes_through_and_saves_nothing() -> None:
    executor, store = await _seeded(_router())
    result = await executor.execute("t-1", {"type": "Start", "payload": {"assignee": "nobody"}})
    assert isinstance(result.error, DomainFailure)
    assert result.error.code == "NotAllowed"
    assert result.error.data.reason == "no assignee"
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1


@pytest.mark.parametrize(
    ("command", "failure", "detail"),
    [
        ({"type": "Finish", "payload": {}}, RouterFailure, "NO_HANDLER"),
        ({"type": "Launch", "payload": {}}, RouterFailure, "UNKNOWN_COMMAND"),
        ({"type": "Start", "payload": {}}, ValidationFailure, "command"),
    ],
)
async def test_execute_dispatch_error_passes_through(
    command: dict[str, Any], failure: type, detail: str
) -> None:
    executor, store = await _seeded(_router())
    result = await executor.execute("t-1", command)
    assert isinstance(result.error, failure)
    assert (getattr(result.error, "code", None) or getattr(result.error, "source", None)) == detail
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1


async def test_execute_success_saves_and_returns_snapshot_version_and_events() -> None:
    executor, store = await _seeded(_router())
    result = await executor.execute("t-1", START)
    assert result.ok
    assert result.error is None
    assert result.version == 2
    assert result.snapshot is not None
    assert result.snapshot["version"] == 2
    assert result.snapshot["state"] == "Doing"
    assert result.snapshot["data"] == {"title": "x", "assignee": "ada"}
    assert result.events == [Event("Started", Started(assignee="ada"))]
    stored = await store.load("t-1")
    assert stored == StoredWorkflow(result.snapshot, 2)


async def test_execute_success_versions_grow_by_one() -> None:
    executor, store = await _seeded(_router())
    versions = []
    for command in (
        {"type": "Rename", "payload": {"title": "y"}},
        START,
        Command("Rename", {"title": "z"}),
        {"type": "Finish", "payload": {}},
    ):
        result = await executor.execute("t-1", command)
        assert result.ok, result.error
        versions.append(result.version)
    assert versions == [2, 3, 4, 5]
    stored = await store.load("t-1")
    assert stored is not None
    assert (stored.version, stored.snapshot["state"], stored.snapshot["data"]["title"]) == (
        5,
        "Done",
        "z",
    )


async def test_execute_passes_events_to_store_save() -> None:
    saved: list[dict[str, Any]] = []

    class RecordingStore(MemoryStore):
        async def save(
            self,
            *,
            id: str,
            snapshot: WorkflowSnapshot,
            expected_version: int,
            events: list[Event] | None = None,
        ) -> None:
            saved.append({"id": id, "expected_version": expected_version, "events": events})
            await super().save(id=id, snapshot=snapshot, expected_version=expected_version)

    executor, _ = await _seeded(_router(), RecordingStore())
    await executor.execute("t-1", START)
    assert saved[-1] == {
        "id": "t-1",
        "expected_version": 1,
        "events": [Event("Started", Started(assignee="ada"))],
    }


# --- execute: middleware -------------------------------------------------------------------


async def test_execute_middleware_runs_outermost_first_and_sees_the_outcome() -> None:
    executor, _ = await _seeded(_router())
    trace: list[str] = []

    def make(name: str) -> Callable[[ExecutorContext, NextFn], Awaitable[None]]:
        async def mw(ctx: ExecutorContext, next: NextFn) -> None:
            trace.append(f"{name}:before:{ctx.stored.version}")
            await next()
            state = ctx.snapshot["state"] if ctx.snapshot else None
            trace.append(f"{name}:after:{state}")

        return mw

    assert executor.use(make("outer")).use(make("inner")) is executor
    assert (await executor.execute("t-1", START)).ok
    assert trace == ["outer:before:1", "inner:before:1", "inner:after:Doing", "outer:after:Doing"]


async def test_execute_middleware_short_circuit_returns_its_result_and_saves_nothing() -> None:
    executor, store = await _seeded(_router())
    denied = ExecutionResult(False, error=ExecutorError("unexpected", "t-1", "denied"))
    dispatched: list[str] = []
    executor.router.on("dispatch:start", lambda wf, cmd: dispatched.append(wf.id))

    async def deny(ctx: ExecutorContext, next: NextFn) -> None:
        ctx.result = denied

    executor.use(deny)
    result = await executor.execute("t-1", START)
    assert result is denied
    assert dispatched == []
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1


async def test_execute_middleware_short_circuit_without_result_is_unexpected() -> None:
    executor, store = await _seeded(_router())

    async def swallow(ctx: ExecutorContext, next: NextFn) -> None:
        return None

    executor.use(swallow)
    result = await executor.execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "unexpected"
    assert result.error.message == "Pipeline completed without setting snapshot or error"
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1


@pytest.mark.parametrize("where", ["before", "after"])
async def test_execute_middleware_exception_is_unexpected_and_saves_nothing(where: str) -> None:
    executor, store = await _seeded(_router())
    boom = RuntimeError("middleware exploded")

    async def explode(ctx: ExecutorContext, next: NextFn) -> None:
        if where == "before":
            raise boom
        await next()
        raise boom

    executor.use(explode)
    result = await executor.execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "unexpected"
    assert result.error.error is boom
    assert result.error.message == "middleware exploded"
    stored = await store.load("t-1")
    assert stored is not None
    assert (stored.version, stored.snapshot["state"]) == (1, "Todo")


async def test_execute_middleware_may_set_the_snapshot_to_save() -> None:
    executor, store = await _seeded(_router())

    async def replace(ctx: ExecutorContext, next: NextFn) -> None:
        await next()
        assert ctx.snapshot is not None
        ctx.snapshot = {**ctx.snapshot, "data": {**ctx.snapshot["data"], "assignee": "bob"}}

    executor.use(replace)
    result = await executor.execute("t-1", START)
    assert result.snapshot is not None
    assert result.snapshot["data"]["assignee"] == "bob"
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.snapshot["data"]["assignee"] == "bob"


def test_executor_use_rejects_non_callable() -> None:
    executor = WorkflowExecutor(_router(), memory_store())
    with pytest.raises(TypeError, match="executor middleware must be callable"):
        executor.use("not middleware")  # type: ignore[arg-type]


# --- execute: concurrency and store failures -------------------------------------------------


async def test_execute_two_concurrent_executes_on_one_id_one_conflicts() -> None:
    definition = make_task_definition()
    router = WorkflowRouter(definition)
    started = 0
    both_started = asyncio.Event()

    async def rename(ctx: Context) -> None:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        await both_started.wait()
        ctx.update(title=ctx.command.payload.title)

    router.state("Todo").on("Rename", rename)
    executor, store = await _seeded(router)
    results = await asyncio.wait_for(
        asyncio.gather(
            executor.execute("t-1", {"type": "Rename", "payload": {"title": "a"}}),
            executor.execute("t-1", {"type": "Rename", "payload": {"title": "b"}}),
        ),
        timeout=5,
    )
    assert sorted(r.ok for r in results) == [False, True]
    winner = next(r for r in results if r.ok)
    loser = next(r for r in results if not r.ok)
    assert winner.version == 2
    assert isinstance(loser.error, ExecutorError)
    assert loser.error.category == "conflict"
    assert (loser.error.expected_version, loser.error.actual_version) == (1, 2)
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 2
    assert winner.snapshot is not None
    assert stored.snapshot["data"]["title"] == winner.snapshot["data"]["title"]


async def test_execute_store_load_raising_returns_unexpected_never_raises() -> None:
    # Improvement: the reference lets a throwing load reject execute().
    boom = ConnectionError("database down")

    class BrokenStore(MemoryStore):
        async def load(self, id: str) -> StoredWorkflow | None:
            raise boom

    result = await WorkflowExecutor(_router(), BrokenStore()).execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "unexpected"
    assert result.error.error is boom
    assert result.error.id == "t-1"
    assert result.error.message == "database down"


async def test_execute_store_save_raising_other_error_returns_unexpected() -> None:
    boom = OSError("disk full")

    class FullStore(MemoryStore):
        async def save(
            self,
            *,
            id: str,
            snapshot: WorkflowSnapshot,
            expected_version: int,
            events: list[Event] | None = None,
        ) -> None:
            if expected_version > 0:
                raise boom
            await super().save(id=id, snapshot=snapshot, expected_version=expected_version)

    executor, _ = await _seeded(_router(), FullStore())
    result = await executor.execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "unexpected"
    assert result.error.error is boom


async def test_execute_save_conflict_reports_stored_and_actual_versions() -> None:
    class RacingStore(MemoryStore):
        async def save(
            self,
            *,
            id: str,
            snapshot: WorkflowSnapshot,
            expected_version: int,
            events: list[Event] | None = None,
        ) -> None:
            if expected_version == 1:  # someone else saved twice in between
                raise ConcurrencyConflictError(id, expected_version, 3)
            await super().save(id=id, snapshot=snapshot, expected_version=expected_version)

    executor, _ = await _seeded(_router(), RacingStore())
    result = await executor.execute("t-1", START)
    assert isinstance(result.error, ExecutorError)
    assert result.error.category == "conflict"
    assert (result.error.expected_version, result.error.actual_version) == (1, 3)


async def test_execute_handler_exception_is_router_unexpected_and_saves_nothing() -> None:
    definition = make_task_definition()
    router = WorkflowRouter(definition)

    def crash(ctx: Context) -> None:
        raise ZeroDivisionError("oops")

    router.state("Todo").on("Finish", crash)
    executor, store = await _seeded(router)
    result = await executor.execute("t-1", {"type": "Finish", "payload": {}})
    assert isinstance(result.error, UnexpectedFailure)
    assert isinstance(result.error.error, ZeroDivisionError)
    stored = await store.load("t-1")
    assert stored is not None
    assert stored.version == 1
