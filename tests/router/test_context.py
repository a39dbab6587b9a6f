"""The per-dispatch context: reads, provisional mutations, events, domain errors, keys (§5)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from temporal_router import (
    Command,
    Context,
    ContextKeyNotSetError,
    DomainFailure,
    UnexpectedFailure,
    UnknownNameError,
    ValidationError,
    ValidationFailure,
    WorkflowRouter,
    create_key,
)

from ._models import Doing, Done, NotAllowed, Start, Started, Todo, task_definition
from ._support import HookRecorder, cmd, failed, ok, snapshot, todo


class TodoPatch(BaseModel):
    """A partial Todo: every field has a default."""

    title: str = "default title"
    priority: int = 0


def run_in(state: str, command: str, handler: Any) -> WorkflowRouter:
    """A Task router with just ``handler`` for ``command`` in ``state``."""
    router = WorkflowRouter(task_definition)
    router.state(state).on(command, handler)
    return router


# -- reads ------------------------------------------------------------------------------------


async def test_ctx_command_is_the_validated_command() -> None:
    seen: list[Command] = []
    router = run_in("Todo", "Start", lambda ctx: seen.append(ctx.command))

    ok(await router.dispatch(todo(), cmd("Start", assignee="ada", unknown="stripped")))

    [command] = seen
    assert isinstance(command, Command)
    assert command.type == "Start"
    assert command.payload == Start(assignee="ada")
    assert isinstance(command.payload, Start)


async def test_ctx_workflow_is_a_copy_of_the_input() -> None:
    seen: list[Any] = []
    router = run_in("Todo", "Finish", lambda ctx: seen.append(ctx.workflow))
    wf = todo("original", priority=2)

    ok(await router.dispatch(wf, cmd("Finish")))

    [seen_wf] = seen
    assert seen_wf == wf
    assert seen_wf is not wf
    assert seen_wf.data is not wf.data


async def test_ctx_workflow_never_reflects_provisional_mutations() -> None:
    seen: list[tuple[str, str]] = []

    def handler(ctx: Context) -> None:
        ctx.update(title="changed")
        ctx.transition("Doing", {"title": "moved", "assignee": "ada"})
        seen.append((ctx.workflow.state, ctx.workflow.data.title))  # type: ignore[attr-defined]

    ok(await run_in("Todo", "Finish", handler).dispatch(todo("original"), cmd("Finish")))

    assert seen == [("Todo", "original")]


async def test_ctx_data_returns_a_fresh_copy_on_every_read() -> None:
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        first = ctx.data
        first.title = "assigned to the copy"
        seen.extend([first, ctx.data])

    wf = todo("original")
    out = ok(await run_in("Todo", "Finish", handler).dispatch(wf, cmd("Finish")))

    first, second = seen
    assert first is not second
    assert second.title == "original"
    assert out.data.title == "original"  # type: ignore[attr-defined]
    assert wf.data.title == "original"  # type: ignore[attr-defined]


async def test_ctx_data_reflects_the_provisional_data() -> None:
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        ctx.update(priority=7)
        seen.append(ctx.data)
        ctx.transition("Doing", {"title": "t", "assignee": "ada"})
        seen.append(ctx.data)

    ok(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")))

    assert seen == [Todo(title="write tests", priority=7), Doing(title="t", assignee="ada")]


async def test_ctx_state_is_the_provisional_state() -> None:
    seen: list[str] = []

    def handler(ctx: Context) -> None:
        seen.append(ctx.state)
        ctx.transition("Doing", {"title": "t", "assignee": "ada"})
        seen.append(ctx.state)

    ok(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")))

    assert seen == ["Todo", "Doing"]


# -- update -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda ctx: ctx.update(priority=5),
        lambda ctx: ctx.update({"priority": 5}),
        lambda ctx: ctx.update(TodoPatch(priority=5)),
    ],
    ids=["kwargs", "dict", "model"],
)
async def test_update_merges_into_the_current_data(call: Any) -> None:
    out = ok(await run_in("Todo", "Finish", call).dispatch(todo("keep me"), cmd("Finish")))

    assert out.data == Todo(title="keep me", priority=5)
    assert out.state == "Todo"


async def test_update_with_a_model_merges_only_the_fields_it_set() -> None:
    """A model argument contributes its explicitly set fields, not its defaults."""
    out = ok(
        await run_in("Todo", "Finish", lambda ctx: ctx.update(TodoPatch(priority=5))).dispatch(
            todo("keep me"), cmd("Finish")
        )
    )

    assert out.data.title == "keep me"  # type: ignore[attr-defined]


async def test_update_keeps_fields_not_mentioned() -> None:
    out = ok(
        await run_in("Todo", "Finish", lambda ctx: ctx.update(priority=5)).dispatch(
            todo("keep me"), cmd("Finish")
        )
    )

    assert out.data == Todo(title="keep me", priority=5)


async def test_update_keyword_arguments_win_over_the_mapping() -> None:
    handler = run_in("Todo", "Finish", lambda ctx: ctx.update({"priority": 1}, priority=2))

    assert ok(await handler.dispatch(todo(), cmd("Finish"))).data.priority == 2  # type: ignore[attr-defined]


async def test_update_replaces_data_with_the_parsed_output() -> None:
    out = ok(
        await run_in("Todo", "Finish", lambda ctx: ctx.update(priority="3", junk=1)).dispatch(
            todo(), cmd("Finish")
        )
    )

    assert out.data.priority == 3  # type: ignore[attr-defined]
    assert "junk" not in out.data.model_dump()


async def test_update_failure_is_validation_source_state() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.update(priority="high"))

    error = failed(await router.dispatch(todo(), cmd("Finish")), ValidationFailure)

    assert error.source == "state"
    assert error.message.startswith("Validation failed (state): priority")


async def test_update_validates_against_the_current_state() -> None:
    """``priority`` exists on Todo, so a bad value fails there."""
    router = run_in("Todo", "Finish", lambda ctx: ctx.update(priority="high"))

    assert failed(await router.dispatch(todo(), cmd("Finish")), ValidationFailure).source == "state"


async def test_update_after_transition_validates_against_the_target_state() -> None:
    """After a transition to Doing (no ``priority``; ``assignee`` required), update checks Doing."""

    def lenient(ctx: Context) -> None:
        ctx.transition("Doing", {"title": "t", "assignee": "ada"})
        ctx.update(priority="high")  # invalid for Todo, ignored by Doing
        ctx.update(assignee="bob")

    def strict(ctx: Context) -> None:
        ctx.transition("Doing", {"title": "t", "assignee": "ada"})
        ctx.update(assignee=None)  # valid for Todo (ignored there), invalid for Doing

    out = ok(await run_in("Todo", "Finish", lenient).dispatch(todo(), cmd("Finish")))
    error = failed(
        await run_in("Todo", "Finish", strict).dispatch(todo(), cmd("Finish")), ValidationFailure
    )

    assert out.data == Doing(title="t", assignee="bob")
    assert error.source == "state"
    assert [tuple(i["loc"]) for i in error.issues] == [("assignee",)]


async def test_failed_update_leaves_the_provisional_data_unchanged() -> None:
    def handler(ctx: Context) -> None:
        ctx.update(priority=4)
        with pytest.raises(ValidationError):
            ctx.update(priority="high", title="half-applied?")

    out = ok(await run_in("Todo", "Finish", handler).dispatch(todo("t"), cmd("Finish")))

    assert out.data == Todo(title="t", priority=4)


# -- transition -------------------------------------------------------------------------------


async def test_transition_replaces_data_entirely() -> None:
    def handler(ctx: Context) -> None:
        ctx.update(title="updated first")
        ctx.transition("Doing", {"title": "fresh", "assignee": "ada"})

    out = ok(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")))

    assert (out.state, out.data) == ("Doing", Doing(title="fresh", assignee="ada"))


async def test_transition_does_not_carry_over_current_fields() -> None:
    """Doing needs ``title``; the current Todo data has one, but it is not carried over."""
    router = run_in("Todo", "Finish", lambda ctx: ctx.transition("Doing", {"assignee": "ada"}))

    error = failed(await router.dispatch(todo("has a title"), cmd("Finish")), ValidationFailure)

    assert error.source == "transition"
    assert [tuple(i["loc"]) for i in error.issues] == [("title",)]
    assert error.message.startswith("Validation failed (transition): title")


async def test_transition_accepts_a_model_and_parses_it() -> None:
    router = run_in(
        "Todo", "Finish", lambda ctx: ctx.transition("Done", Doing(title="t", assignee="ada"))
    )

    out = ok(await router.dispatch(todo(), cmd("Finish")))

    assert out.data == Done(title="t", assignee="ada")
    assert isinstance(out.data, Done)


async def test_transition_to_unknown_state_is_unexpected() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.transition("Archived", {}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert isinstance(error.error, UnknownNameError)
    assert error.message == "Unknown state: Archived"


async def test_repeated_transitions_last_one_wins() -> None:
    def handler(ctx: Context) -> None:
        ctx.transition("Doing", {"title": "a", "assignee": "ada"})
        ctx.transition("Done", {"title": "b", "assignee": "bob"})

    router = run_in("Todo", "Finish", handler)
    hooks = HookRecorder(router)

    out = ok(await router.dispatch(todo(), cmd("Finish")))

    assert (out.state, out.data) == ("Done", Done(title="b", assignee="bob"))
    assert [args[:2] for args in hooks.args("transition")] == [("Todo", "Done")]


async def test_transition_back_to_the_input_state_fires_no_transition_hook() -> None:
    def handler(ctx: Context) -> None:
        ctx.transition("Doing", {"title": "a", "assignee": "ada"})
        ctx.transition("Todo", {"title": "back"})

    router = run_in("Todo", "Finish", handler)
    hooks = HookRecorder(router)

    out = ok(await router.dispatch(todo(), cmd("Finish")))

    assert (out.state, out.data) == ("Todo", Todo(title="back"))
    assert hooks.args("transition") == []


async def test_transition_to_same_state_replaces_data_without_transition_hook() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.transition("Todo", {"title": "new"}))
    hooks = HookRecorder(router)

    out = ok(await router.dispatch(todo("old", priority=9), cmd("Finish")))

    assert out.data == Todo(title="new", priority=0)
    assert "transition" not in hooks.names


# -- emit and events ----------------------------------------------------------------------------


async def test_emit_unknown_event_is_unexpected() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.emit("Exploded", {}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert isinstance(error.error, UnknownNameError)
    assert error.message == "Unknown event: Exploded"


async def test_emit_invalid_data_is_validation_source_event() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.emit("Started", {"assignee": 3}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), ValidationFailure)

    assert error.source == "event"
    assert error.message.startswith("Validation failed (event): assignee")


async def test_emit_appends_the_parsed_event() -> None:
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        ctx.emit("Started", {"assignee": "ada", "extra": "dropped"})
        seen.append(ctx.events)

    result = await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish"))

    [[event]] = seen
    assert (event.type, event.data) == ("Started", Started(assignee="ada"))
    assert result.events == [event]


async def test_events_getter_returns_a_copy() -> None:
    seen: list[int] = []

    def handler(ctx: Context) -> None:
        ctx.emit("Finished")
        events = ctx.events
        events.clear()
        seen.append(len(ctx.events))

    result = await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish"))

    ok(result)
    assert seen == [1]
    assert [e.type for e in result.events] == ["Finished"]


# -- error ------------------------------------------------------------------------------------


async def test_error_unknown_code_is_unexpected() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.error("Nope", {}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert isinstance(error.error, UnknownNameError)
    assert error.message == "Unknown error: Nope"


async def test_error_invalid_data_is_validation_source_error_improvement() -> None:
    """Ours: invalid error data is ``validation`` source ``error`` (the reference: ``unexpected``)."""
    router = run_in("Todo", "Finish", lambda ctx: ctx.error("NotAllowed", {"reason": 5}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), ValidationFailure)

    assert error.source == "error"
    assert [tuple(i["loc"]) for i in error.issues] == [("reason",)]
    assert error.message.startswith("Validation failed (error): reason")


async def test_error_valid_data_is_domain_with_parsed_data() -> None:
    router = run_in("Todo", "Finish", lambda ctx: ctx.error("NotAllowed", {"reason": "no", "x": 1}))

    error = failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure)

    assert (error.code, error.data) == ("NotAllowed", NotAllowed(reason="no"))
    assert isinstance(error.data, NotAllowed)


async def test_code_after_error_does_not_run() -> None:
    reached: list[str] = []

    def handler(ctx: Any) -> None:  # Any: the checker knows error() never returns
        ctx.error("NotAllowed", {"reason": "stop"})
        reached.append("after error()")

    failed(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")), DomainFailure)

    assert reached == []


# -- rollback ---------------------------------------------------------------------------------


async def test_failure_rolls_back_provisional_mutations() -> None:
    def handler(ctx: Context) -> None:
        ctx.update(priority=3)
        ctx.transition("Doing", {"title": "t", "assignee": "ada"})
        ctx.emit("Started", {"assignee": "ada"})
        ctx.error("NotAllowed", {"reason": "late"})

    router = run_in("Todo", "Finish", handler)
    hooks = HookRecorder(router)
    wf = todo()
    before = snapshot(task_definition, wf)

    result = await router.dispatch(wf, cmd("Finish"))

    failed(result, DomainFailure)  # also checks: no workflow, no events
    assert snapshot(task_definition, wf) == before
    assert "transition" not in hooks.names
    assert "event" not in hooks.names


async def test_pipeline_end_context_shows_provisional_values_at_the_throw() -> None:
    """On failure the hook context still shows what the chain did before the throw."""
    seen: list[tuple[str, list[str]]] = []

    def handler(ctx: Context) -> None:
        ctx.transition("Doing", {"title": "t", "assignee": "ada"})
        ctx.emit("Started", {"assignee": "ada"})
        raise RuntimeError("late")

    router = run_in("Todo", "Finish", handler)
    router.on(
        "pipeline:end", lambda ctx, result: seen.append((ctx.state, [e.type for e in ctx.events]))
    )

    failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert seen == [("Doing", ["Started"])]


# -- context keys -----------------------------------------------------------------------------


def test_create_key_with_same_name_gives_distinct_keys() -> None:
    a, b = create_key("user"), create_key("user")

    assert a is not b
    assert a != b
    assert a.name == b.name == "user"


async def test_keys_with_the_same_name_hold_separate_values() -> None:
    a, b = create_key("user"), create_key("user")
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        ctx.set(a, "ada")
        seen.extend([ctx.get(a), ctx.get_or_none(b)])

    ok(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")))

    assert seen == ["ada", None]


async def test_get_unset_key_raises_context_key_not_set_error() -> None:
    key = create_key("tenant")
    raised: list[ContextKeyNotSetError] = []

    def handler(ctx: Context) -> None:
        with pytest.raises(ContextKeyNotSetError) as info:
            ctx.get(key)
        raised.append(info.value)
        ctx.get(key)  # uncaught: becomes unexpected

    error = failed(
        await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")), UnexpectedFailure
    )

    assert "tenant" in str(raised[0])
    assert isinstance(error.error, ContextKeyNotSetError)


async def test_key_set_to_none_returns_none() -> None:
    key = create_key("maybe")
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        ctx.set(key, None)
        seen.append(ctx.get(key))  # no raise: it was set

    ok(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")))

    assert seen == [None]


async def test_get_or_none_returns_value_or_none() -> None:
    key = create_key("k")
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        seen.append(ctx.get_or_none(key))
        ctx.set(key, 42)
        seen.append(ctx.get_or_none(key))
        ctx.set(key, 43)
        seen.append(ctx.get(key))

    ok(await run_in("Todo", "Finish", handler).dispatch(todo(), cmd("Finish")))

    assert seen == [None, 42, 43]


async def test_context_key_storage_is_per_dispatch() -> None:
    key = create_key("counter")
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        seen.append(ctx.get_or_none(key))
        ctx.set(key, "set in this dispatch")

    router = run_in("Todo", "Finish", handler)
    ok(await router.dispatch(todo(), cmd("Finish")))
    ok(await router.dispatch(todo(), cmd("Finish")))

    assert seen == [None, None]


async def test_context_is_shared_by_middleware_and_handler() -> None:
    key = create_key("who")
    seen: list[Any] = []

    async def mw(ctx: Context, next: Any) -> None:
        ctx.set(key, "middleware")
        await next()
        seen.append(ctx.get(key))

    def handler(ctx: Context) -> None:
        seen.append(ctx.get(key))
        ctx.set(key, "handler")

    router = WorkflowRouter(task_definition)
    router.use(mw)
    router.state("Todo").on("Finish", handler)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert seen == ["middleware", "handler"]


_PUBLISHING_SCRIPT = """
import asyncio, importlib
from temporal_router import WorkflowRouter
from temporal_router.router._context import current_context
from tests.router._models import task_definition
from tests.router._support import cmd, todo

seen = []
router = WorkflowRouter(task_definition)
router.state("Todo").on("Start", lambda ctx: seen.append(current_context.get()))

async def main():
    await router.dispatch(todo(), cmd("Start", assignee="ada"))
    importlib.import_module("temporal_router.workflows._hooks")  # the reader
    await router.dispatch(todo(), cmd("Start", assignee="ada"))

asyncio.run(main())
print(seen[0] is None, type(seen[1]).__name__, current_context.get() is None)
"""


def test_dispatch_publishes_its_context_once_its_reader_is_imported() -> None:
    # The durable hook module (temporal_router.workflows._hooks), the only reader of current_context, turns publishing on
    # when imported; a process that never imports it skips the ContextVar work. Its own
    # process: publishing is process-wide, and other tests import the adapter.
    completed = subprocess.run(
        [sys.executable, "-c", _PUBLISHING_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "True Context True"
