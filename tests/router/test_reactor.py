"""Reactors: events -> follow-up commands, pure (reference §13)."""

from __future__ import annotations

import pytest

from temporal_router import (
    Command,
    ConfigurationError,
    Context,
    Event,
    ReactorCommand,
    ReactorContext,
    Reactors,
    WorkflowRouter,
    create_reactors,
)

from ._models import Finished, Started, make_task_definition

STARTED = Event("Started", Started(assignee="ada"))
FINISHED = Event("Finished", Finished())


def _command(tag: str, workflow_id: str = "other-1") -> ReactorCommand:
    return ReactorCommand(workflow_id, "Other", Command("Ping", {"tag": tag}))


def _tag(command: ReactorCommand) -> str:
    payload = command.command.payload
    assert isinstance(payload, dict)
    return str(payload["tag"])


def test_create_reactors_returns_empty_reactors() -> None:
    reactors = create_reactors()
    assert isinstance(reactors, Reactors)
    assert reactors.resolve(WorkflowRouter(make_task_definition()), "t-1", [STARTED]) == []


def test_reactors_on_is_chainable() -> None:
    router = WorkflowRouter(make_task_definition())
    reactors = create_reactors()
    assert reactors.on(router, "Started", lambda rc: None) is reactors


def test_reactors_handler_receives_event_and_workflow_id() -> None:
    router = WorkflowRouter(make_task_definition())
    seen: list[ReactorContext] = []

    def handler(rc: ReactorContext) -> None:
        seen.append(rc)

    create_reactors().on(router, "Started", handler).resolve(router, "t-7", [STARTED])
    assert seen == [ReactorContext(STARTED, "t-7")]


def test_reactors_resolve_in_event_order_then_registration_order() -> None:
    router = WorkflowRouter(make_task_definition())
    reactors = (
        create_reactors()
        .on(router, "Finished", lambda rc: _command("finished-1"))
        .on(router, "Started", lambda rc: _command("started-1"))
        .on(router, "Started", lambda rc: _command("started-2"))
        .on(router, "Finished", lambda rc: _command("finished-2"))
    )
    commands = reactors.resolve(router, "t-1", [STARTED, FINISHED, STARTED])
    assert [_tag(c) for c in commands] == [
        "started-1",
        "started-2",
        "finished-1",
        "finished-2",
        "started-1",
        "started-2",
    ]


def test_reactors_skip_none() -> None:
    router = WorkflowRouter(make_task_definition())
    reactors = (
        create_reactors()
        .on(router, "Started", lambda rc: None)
        .on(router, "Started", lambda rc: _command("kept"))
    )
    assert [_tag(c) for c in reactors.resolve(router, "t-1", [STARTED])] == ["kept"]


def test_reactors_flatten_lists() -> None:
    router = WorkflowRouter(make_task_definition())
    reactors = (
        create_reactors()
        .on(router, "Started", lambda rc: [_command("a"), _command("b")])
        .on(router, "Started", lambda rc: [])
        .on(router, "Started", lambda rc: _command("c"))
    )
    assert [_tag(c) for c in reactors.resolve(router, "t-1", [STARTED])] == ["a", "b", "c"]


def test_reactors_return_commands_unchanged() -> None:
    router = WorkflowRouter(make_task_definition())
    command = _command("same", workflow_id="ship-t-1")
    reactors = create_reactors().on(router, "Started", lambda rc: command)
    assert reactors.resolve(router, "t-1", [STARTED]) == [command]
    assert reactors.resolve(router, "t-1", [STARTED])[0] is command


def test_reactors_ignore_other_definitions() -> None:
    tasks = WorkflowRouter(make_task_definition("Task"))
    chores = WorkflowRouter(make_task_definition("Chore"))
    reactors = (
        create_reactors()
        .on(tasks, "Started", lambda rc: _command("task"))
        .on(chores, "Started", lambda rc: _command("chore"))
    )
    assert [_tag(c) for c in reactors.resolve(tasks, "t-1", [STARTED])] == ["task"]
    assert [_tag(c) for c in reactors.resolve(chores, "c-1", [STARTED])] == ["chore"]


def test_reactors_ignore_unregistered_event_types() -> None:
    router = WorkflowRouter(make_task_definition())
    reactors = create_reactors().on(router, "Started", lambda rc: _command("s"))
    assert reactors.resolve(router, "t-1", [FINISHED]) == []


def test_reactors_unknown_event_type_at_registration_raises_configuration_error() -> None:
    # Improvement: the reference accepts any string and the reactor silently never fires.
    router = WorkflowRouter(make_task_definition())
    with pytest.raises(ConfigurationError, match="Startd") as info:
        create_reactors().on(router, "Startd", lambda rc: None)
    assert "'Task'" in str(info.value)


def test_reactors_non_callable_handler_raises_type_error() -> None:
    router = WorkflowRouter(make_task_definition())
    with pytest.raises(TypeError, match="reactor handler must be callable"):
        create_reactors().on(router, "Started", "not a handler")  # type: ignore[arg-type]


def test_reactors_handler_exception_propagates() -> None:
    router = WorkflowRouter(make_task_definition())

    def explode(rc: ReactorContext) -> None:
        raise RuntimeError("reactor bug")

    reactors = create_reactors().on(router, "Started", explode)
    with pytest.raises(RuntimeError, match="reactor bug"):
        reactors.resolve(router, "t-1", [STARTED])


async def test_reactors_do_not_dispatch() -> None:
    definition = make_task_definition()
    router = WorkflowRouter(definition)
    dispatched: list[str] = []

    def start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})

    router.state("Todo").on("Start", start)
    router.on("dispatch:start", lambda wf, cmd: dispatched.append(wf.id))
    wf = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    result = await router.dispatch(wf, {"type": "Start", "payload": {"assignee": "ada"}})
    assert result.ok
    dispatched.clear()

    reactors = create_reactors().on(
        router,
        "Started",
        lambda rc: ReactorCommand(
            f"notify-{rc.workflow_id}", "Notifier", Command("Notify", {"who": rc.event.data})
        ),
    )
    commands = reactors.resolve(router, "t-1", result.events)
    assert [c.workflow_id for c in commands] == ["notify-t-1"]
    assert commands[0].command.payload == {"who": Started(assignee="ada")}
    assert dispatched == []
