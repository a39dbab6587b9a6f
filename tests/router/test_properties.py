"""Property tests: dispatch never raises, always categorises, never touches its input."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from temporal_router import (
    HOOK_EVENTS,
    Command,
    Context,
    DependencyFailure,
    DispatchResult,
    DomainErrorSignal,
    DomainFailure,
    Next,
    RouterFailure,
    UnexpectedFailure,
    ValidationError,
    ValidationFailure,
    Workflow,
    WorkflowDefinition,
    WorkflowRouter,
)

from ._models import basket_definition, task_definition
from ._support import cmd

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

CATEGORY_CLASSES: dict[str, type] = {
    "validation": ValidationFailure,
    "domain": DomainFailure,
    "router": RouterFailure,
    "dependency": DependencyFailure,
    "unexpected": UnexpectedFailure,
}

# -- strategies -------------------------------------------------------------------------------

texts = st.text(max_size=20)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)

command_types = st.sampled_from(
    ["Start", "Finish", "Rename", "AddItem", "CloseBasket", "Touch", "Fly", ""]
) | st.text(max_size=8)

# Payloads close to valid ones, so that handlers actually run, plus arbitrary JSON.
payloads = st.one_of(
    st.fixed_dictionaries({"assignee": st.text(max_size=6) | json_values}),
    st.fixed_dictionaries({"title": st.text(max_size=6) | json_values}),
    st.fixed_dictionaries({"item": st.text(max_size=6)}),
    st.fixed_dictionaries({"reason": st.text(max_size=6)}),
    st.just({}),
    json_values,
)

# Well-formed commands with random text, per definition: these reach the handlers.
task_commands = st.one_of(
    st.builds(lambda a: {"type": "Start", "payload": {"assignee": a}}, texts),
    st.just({"type": "Finish"}),
    st.builds(lambda t: Command("Rename", {"title": t}), texts),
)
basket_commands = st.one_of(
    st.builds(lambda i: {"type": "AddItem", "payload": {"item": i}}, texts),
    st.builds(lambda r: Command("CloseBasket", {"reason": r}), texts),
    st.just(Command("Touch")),
)

commands = st.one_of(
    st.builds(lambda a: {"type": "Start", "payload": {"assignee": a}}, texts),
    st.just({"type": "Finish"}),
    st.builds(lambda t: {"type": "Rename", "payload": {"title": t}}, texts),
    st.builds(lambda i: {"type": "AddItem", "payload": {"item": i}}, texts),
    st.builds(lambda r: Command("CloseBasket", {"reason": r}), texts),
    st.just(Command("Touch")),
)

commands = st.one_of(
    st.builds(lambda t, p: {"type": t, "payload": p}, command_types, payloads),
    st.builds(lambda t: {"type": t}, command_types),
    st.builds(Command, command_types, payloads),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    json_values,
    st.builds(lambda t, p: {"type": t, "payload": p}, json_values, payloads),
)

moments = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@st.composite
def task_workflows(draw: st.DrawFn) -> Workflow:
    state = draw(st.sampled_from(["Todo", "Doing", "Done"]))
    title = draw(texts)
    data: dict[str, Any] = {"title": title}
    if state == "Todo":
        data["priority"] = draw(st.integers(min_value=-(2**53), max_value=2**53))
    else:
        data["assignee"] = draw(texts)
    created = draw(moments)
    updated = draw(moments)
    wf = task_definition.create_workflow(
        draw(st.text(min_size=1, max_size=10)), initial_state=state, data=data, now=created
    )
    return Workflow(wf.id, wf.definition_name, wf.state, wf.data, wf.created_at, updated)


@st.composite
def basket_workflows(draw: st.DrawFn) -> Workflow:
    state = draw(st.sampled_from(["Open", "Closed", "Loose"]))
    items = draw(st.lists(texts, max_size=4))
    if state == "Open":
        data: dict[str, Any] = {"items": items, "meta": {"tags": draw(st.lists(texts, max_size=3))}}
    elif state == "Closed":
        data = {"items": items, "reason": draw(texts)}
    else:
        data = {"label": draw(texts), "notes": items}
    return basket_definition.create_workflow(
        draw(st.text(min_size=1, max_size=10)), initial_state=state, data=data, now=draw(moments)
    )


# -- routers ----------------------------------------------------------------------------------


def task_router() -> WorkflowRouter:
    router = WorkflowRouter(task_definition, on_hook_error=lambda exc: None)

    def start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})
        if ctx.command.payload.assignee == "":
            ctx.error("NotAllowed", {"reason": "empty assignee"})

    def finish(ctx: Context) -> None:
        ctx.transition("Done", ctx.data)
        ctx.emit("Finished")

    def rename(ctx: Context) -> None:
        ctx.update(title=ctx.command.payload.title)
        if len(ctx.command.payload.title) > 4:
            raise RuntimeError("long titles are a bug")

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Finish", finish)
    router.on("*", "Rename", rename)
    return router


def basket_router() -> WorkflowRouter:
    router = WorkflowRouter(basket_definition, on_hook_error=lambda exc: None)

    async def add(ctx: Context) -> None:
        ctx.data.items.append("mutated a copy")
        ctx.workflow.data.items.append("mutated a copy")  # type: ignore[attr-defined]
        ctx.update(items=[*ctx.data.items, ctx.command.payload.item])
        ctx.emit("ItemAdded", {"item": ctx.command.payload.item})
        if len(ctx.data.items) > 3:
            ctx.error("BasketFull", {"limit": 3})

    def close(ctx: Context) -> None:
        ctx.transition("Closed", {"items": ctx.data.items, "reason": ctx.command.payload.reason})

    def touch(ctx: Context) -> None:
        if ctx.state == "Loose":
            ctx.data.notes.append("mutated a copy")
            ctx.workflow.data.notes.clear()  # type: ignore[attr-defined]
            raise KeyError("touch")

    router.state("Open").on("AddItem", add)
    router.state(["Open", "Loose"], lambda s: s.on("CloseBasket", close))
    router.on("*", "Touch", touch)
    return router


ROUTERS: dict[str, tuple[WorkflowDefinition, WorkflowRouter, Any, Any]] = {
    "task": (task_definition, task_router(), task_workflows(), task_commands),
    "basket": (basket_definition, basket_router(), basket_workflows(), basket_commands),
}


def assert_categorised(result: DispatchResult, definition: WorkflowDefinition) -> None:
    assert isinstance(result, DispatchResult)
    note_event("ok" if result.ok else f"{result.error.category}" if result.error else "?")
    if result.ok:
        assert result.error is None
        assert result.workflow is not None
        assert definition.has_state(result.workflow.state)
        assert isinstance(result.workflow.data, definition.get_state_schema(result.workflow.state))
        for event in result.events:
            assert isinstance(event.data, definition.get_event_schema(event.type))
    else:
        assert result.workflow is None
        assert result.events == []
        error = result.error
        assert error is not None
        assert isinstance(error, CATEGORY_CLASSES[error.category])
        assert isinstance(error.message, str)
        assert error.message


# -- properties -------------------------------------------------------------------------------


@SETTINGS
@given(
    which=st.sampled_from(sorted(ROUTERS)),
    data=st.data(),
    arbitrary=st.booleans(),
)
async def test_random_commands_never_raise_and_always_give_a_categorised_result(
    which: str, data: st.DataObject, arbitrary: bool
) -> None:
    definition, router, workflows, plausible = ROUTERS[which]
    wf = data.draw(workflows)
    command = data.draw(commands if arbitrary else plausible)

    result = await router.dispatch(wf, command)

    assert_categorised(result, definition)


@SETTINGS
@given(
    which=st.sampled_from(sorted(ROUTERS)),
    data=st.data(),
    arbitrary=st.booleans(),
)
async def test_dispatch_never_changes_the_input_workflow(
    which: str, data: st.DataObject, arbitrary: bool
) -> None:
    definition, router, workflows, plausible = ROUTERS[which]
    wf = data.draw(workflows)
    command = data.draw(commands if arbitrary else plausible)
    before = definition.serialize(wf)

    result = await router.dispatch(wf, command)

    assert_categorised(result, definition)
    assert definition.serialize(wf) == before
    if result.ok:
        assert result.workflow is not None
        assert result.workflow.created_at == wf.created_at
        assert result.workflow.id == wf.id


@SETTINGS
@given(data=st.data(), which=st.sampled_from(sorted(ROUTERS)))
def test_serialize_deserialize_round_trip(data: st.DataObject, which: str) -> None:
    definition, _, workflows, _ = ROUTERS[which]
    wf = data.draw(workflows)

    snapshot = definition.serialize(wf)
    through_json = json.loads(json.dumps(snapshot))
    restored = definition.deserialize(through_json)

    assert restored.ok, restored.error
    assert restored.workflow is not None
    assert restored.workflow == wf
    assert definition.serialize(restored.workflow) == snapshot


# -- failure injection ------------------------------------------------------------------------


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot print me")


def _exception(kind: str) -> Exception:
    if kind == "runtime":
        return RuntimeError("injected")
    if kind == "key":
        return KeyError("injected")
    if kind == "domain":
        return DomainErrorSignal("NotAllowed", {"reason": "injected"})
    if kind == "validation":
        return ValidationError("state", [{"loc": ("x",), "msg": "injected"}])
    if kind == "unprintable":
        return _Unprintable()
    return Exception()


exception_kinds = st.sampled_from(
    ["runtime", "key", "domain", "validation", "unprintable", "empty"]
)


@dataclass(frozen=True)
class Fault:
    """What one middleware or hook does: behave, raise before/after next, or misuse next."""

    mode: str  # ok | raise | raise-after | skip-next | next-twice | swallow
    exception: str
    is_async: bool


faults = st.builds(
    Fault,
    st.sampled_from(["ok", "ok", "raise", "raise-after", "skip-next", "next-twice", "swallow"]),
    exception_kinds,
    st.booleans(),
)


def _middleware(fault: Fault) -> Any:
    async def run(ctx: Context, next: Next) -> None:
        if fault.mode == "raise":
            raise _exception(fault.exception)
        if fault.mode == "skip-next":
            return
        if fault.mode == "swallow":
            try:
                await next()
            except Exception:
                ctx.emit("Finished")
            return
        await next()
        if fault.mode == "next-twice":
            await next()
        if fault.mode == "raise-after":
            raise _exception(fault.exception)

    if fault.is_async:
        return run

    def sync(ctx: Context, next: Next) -> Any:
        if fault.mode in ("raise", "raise-after"):
            raise _exception(fault.exception)
        if fault.mode == "skip-next":
            return None
        if fault.mode == "next-twice":
            next()
            next()
        return next()

    return sync


def _hook(fault: Fault, log: list[str], event: str) -> Any:
    def sync(*args: Any) -> None:
        log.append(event)
        if fault.mode != "ok":
            raise _exception(fault.exception)

    async def run(*args: Any) -> None:
        await asyncio.sleep(0)
        sync(*args)

    return run if fault.is_async else sync


@SETTINGS
@given(
    global_faults=st.lists(faults, max_size=3),
    state_fault=faults,
    inline_fault=faults,
    handler_fault=st.sampled_from(["ok", "raise", "error", "transition-invalid", "emit-unknown"]),
    hook_faults=st.fixed_dictionaries({event: faults for event in HOOK_EVENTS}),
    reporter=st.sampled_from(["default", "swallow", "raise", "raise-async"]),
    handler_exception=exception_kinds,
    command=st.sampled_from([cmd("Start", assignee="ada")] * 5 + [cmd("Fly"), cmd("Start")]),
)
async def test_injected_middleware_and_hook_failures_never_make_dispatch_raise(
    global_faults: list[Fault],
    state_fault: Fault,
    inline_fault: Fault,
    handler_fault: str,
    hook_faults: dict[str, Fault],
    reporter: str,
    handler_exception: str,
    command: dict[str, Any],
) -> None:
    def raise_in_reporter(exc: BaseException) -> None:
        raise RuntimeError("reporter failed")

    async def raise_async_in_reporter(exc: BaseException) -> None:
        raise RuntimeError("async reporter failed")

    on_hook_error: Any = {
        "default": None,
        "swallow": lambda exc: None,
        "raise": raise_in_reporter,
        "raise-async": raise_async_in_reporter,
    }[reporter]
    router = WorkflowRouter(task_definition, on_hook_error=on_hook_error)
    log: list[str] = []
    for fault in global_faults:
        router.use(_middleware(fault))
    router.state("Todo").use(_middleware(state_fault))

    def handler(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": "ada"})
        ctx.emit("Started", {"assignee": "ada"})
        if handler_fault == "raise":
            raise _exception(handler_exception)
        if handler_fault == "error":
            ctx.error("NotAllowed", {"reason": "r"})
        if handler_fault == "transition-invalid":
            ctx.transition("Done", {})
        if handler_fault == "emit-unknown":
            ctx.emit("Nope", {})

    router.state("Todo").on("Start", _middleware(inline_fault), handler)
    for event, fault in hook_faults.items():
        router.on(event, _hook(fault, log, event))  # type: ignore[call-overload]
    wf = task_definition.create_workflow("w", initial_state="Todo", data={"title": "t"})
    before = task_definition.serialize(wf)

    result = await router.dispatch(wf, command)

    assert_categorised(result, task_definition)
    assert task_definition.serialize(wf) == before
    assert log[0] == "dispatch:start"
    assert log[-1] == "dispatch:end"
    assert log.count("dispatch:end") == 1
    assert log.count("pipeline:start") == log.count("pipeline:end") <= 1
    if "pipeline:start" in log:
        assert log.index("pipeline:start") < log.index("pipeline:end") < log.index("dispatch:end")
    assert ("error" in log) == ("pipeline:start" in log and not result.ok)
