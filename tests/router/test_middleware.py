"""Koa-style middleware: order, short-circuit, next() rules, errors, scoping (§4.2, §6)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporal_router import (
    Context,
    DomainErrorSignal,
    DomainFailure,
    Next,
    NextCalledTwiceError,
    UnexpectedFailure,
    ValidationError,
    WorkflowRouter,
)

from ._models import Doing, Todo, task_definition
from ._support import T1, cmd, failed, ok, todo


def recording(log: list[str], name: str) -> Any:
    """Async middleware that logs ``name>`` before and ``<name`` after ``next()``."""

    async def mw(ctx: Context, next: Next) -> None:
        log.append(f"{name}>")
        await next()
        log.append(f"<{name}")

    mw.__qualname__ = f"mw_{name}"
    return mw


def logging_handler(log: list[str]) -> Any:
    return lambda ctx: log.append("handler")


async def test_onion_order_global_state_inline_handler_inline_state_global() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.use(recording(log, "global1"))
    router.use(recording(log, "global2"))
    router.state("Todo").use(recording(log, "state"))
    router.state("Todo").on(
        "Finish", recording(log, "inline1"), recording(log, "inline2"), logging_handler(log)
    )

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == [
        "global1>",
        "global2>",
        "state>",
        "inline1>",
        "inline2>",
        "handler",
        "<inline2",
        "<inline1",
        "<state",
        "<global2",
        "<global1",
    ]


async def test_single_state_middleware_runs_before_multi_state_middleware() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.state(["Todo", "Doing"], lambda s: s.use(recording(log, "multi")))
    router.state("Todo").use(recording(log, "single"))
    router.state("Todo").on("Finish", logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["single>", "multi>", "handler", "<multi", "<single"]


# -- short-circuit ----------------------------------------------------------------------------


async def test_short_circuit_succeeds_with_unchanged_state_and_refreshed_updated_at() -> None:
    log: list[str] = []

    async def gate(ctx: Context, next: Next) -> None:
        log.append("gate")  # never calls next

    router = WorkflowRouter(task_definition)
    router.use(gate)
    router.state("Todo").on("Finish", recording(log, "inline"), logging_handler(log))
    wf = todo()

    result = await router.dispatch(wf, cmd("Finish"), now=T1)

    out = ok(result)
    assert log == ["gate"]
    assert (out.state, out.data) == (wf.state, wf.data)
    assert out.updated_at == T1
    assert out.created_at == wf.created_at
    assert result.events == []


async def test_short_circuit_keeps_the_middlewares_own_mutations() -> None:
    async def gate(ctx: Context, next: Next) -> None:
        ctx.update(priority=9)
        ctx.emit("Finished")

    router = WorkflowRouter(task_definition)
    router.use(gate)
    router.state("Todo").on("Finish", lambda ctx: ctx.update(priority=1))

    result = await router.dispatch(todo("t"), cmd("Finish"))

    assert ok(result).data == Todo(title="t", priority=9)
    assert [e.type for e in result.events] == ["Finished"]


# -- next() -----------------------------------------------------------------------------------


async def test_next_called_twice_is_unexpected_next_called_twice_error() -> None:
    async def twice(ctx: Context, next: Next) -> None:
        await next()
        await next()

    router = WorkflowRouter(task_definition)
    router.use(twice)
    router.state("Todo").on("Finish", lambda ctx: None)

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert isinstance(error.error, NextCalledTwiceError)
    assert error.message == "next() called multiple times"


async def test_awaiting_the_same_next_twice_is_next_called_twice_error() -> None:
    async def twice(ctx: Context, next: Next) -> None:
        step = next()
        await step
        await step

    router = WorkflowRouter(task_definition)
    router.use(twice)
    router.state("Todo").on("Finish", lambda ctx: None)

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert isinstance(error.error, NextCalledTwiceError)


async def test_next_called_twice_in_a_plain_def_middleware_is_unexpected() -> None:
    def twice(ctx: Context, next: Next) -> None:
        next()
        next()

    router = WorkflowRouter(task_definition)
    router.use(twice)
    router.state("Todo").on("Finish", lambda ctx: None)

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert isinstance(error.error, NextCalledTwiceError)


async def test_handler_runs_once_per_dispatch_through_several_middleware() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    for name in ("a", "b", "c"):
        router.use(recording(log, name))
    router.state("Todo").on("Finish", logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log.count("handler") == 1


# -- errors -----------------------------------------------------------------------------------


async def test_errors_propagate_outward_through_middleware() -> None:
    log: list[str] = []

    async def observer(ctx: Context, next: Next) -> None:
        log.append("observer>")
        try:
            await next()
        except DomainErrorSignal as exc:
            log.append(f"saw {exc.code}")
            raise
        log.append("<observer (not reached)")

    router = WorkflowRouter(task_definition)
    router.use(observer)
    router.state("Todo").on("Finish", lambda ctx: ctx.error("NotAllowed", {"reason": "r"}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure)

    assert error.code == "NotAllowed"
    assert log == ["observer>", "saw NotAllowed"]


async def test_outer_middleware_may_catch_then_dispatch_succeeds_and_keeps_pre_throw_mutations() -> (
    None
):
    async def swallow(ctx: Context, next: Next) -> None:
        try:
            await next()
        except (DomainErrorSignal, ValidationError, RuntimeError):
            ctx.emit("Finished")

    def handler(ctx: Context) -> None:
        ctx.update(priority=5)
        ctx.emit("Started", {"assignee": "ada"})
        ctx.error("NotAllowed", {"reason": "but caught"})

    router = WorkflowRouter(task_definition)
    router.use(swallow)
    router.state("Todo").on("Finish", handler)

    result = await router.dispatch(todo("t"), cmd("Finish"))

    assert ok(result).data == Todo(title="t", priority=5)
    assert [e.type for e in result.events] == ["Started", "Finished"]


async def test_middleware_error_before_next_skips_the_handler() -> None:
    log: list[str] = []

    async def guard(ctx: Context, next: Next) -> None:
        ctx.error("NotAllowed", {"reason": "guarded"})

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", guard, logging_handler(log))

    assert failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure).code == "NotAllowed"
    assert log == []


# -- after next() -----------------------------------------------------------------------------


async def test_mutations_after_next_are_included_in_the_result() -> None:
    async def after(ctx: Context, next: Next) -> None:
        await next()
        ctx.update(assignee="changed after next")
        ctx.emit("Finished")

    router = WorkflowRouter(task_definition)
    router.use(after)
    router.state("Todo").on(
        "Start",
        lambda ctx: ctx.transition(
            "Doing", {"title": "t", "assignee": ctx.command.payload.assignee}
        ),
    )

    result = await router.dispatch(todo(), cmd("Start", assignee="ada"))

    assert ok(result).data == Doing(title="t", assignee="changed after next")
    assert [e.type for e in result.events] == ["Finished"]


# -- scoping ----------------------------------------------------------------------------------


async def test_state_middleware_is_skipped_for_wildcard_handlers() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.use(recording(log, "global"))
    router.state("Todo").use(recording(log, "state"))
    router.state(["Todo"], lambda s: s.use(recording(log, "multi")))
    router.on("*", "Finish", recording(log, "inline"), logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["global>", "inline>", "handler", "<inline", "<global"]


async def test_multi_state_middleware_applies_to_single_state_handlers() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.state(["Todo", "Doing"], lambda s: s.use(recording(log, "multi")))
    router.state("Todo").on("Finish", logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["multi>", "handler", "<multi"]


async def test_single_state_middleware_applies_to_multi_state_handlers() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.state("Todo").use(recording(log, "single"))
    router.state(["Todo", "Doing"], lambda s: s.on("Finish", logging_handler(log)))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["single>", "handler", "<single"]


async def test_state_middleware_only_runs_in_its_own_state() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.state("Doing").use(recording(log, "doing-only"))
    router.on("*", "Rename", logging_handler(log))
    router.state("Todo").on("Finish", logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["handler"]


async def test_state_middleware_added_after_handler_registration_still_applies() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    builder = router.state("Todo")
    builder.on("Finish", logging_handler(log))
    ok(await router.dispatch(todo(), cmd("Finish")))  # route resolved (and cached) here
    builder.use(recording(log, "late"))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["handler", "late>", "handler", "<late"]


async def test_middleware_registered_later_affects_later_dispatches() -> None:
    log: list[str] = []
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", logging_handler(log))
    ok(await router.dispatch(todo(), cmd("Finish")))
    router.use(recording(log, "global"))
    ok(await router.dispatch(todo(), cmd("Finish")))
    router.state("Todo").on("Finish", lambda ctx: log.append("replacement"))
    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["handler", "global>", "handler", "<global", "global>", "replacement", "<global"]


# -- plain def middleware ---------------------------------------------------------------------


async def test_plain_def_middleware_returning_next_works() -> None:
    log: list[str] = []

    def passthrough(ctx: Context, next: Next) -> Any:
        log.append("def>")
        return next()

    router = WorkflowRouter(task_definition)
    router.use(passthrough)
    router.state("Todo").on("Finish", recording(log, "inline"), logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["def>", "inline>", "handler", "<inline"]


async def test_plain_def_middleware_just_calling_next_works() -> None:
    log: list[str] = []

    def passthrough(ctx: Context, next: Next) -> None:
        log.append("def>")
        next()

    router = WorkflowRouter(task_definition)
    router.use(passthrough)
    router.state("Todo").on("Finish", recording(log, "inline"), logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["def>", "inline>", "handler", "<inline"]


async def test_plain_def_middleware_not_calling_next_short_circuits() -> None:
    log: list[str] = []

    def gate(ctx: Context, next: Next) -> None:
        log.append("gate")

    router = WorkflowRouter(task_definition)
    router.use(gate)
    router.state("Todo").on("Finish", logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["gate"]


async def test_plain_def_middleware_sees_errors_from_inner_layers_in_the_result() -> None:
    def passthrough(ctx: Context, next: Next) -> Any:
        return next()

    router = WorkflowRouter(task_definition)
    router.use(passthrough)
    router.state("Todo").on("Finish", lambda ctx: ctx.error("NotAllowed", {"reason": "inner"}))

    assert failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure).code == "NotAllowed"


async def test_async_middleware_awaiting_other_work_around_next() -> None:
    log: list[str] = []

    async def slow(ctx: Context, next: Next) -> None:
        await asyncio.sleep(0)
        log.append("slow>")
        await next()
        await asyncio.sleep(0)
        log.append("<slow")

    router = WorkflowRouter(task_definition)
    router.use(slow)
    router.state("Todo").on("Finish", logging_handler(log))

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["slow>", "handler", "<slow"]
