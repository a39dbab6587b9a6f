"""Lifecycle hooks: arguments, order per outcome, guarantees, isolation, read-only context (§7)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from temporal_router import (
    Context,
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    Event,
    Next,
    ReadonlyContext,
    ReadOnlyContextError,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
    Workflow,
    WorkflowRouter,
    create_key,
)

from ._models import Doing, Todo, task_definition
from ._support import T0, T1, HookRecorder, cmd, doing, failed, ok, todo

SUCCESS_WITH_TRANSITION = ["dispatch:start", "pipeline:start", "transition"]
PIPELINE_FAILURE = ["dispatch:start", "pipeline:start", "error", "pipeline:end", "dispatch:end"]
EARLY_RETURN = ["dispatch:start", "dispatch:end"]


def start_router(deps: Any = None, **options: Any) -> WorkflowRouter:
    """Todo --Start--> Doing, emitting Started twice; Finish in Todo does nothing."""
    router = WorkflowRouter(task_definition, deps, **options)

    def start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})
        ctx.emit("Finished")

    router.state("Todo").on("Start", start)
    router.state("Todo").on("Finish", lambda ctx: ctx.emit("Finished"))
    return router


# -- arguments --------------------------------------------------------------------------------


async def test_dispatch_start_gets_the_original_workflow_and_raw_command() -> None:
    router = start_router()
    hooks = HookRecorder(router)
    wf = todo()
    raw = {"type": "Start", "payload": {"assignee": "ada", "extra": "kept in the raw command"}}

    await router.dispatch(wf, raw)

    [(got_wf, got_command)] = hooks.args("dispatch:start")
    assert got_wf is wf
    assert got_command is raw


async def test_dispatch_start_gets_the_raw_command_even_when_invalid() -> None:
    router = start_router()
    hooks = HookRecorder(router)
    raw = "not even a command"

    await router.dispatch(todo(), raw)  # type: ignore[arg-type]

    assert hooks.args("dispatch:start")[0][1] is raw


async def test_dispatch_end_gets_original_workflow_raw_command_and_result() -> None:
    router = start_router()
    hooks = HookRecorder(router)
    wf, raw = todo(), cmd("Start", assignee="ada")

    result = await router.dispatch(wf, raw)

    [(got_wf, got_command, got_result)] = hooks.args("dispatch:end")
    assert (got_wf, got_command, got_result) == (wf, raw, result)
    assert got_wf is wf
    assert got_command is raw
    assert got_result is result


async def test_pipeline_start_gets_a_read_only_context_with_the_validated_command() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    await router.dispatch(todo(), cmd("Start", assignee="ada", extra="stripped"))

    [(ctx,)] = hooks.args("pipeline:start")
    assert isinstance(ctx, ReadonlyContext)
    assert ctx.command.type == "Start"
    assert ctx.command.payload.model_dump() == {"assignee": "ada"}
    assert ctx.workflow == todo()


async def test_pipeline_end_gets_the_context_and_the_result() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), cmd("Start", assignee="ada"))

    [(ctx, got_result)] = hooks.args("pipeline:end")
    assert isinstance(ctx, ReadonlyContext)
    assert ctx is hooks.args("pipeline:start")[0][0]
    assert got_result is result


async def test_transition_hook_gets_from_to_and_the_result_workflow() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), cmd("Start", assignee="ada"))

    [(from_state, to_state, workflow)] = hooks.args("transition")
    assert (from_state, to_state) == ("Todo", "Doing")
    assert workflow is result.workflow


async def test_event_hook_gets_each_event_and_the_result_workflow_in_order() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), cmd("Start", assignee="ada"))

    calls = hooks.args("event")
    assert [event for event, _ in calls] == result.events
    assert all(a is b for (a, _), b in zip(calls, result.events, strict=True))
    assert all(workflow is result.workflow for _, workflow in calls)
    assert [e.type for e, _ in calls] == ["Started", "Finished"]


async def test_error_hook_gets_result_error_and_the_context() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: ctx.error("NotAllowed", {"reason": "r"}))
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), cmd("Finish"))

    [(error, ctx)] = hooks.args("error")
    assert error is result.error
    assert isinstance(error, DomainFailure)
    assert isinstance(ctx, ReadonlyContext)


# -- order per outcome (reference §4.1) -------------------------------------------------------


async def test_order_success_with_state_change_and_events() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    ok(await router.dispatch(todo(), cmd("Start", assignee="ada")))

    assert hooks.names == [
        *SUCCESS_WITH_TRANSITION,
        "event",
        "event",
        "pipeline:end",
        "dispatch:end",
    ]


async def test_order_success_same_state() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert hooks.names == [
        "dispatch:start",
        "pipeline:start",
        "event",
        "pipeline:end",
        "dispatch:end",
    ]


async def test_order_success_same_state_no_events() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: ctx.update(priority=1))
    hooks = HookRecorder(router)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert hooks.names == ["dispatch:start", "pipeline:start", "pipeline:end", "dispatch:end"]


def _failing_handlers() -> dict[str, Any]:
    def unexpected(ctx: Context) -> None:
        raise RuntimeError("bug")

    return {
        "domain": lambda ctx: ctx.error("NotAllowed", {"reason": "r"}),
        "validation-state": lambda ctx: ctx.update(assignee=None),
        "validation-transition": lambda ctx: ctx.transition("Doing", {}),
        "validation-event": lambda ctx: ctx.emit("Started", {}),
        "dependency": lambda ctx: ctx.deps.db.get(),
        "unexpected": unexpected,
    }


@pytest.mark.parametrize("kind", list(_failing_handlers()))
async def test_order_pipeline_failure_fires_error_then_pipeline_end(kind: str) -> None:
    class Db:
        def get(self) -> None:
            raise ConnectionError("down")

    router = WorkflowRouter(task_definition, {"db": Db()})

    def handler(ctx: Context) -> None:
        ctx.transition("Doing", {"title": "t", "assignee": "a"})
        ctx.emit("Finished")
        _failing_handlers()[kind](ctx)

    router.state("Todo").on("Finish", handler)
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), cmd("Finish"))

    assert not result.ok
    assert result.error is not None
    assert result.error.category == kind.split("-")[0]
    assert hooks.names == PIPELINE_FAILURE


async def test_order_middleware_failure_fires_error_then_pipeline_end() -> None:
    async def broken(ctx: Context, next: Next) -> None:
        raise RuntimeError("middleware bug")

    router = start_router()
    router.use(broken)
    hooks = HookRecorder(router)

    failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert hooks.names == PIPELINE_FAILURE


async def test_dispatch_end_fires_after_unknown_state() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    failed(
        await router.dispatch(
            Workflow("x", "Task", "Gone", Todo(title="t"), T0, T0), cmd("Finish")
        ),
        RouterFailure,
    )

    assert hooks.names == EARLY_RETURN


async def test_dispatch_end_fires_after_unknown_command() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    assert (
        failed(await router.dispatch(todo(), cmd("Fly")), RouterFailure).code == "UNKNOWN_COMMAND"
    )
    assert hooks.names == EARLY_RETURN


async def test_dispatch_end_fires_after_command_validation_failure() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    failed(await router.dispatch(todo(), cmd("Start")), ValidationFailure)

    assert hooks.names == EARLY_RETURN


async def test_dispatch_end_fires_after_malformed_command() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    failed(await router.dispatch(todo(), [1, 2]), ValidationFailure)  # type: ignore[arg-type]

    assert hooks.names == EARLY_RETURN


async def test_dispatch_end_fires_after_no_handler() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    assert failed(await router.dispatch(doing(), cmd("Finish")), RouterFailure).code == "NO_HANDLER"
    assert hooks.names == EARLY_RETURN


async def test_error_hook_fires_only_for_pipeline_failures() -> None:
    router = start_router()
    hooks = HookRecorder(router)

    for command in (
        cmd("Fly"),
        cmd("Start"),
        cmd("Rename", title="x"),
    ):  # unknown, invalid, no handler
        await router.dispatch(todo(), command)
    await router.dispatch(Workflow("x", "Task", "Gone", Todo(title="t"), T0, T0), cmd("Finish"))

    assert "error" not in hooks.names
    assert "pipeline:start" not in hooks.names


async def test_transition_hook_does_not_fire_for_update_only_dispatch() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: ctx.update(priority=4))
    hooks = HookRecorder(router)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert hooks.args("transition") == []


# -- the same result object --------------------------------------------------------------------


@pytest.mark.parametrize("command", [cmd("Start", assignee="ada"), cmd("Rename", title="x")])
async def test_same_result_object_given_to_pipeline_end_dispatch_end_and_returned(
    command: dict[str, Any],
) -> None:
    router = start_router()
    router.state("Todo").on("Rename", lambda ctx: ctx.error("NotAllowed", {"reason": "r"}))
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), command)

    assert hooks.args("pipeline:end")[0][1] is result
    assert hooks.args("dispatch:end")[0][2] is result


# -- execution model --------------------------------------------------------------------------


async def test_sync_and_async_hooks_both_run() -> None:
    log: list[str] = []

    async def async_hook(from_state: str, to_state: str, wf: Workflow) -> None:
        await asyncio.sleep(0)
        log.append(f"async {from_state}->{to_state}")

    router = start_router()
    router.on("transition", lambda f, t, wf: log.append(f"sync {f}->{t}"))
    router.on("transition", async_hook)

    ok(await router.dispatch(todo(), cmd("Start", assignee="ada")))

    assert log == ["sync Todo->Doing", "async Todo->Doing"]


async def test_hooks_are_awaited_sequentially_in_registration_order() -> None:
    log: list[str] = []

    def slow(name: str, delay: float) -> Any:
        async def hook(wf: Workflow, command: Any) -> None:
            log.append(f"{name} begins")
            await asyncio.sleep(delay)
            log.append(f"{name} ends")

        return hook

    router = start_router()
    router.on("dispatch:start", slow("first", 0.02))
    router.on("dispatch:start", slow("second", 0))
    router.on("pipeline:start", lambda ctx: log.append("pipeline"))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["first begins", "first ends", "second begins", "second ends", "pipeline"]


async def test_dispatch_waits_for_every_hook() -> None:
    done: list[str] = []

    async def late(wf: Workflow, command: Any, result: DispatchResult) -> None:
        await asyncio.sleep(0.01)
        done.append("dispatch:end hook finished")

    router = start_router()
    router.on("dispatch:end", late)

    await router.dispatch(todo(), cmd("Finish"))

    assert done == ["dispatch:end hook finished"]


async def test_raising_hook_goes_to_on_hook_error_and_the_rest_still_run() -> None:
    reported: list[BaseException] = []
    log: list[str] = []
    boom = RuntimeError("hook bug")

    def bad(*args: Any) -> None:
        raise boom

    async def bad_async(*args: Any) -> None:
        await asyncio.sleep(0)
        raise KeyError("async hook bug")

    router = start_router(on_hook_error=reported.append)
    router.on("transition", bad)
    router.on("transition", bad_async)
    router.on("transition", lambda *a: log.append("third transition hook"))
    router.on("event", lambda *a: log.append("event hook"))

    ok(await router.dispatch(todo(), cmd("Start", assignee="ada")))

    assert reported[0] is boom
    assert isinstance(reported[1], KeyError)
    assert len(reported) == 2
    assert log == ["third transition hook", "event hook", "event hook"]


async def test_async_on_hook_error_is_awaited() -> None:
    reported: list[str] = []

    async def report(exc: BaseException) -> None:
        await asyncio.sleep(0)
        reported.append(str(exc))

    def bad(*args: Any) -> None:
        raise RuntimeError("hook bug")

    router = start_router(on_hook_error=report)
    router.on("dispatch:start", bad)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert reported == ["hook bug"]


def _raise_in_hook(*args: Any) -> None:
    raise RuntimeError("hook failure")


@pytest.mark.parametrize("command", [cmd("Start", assignee="ada"), cmd("Rename", title="x")])
async def test_hook_failures_never_change_the_result(command: dict[str, Any]) -> None:
    quiet = start_router()
    noisy = start_router(on_hook_error=lambda exc: None)
    for router in (quiet, noisy):
        router.state("Todo").on("Rename", lambda ctx: ctx.error("NotAllowed", {"reason": "r"}))
    for event in (
        "dispatch:start",
        "dispatch:end",
        "pipeline:start",
        "pipeline:end",
        "transition",
        "error",
        "event",
    ):
        noisy.on(event, _raise_in_hook)

    expected = await quiet.dispatch(todo(), command, now=T1)
    actual = await noisy.dispatch(todo(), command, now=T1)

    assert actual == expected


@pytest.mark.parametrize(
    "event",
    ["dispatch:start", "pipeline:start", "transition", "event", "pipeline:end", "dispatch:end"],
)
async def test_on_hook_error_raising_never_makes_dispatch_raise(
    event: str, caplog: pytest.LogCaptureFixture
) -> None:
    def reporter(exc: BaseException) -> None:
        raise ValueError("the reporter is broken too")

    router = start_router(on_hook_error=reporter)
    router.on(event, _raise_in_hook)  # type: ignore[call-overload]
    hooks = HookRecorder(router)

    with caplog.at_level(logging.ERROR, logger="temporal_router"):
        result = await router.dispatch(todo(), cmd("Start", assignee="ada"), now=T1)

    assert ok(result).data == Doing(title="write tests", assignee="ada")
    assert hooks.names.count("pipeline:end") == 1
    assert hooks.names.count("dispatch:end") == 1
    records = [r for r in caplog.records if r.name == "temporal_router"]
    assert len(records) == (2 if event == "event" else 1)  # two events, so two event hook calls
    for record in records:
        assert "on_hook_error" in record.getMessage()
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], ValueError)


async def test_default_on_hook_error_logs_to_the_temporal_router_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    boom = RuntimeError("observer failed")

    def bad(*args: Any) -> None:
        raise boom

    router = start_router()
    router.on("dispatch:end", bad)

    with caplog.at_level(logging.ERROR, logger="temporal_router"):
        ok(await router.dispatch(todo(), cmd("Finish")))

    [record] = caplog.records
    assert record.name == "temporal_router"
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[1] is boom


# -- read-only context ------------------------------------------------------------------------


@pytest.mark.parametrize("hook", ["pipeline:start", "pipeline:end", "error"])
async def test_pipeline_hooks_get_a_read_only_context(hook: str) -> None:
    reported: list[BaseException] = []
    attempts = {
        "update": lambda ctx: ctx.update(priority=99),
        "transition": lambda ctx: ctx.transition("Done", {"title": "t", "assignee": "a"}),
        "emit": lambda ctx: ctx.emit("Finished"),
        "error": lambda ctx: ctx.error("NotAllowed", {"reason": "from a hook"}),
    }
    router = WorkflowRouter(task_definition, on_hook_error=reported.append)
    router.state("Todo").on("Finish", lambda ctx: ctx.update(priority=1))
    router.state("Todo").on("Rename", lambda ctx: ctx.error("NotAllowed", {"reason": "r"}))
    for attempt in attempts.values():
        ctx_index = 1 if hook == "error" else 0
        router.on(hook, lambda *args, attempt=attempt, i=ctx_index: attempt(args[i]))  # type: ignore[call-overload]
    command = cmd("Rename", title="x") if hook == "error" else cmd("Finish")

    result = await router.dispatch(todo(), command, now=T1)

    assert [type(e) for e in reported] == [ReadOnlyContextError] * 4
    for name, exc in zip(attempts, reported, strict=True):
        assert f"{name}()" in str(exc)
    if hook == "error":
        assert failed(result, DomainFailure).data.reason == "r"
    else:
        assert ok(result).data == Todo(title="write tests", priority=1)
        assert result.events == []


async def test_read_only_context_keeps_set_get_and_get_or_none() -> None:
    started_at = create_key("started_at")
    missing = create_key("missing")
    seen: list[Any] = []

    def on_start(ctx: ReadonlyContext) -> None:
        ctx.set(started_at, "t0")
        seen.append(("pipeline:start", ctx.get(started_at), ctx.get_or_none(missing)))

    async def mw(ctx: Context, next: Next) -> None:
        seen.append(("middleware", ctx.get(started_at)))
        await next()

    def handler(ctx: Context) -> None:
        seen.append(("handler", ctx.get(started_at)))

    router = WorkflowRouter(task_definition)
    router.on("pipeline:start", on_start)
    router.use(mw)
    router.state("Todo").on("Finish", handler)
    router.on(
        "pipeline:end", lambda ctx, result: seen.append(("pipeline:end", ctx.get(started_at)))
    )

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert seen == [
        ("pipeline:start", "t0", None),
        ("middleware", "t0"),
        ("handler", "t0"),
        ("pipeline:end", "t0"),
    ]


async def test_read_only_context_reads_show_the_provisional_values_in_pipeline_end() -> None:
    seen: list[Any] = []
    router = start_router()
    router.on("pipeline:end", lambda ctx, r: seen.append((ctx.state, ctx.data, ctx.events)))

    result = await router.dispatch(todo(), cmd("Start", assignee="ada"))

    assert seen == [("Doing", ok(result).data, result.events)]


# -- registration forms -----------------------------------------------------------------------


async def test_hooks_with_fewer_positional_args_get_the_leading_ones() -> None:
    seen: dict[str, list[Any]] = {"start": [], "end": [], "transition": [], "star": [], "event": []}

    def no_args() -> None:
        seen["start"].append("called")

    def only_workflow(wf: Workflow) -> None:
        seen["end"].append(wf)

    def from_to(from_state: str, to_state: str) -> None:
        seen["transition"].append((from_state, to_state))

    def star(*args: Any) -> None:
        seen["star"].append(len(args))

    def optional_extras(event: Event, wf: Any = None, more: Any = "default") -> None:
        seen["event"].append((event.type, wf, more))

    router = start_router()
    router.on("dispatch:start", no_args)
    router.on("dispatch:end", only_workflow)
    router.on("transition", from_to)
    router.on("transition", star)
    router.on("event", optional_extras)
    wf = todo()

    result = await router.dispatch(wf, cmd("Start", assignee="ada"))

    assert seen["start"] == ["called"]
    assert seen["end"] == [wf]
    assert seen["transition"] == [("Todo", "Doing")]
    assert seen["star"] == [3]
    # Accepts up to 3 positionally, but the event hook has 2 arguments: `more` keeps its default.
    assert seen["event"] == [
        ("Started", result.workflow, "default"),
        ("Finished", result.workflow, "default"),
    ]


async def test_hook_decorator_form_registers_and_returns_the_function() -> None:
    seen: list[tuple[str, str]] = []
    router = start_router()

    @router.on("transition")
    def on_transition(from_state: str, to_state: str, wf: Workflow) -> None:
        seen.append((from_state, to_state))

    ok(await router.dispatch(todo(), cmd("Start", assignee="ada")))

    assert seen == [("Todo", "Doing")]
    assert callable(on_transition)
    assert router.hooks("transition") == [on_transition]


async def test_dependency_failure_fires_error_and_pipeline_end() -> None:
    class Db:
        def get(self) -> None:
            raise ConnectionError("down")

    router = WorkflowRouter(task_definition, {"db": Db()})
    router.state("Todo").on("Finish", lambda ctx: ctx.deps.db.get())
    hooks = HookRecorder(router)

    result = await router.dispatch(todo(), cmd("Finish"))

    assert failed(result, DependencyFailure).name == "db"
    assert hooks.names == PIPELINE_FAILURE
    assert hooks.args("error")[0][0] is result.error
