"""The dispatch pipeline, step by step (reference §4 and §8)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from temporal_router import (
    Command,
    Context,
    DependencyErrorSignal,
    DependencyFailure,
    DomainErrorSignal,
    DomainFailure,
    Next,
    RouterFailure,
    UnexpectedFailure,
    UnknownNameError,
    ValidationError,
    ValidationFailure,
    Workflow,
    WorkflowRouter,
)

from ._models import Finished, NotAllowed, Start, Started, Todo, basket_definition, task_definition
from ._support import (
    T0,
    T1,
    HookRecorder,
    basket,
    cmd,
    doing,
    failed,
    ok,
    snapshot,
    todo,
)


def task_router() -> WorkflowRouter:
    """Todo --Start--> Doing --Finish--> Done, emitting Started / Finished."""
    router = WorkflowRouter(task_definition)

    def start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})

    def finish(ctx: Context) -> None:
        ctx.transition("Done", {"title": ctx.data.title, "assignee": ctx.data.assignee})
        ctx.emit("Finished", {})

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Finish", finish)
    return router


def orphan_workflow(state: str = "Archived") -> Workflow:
    """A workflow whose state the definition does not declare."""
    return Workflow("task-9", "Task", state, Todo(title="x"), T0, T0)


# -- step 2: known-state check ----------------------------------------------------------------


async def test_unknown_state_is_router_error_unknown_state() -> None:
    result = await task_router().dispatch(orphan_workflow("Archived"), cmd("Start", assignee="a"))

    error = failed(result, RouterFailure)
    assert error.category == "router"
    assert error.code == "UNKNOWN_STATE"
    assert error.message == "Unknown state: Archived"


async def test_unknown_state_is_checked_before_command_validation() -> None:
    router = task_router()
    wf = orphan_workflow()

    bad_commands: list[Any] = [cmd("Start"), cmd("Fly"), {"payload": {}}, "not a command"]
    for bad in bad_commands:
        error = failed(await router.dispatch(wf, bad), RouterFailure)
        assert error.code == "UNKNOWN_STATE"


# -- step 3: command look-up and validation ---------------------------------------------------


async def test_unknown_command_type_is_router_unknown_command_improvement() -> None:
    """Ours: category ``router`` code ``UNKNOWN_COMMAND`` (the reference says ``unexpected``)."""
    result = await task_router().dispatch(todo(), cmd("Fly"))

    error = failed(result, RouterFailure)
    assert error.category == "router"
    assert error.code == "UNKNOWN_COMMAND"
    assert error.message == "Unknown command: Fly"


@pytest.mark.parametrize(
    "command",
    [None, "Start", 42, ["Start", {}], ("Start",), {"payload": {"assignee": "a"}}, {}],
    ids=["none", "str", "int", "list", "tuple", "missing-type", "empty-mapping"],
)
async def test_malformed_command_is_validation_source_command(command: Any) -> None:
    error = failed(await task_router().dispatch(todo(), command), ValidationFailure)

    assert error.category == "validation"
    assert error.source == "command"
    assert error.issues
    assert error.message.startswith("Invalid command payload: ")


@pytest.mark.parametrize(
    "command",
    [
        {"type": 5, "payload": {}},
        {"type": None, "payload": {}},
        {"type": ["Start"], "payload": {}},
        {"type": {"name": "Start"}, "payload": {}},
        Command(type=5, payload={}),  # type: ignore[arg-type]
    ],
    ids=["int", "none", "list", "dict", "Command-int"],
)
async def test_non_str_command_type_is_validation_source_command(command: Any) -> None:
    error = failed(await task_router().dispatch(todo(), command), ValidationFailure)

    assert error.source == "command"
    assert "command type must be a string" in error.message


async def test_invalid_payload_is_validation_source_command_with_message() -> None:
    result = await task_router().dispatch(todo(), cmd("Start", assignee=12))

    error = failed(result, ValidationFailure)
    assert error.source == "command"
    assert [tuple(issue["loc"]) for issue in error.issues] == [("assignee",)]
    assert error.message.startswith("Invalid command payload: ")
    assert "assignee" in error.message
    assert "valid string" in error.message


@pytest.mark.parametrize(
    "payload", [[], "x", 3, ["assignee", "a"]], ids=["list", "str", "int", "pairs"]
)
async def test_non_mapping_payload_is_validation_source_command(payload: Any) -> None:
    result = await task_router().dispatch(todo(), {"type": "Start", "payload": payload})

    assert failed(result, ValidationFailure).source == "command"


async def test_missing_payload_defaults_to_empty() -> None:
    wf = ok(await task_router().dispatch(doing(), {"type": "Finish"}))

    assert wf.state == "Done"


async def test_command_validation_comes_before_routing() -> None:
    """An invalid payload for an unhandled command is ``validation``, not ``NO_HANDLER``."""
    router = WorkflowRouter(task_definition)  # no handlers at all

    invalid = await router.dispatch(todo(), cmd("Start"))  # assignee missing
    valid = await router.dispatch(todo(), cmd("Start", assignee="a"))

    assert failed(invalid, ValidationFailure).source == "command"
    assert failed(valid, RouterFailure).code == "NO_HANDLER"


# -- step 4: handler resolution ----------------------------------------------------------------


async def test_no_handler_is_router_error_with_message() -> None:
    result = await task_router().dispatch(todo(), cmd("Finish"))

    error = failed(result, RouterFailure)
    assert error.code == "NO_HANDLER"
    assert error.message == "No handler for command 'Finish' in state 'Todo'"


async def test_handler_precedence_single_beats_multi_beats_wildcard() -> None:
    seen: list[str] = []

    def handler(name: str) -> Any:
        return lambda ctx: seen.append(name)

    all_three = WorkflowRouter(task_definition)
    all_three.on("*", "Finish", handler("wildcard"))
    all_three.state(["Todo", "Doing"], lambda s: s.on("Finish", handler("multi")))
    all_three.state("Todo").on("Finish", handler("single"))

    multi_and_wildcard = WorkflowRouter(task_definition)
    multi_and_wildcard.on("*", "Finish", handler("wildcard"))
    multi_and_wildcard.state(["Todo", "Doing"], lambda s: s.on("Finish", handler("multi")))

    wildcard_only = WorkflowRouter(task_definition)
    wildcard_only.on("*", "Finish", handler("wildcard"))

    for router in (all_three, multi_and_wildcard, wildcard_only):
        ok(await router.dispatch(todo(), cmd("Finish")))

    assert seen == ["single", "multi", "wildcard"]


async def test_wildcard_handler_matches_every_state() -> None:
    router = WorkflowRouter(task_definition)
    router.on("*", "Rename", lambda ctx: ctx.update(title=ctx.command.payload.title))

    for wf in (todo(), doing()):
        assert ok(await router.dispatch(wf, cmd("Rename", title="new"))).data.title == "new"  # type: ignore[attr-defined]


# -- step 9: the success result ----------------------------------------------------------------


async def test_success_result_copies_id_and_definition_name_from_input() -> None:
    """``id`` and ``definition_name`` come from the input workflow, not the definition."""
    wf = Workflow("custom-id", "SomethingElse", "Todo", Todo(title="x"), T0, T0)

    out = ok(await task_router().dispatch(wf, cmd("Start", assignee="ada")))

    assert (out.id, out.definition_name, out.state) == ("custom-id", "SomethingElse", "Doing")


async def test_success_keeps_created_at_and_refreshes_updated_at_even_without_change() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: None)  # changes nothing
    wf = todo()

    out = ok(await router.dispatch(wf, cmd("Finish"), now=T1))

    assert out.created_at == T0
    assert out.updated_at == T1
    assert (out.state, out.data) == (wf.state, wf.data)


async def test_updated_at_defaults_to_the_wall_clock_in_utc() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: None)
    before = datetime.now(UTC) - timedelta(milliseconds=1)

    out = ok(await router.dispatch(todo(), cmd("Finish")))

    assert out.updated_at.tzinfo is not None
    assert before <= out.updated_at <= datetime.now(UTC)
    assert out.created_at == T0


async def test_now_parameter_sets_updated_at() -> None:
    moment = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)

    out = ok(await task_router().dispatch(todo(), cmd("Start", assignee="ada"), now=moment))

    assert out.updated_at == moment


async def test_success_events_in_emission_order_with_parsed_data() -> None:
    router = WorkflowRouter(task_definition)

    def handler(ctx: Context) -> None:
        ctx.emit("Started", {"assignee": "ada", "ignored": True})
        ctx.emit("Finished")
        ctx.emit("Started", Started(assignee="bob"))

    router.state("Todo").on("Start", handler)

    result = await router.dispatch(todo(), cmd("Start", assignee="ada"))

    ok(result)
    assert [e.type for e in result.events] == ["Started", "Finished", "Started"]
    assert result.events[0].data == Started(assignee="ada")
    assert isinstance(result.events[0].data, Started)
    assert isinstance(result.events[1].data, Finished)
    assert result.events[2].data == Started(assignee="bob")


async def test_success_with_no_events_has_empty_event_list() -> None:
    result = (
        await WorkflowRouter(task_definition)
        .state("Todo", lambda s: s.on("Finish", lambda c: None))
        .dispatch(todo(), cmd("Finish"))
    )

    ok(result)
    assert result.events == []


async def test_success_data_is_the_parsed_state_model() -> None:
    out = ok(await task_router().dispatch(todo("t"), cmd("Start", assignee="ada")))

    assert type(out.data).__name__ == "Doing"
    assert out.data.model_dump() == {"title": "t", "assignee": "ada"}


# -- the five error categories ----------------------------------------------------------------


async def test_category_validation_has_source_issues_and_message() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: ctx.update(priority="high"))

    error = failed(await router.dispatch(todo(), cmd("Finish")), ValidationFailure)

    assert error.category == "validation"
    assert error.source == "state"
    assert [tuple(i["loc"]) for i in error.issues] == [("priority",)]
    assert error.message.startswith("Validation failed (state): ")
    assert "priority" in error.message


async def test_category_domain_has_code_and_parsed_data() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on(
        "Finish", lambda ctx: ctx.error("NotAllowed", {"reason": "todo", "x": 1})
    )

    error = failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure)

    assert error.category == "domain"
    assert error.code == "NotAllowed"
    assert error.data == NotAllowed(reason="todo")
    assert isinstance(error.data, NotAllowed)
    assert error.message == "Domain error: NotAllowed"


async def test_category_router_has_code_and_message() -> None:
    error = failed(await task_router().dispatch(doing(), cmd("Start", assignee="a")), RouterFailure)

    assert error.category == "router"
    assert error.code == "NO_HANDLER"
    assert error.message == "No handler for command 'Start' in state 'Doing'"


async def test_category_dependency_has_name_error_and_message() -> None:
    boom = ConnectionError("db down")

    class Users:
        def find(self, name: str) -> str:
            raise boom

    class Db:
        users = Users()

    router = WorkflowRouter(task_definition, {"db": Db()})
    router.state("Todo").on("Finish", lambda ctx: ctx.deps.db.users.find("ada"))

    error = failed(await router.dispatch(todo(), cmd("Finish")), DependencyFailure)

    assert error.category == "dependency"
    assert error.name == "db"
    assert error.error is boom
    assert error.message == 'Dependency "db" failed: db down'


async def test_category_unexpected_has_error_and_message() -> None:
    boom = ZeroDivisionError("division by zero")

    def handler(ctx: Context) -> None:
        raise boom

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert error.category == "unexpected"
    assert error.error is boom
    assert error.message == "division by zero"


async def test_unexpected_message_falls_back_to_type_name_for_empty_message() -> None:
    """Ours: an exception with an empty message reports its class name, not ``""``."""

    def handler(ctx: Context) -> None:
        raise KeyboardInterruptLike()

    class KeyboardInterruptLike(Exception):
        pass

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert error.message == "KeyboardInterruptLike"


async def test_unexpected_when_exception_str_itself_raises() -> None:
    """A broken ``__str__`` still classifies the original error (and the pipeline ends)."""

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    boom = Unprintable()

    def handler(ctx: Context) -> None:
        raise boom

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)
    hooks = HookRecorder(router)

    error = failed(await router.dispatch(todo(), cmd("Finish")), UnexpectedFailure)

    assert error.error is boom
    assert error.message == "Unprintable"
    assert hooks.names == [
        "dispatch:start",
        "pipeline:start",
        "error",
        "pipeline:end",
        "dispatch:end",
    ]


async def test_user_raised_domain_error_signal_is_domain() -> None:
    def handler(ctx: Context) -> None:
        raise DomainErrorSignal("Whatever", {"raw": 1})

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)

    error = failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure)

    assert (error.code, error.data) == ("Whatever", {"raw": 1})


async def test_user_raised_validation_error_is_validation_with_its_source() -> None:
    issues = [{"loc": ("x",), "msg": "bad x"}]

    def handler(ctx: Context) -> None:
        raise ValidationError("event", issues)

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)

    error = failed(await router.dispatch(todo(), cmd("Finish")), ValidationFailure)

    assert error.source == "event"
    assert error.issues == issues
    assert error.message == "Validation failed (event): x: bad x"


class _DomainAndValidation(DomainErrorSignal, ValidationError):
    def __init__(self) -> None:
        Exception.__init__(self, "both")
        self.code, self.data = "NotAllowed", None
        self.source, self.issues = "state", []


class _ValidationAndDependency(ValidationError, DependencyErrorSignal):
    def __init__(self) -> None:
        Exception.__init__(self, "both")
        self.source, self.issues = "state", []
        self.name, self.error = "db", RuntimeError("x")


class _DependencyAndOther(DependencyErrorSignal, LookupError):
    def __init__(self) -> None:
        Exception.__init__(self, "both")
        self.name, self.error = "db", RuntimeError("x")


@pytest.mark.parametrize(
    ("exc", "category"),
    [
        (_DomainAndValidation(), "domain"),
        (_ValidationAndDependency(), "validation"),
        (_DependencyAndOther(), "dependency"),
        (UnknownNameError("event", "Nope"), "unexpected"),
    ],
    ids=[
        "domain-before-validation",
        "validation-before-dependency",
        "dependency-before-unexpected",
        "other",
    ],
)
async def test_classification_order_domain_validation_dependency_unexpected(
    exc: Exception, category: str
) -> None:
    def handler(ctx: Context) -> None:
        raise exc

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)

    result = await router.dispatch(todo(), cmd("Finish"))

    assert not result.ok
    assert result.error is not None
    assert result.error.category == category


# -- commands: Command(...) and dicts ---------------------------------------------------------


async def test_command_object_and_dict_are_both_accepted() -> None:
    router = task_router()

    from_object = ok(await router.dispatch(todo(), Command("Start", {"assignee": "ada"}), now=T1))
    from_dict = ok(await router.dispatch(todo(), cmd("Start", assignee="ada"), now=T1))

    assert from_object == from_dict
    assert from_object.data.model_dump() == {"title": "write tests", "assignee": "ada"}


async def test_command_object_payload_may_be_a_model() -> None:
    out = ok(await task_router().dispatch(todo(), Command("Start", Start(assignee="bob"))))

    assert out.data.assignee == "bob"  # type: ignore[attr-defined]


async def test_command_object_default_payload_is_empty() -> None:
    assert ok(await task_router().dispatch(doing(), Command("Finish"))).state == "Done"


# -- sync and async handlers ------------------------------------------------------------------


async def test_sync_and_async_handlers_both_work() -> None:
    def sync_start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": "sync"})

    async def async_finish(ctx: Context) -> None:
        await asyncio.sleep(0)
        ctx.transition("Done", {"title": ctx.data.title, "assignee": ctx.data.assignee})

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Start", sync_start)
    router.state("Doing").on("Finish", async_finish)

    mid = ok(await router.dispatch(todo(), cmd("Start", assignee="x")))
    end = ok(await router.dispatch(mid, cmd("Finish")))

    assert (mid.state, end.state, end.data.assignee) == ("Doing", "Done", "sync")  # type: ignore[attr-defined]


async def test_handler_return_value_is_ignored() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: "ignored")

    assert ok(await router.dispatch(todo(), cmd("Finish"))).state == "Todo"


async def test_async_handler_exception_is_classified() -> None:
    async def handler(ctx: Context) -> None:
        await asyncio.sleep(0)
        ctx.error("NotAllowed", {"reason": "async"})

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)

    assert failed(await router.dispatch(todo(), cmd("Finish")), DomainFailure).code == "NotAllowed"


# -- dispatch never raises --------------------------------------------------------------------


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("unprintable")


_EXCEPTIONS: list[Exception] = [
    RuntimeError("r"),
    KeyError("k"),
    TypeError("t"),
    StopIteration(),
    StopAsyncIteration(),
    RecursionError(),
    MemoryError(),
    _Unprintable(),
    Exception(),
]


@pytest.mark.parametrize("exc", _EXCEPTIONS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "where", ["sync-handler", "async-handler", "middleware", "inline-middleware", "all-hooks"]
)
async def test_dispatch_never_raises_for_any_exception(exc: Exception, where: str) -> None:
    def raise_it(*_: Any) -> None:
        raise exc

    async def raise_async(*_: Any) -> None:
        await asyncio.sleep(0)
        raise exc

    async def raising_mw(ctx: Context, next: Next) -> None:
        raise exc

    def reporter(err: BaseException) -> None:
        raise exc

    router = WorkflowRouter(task_definition, on_hook_error=reporter)
    handler: Any = {"sync-handler": raise_it, "async-handler": raise_async}.get(
        where, lambda c: None
    )
    if where == "middleware":
        router.use(raising_mw)
    if where == "inline-middleware":
        router.state("Todo").on("Finish", raising_mw, handler)
    else:
        router.state("Todo").on("Finish", handler)
    if where == "all-hooks":
        for event in ("dispatch:start", "pipeline:start", "pipeline:end", "dispatch:end", "error"):
            router.on(event, raise_it)

    result = await router.dispatch(todo(), cmd("Finish"))

    if where == "all-hooks":
        assert ok(result).state == "Todo"
    else:
        error = failed(result, UnexpectedFailure).error
        # PEP 479: a StopIteration leaving a coroutine becomes RuntimeError (cause: the original).
        assert error is exc or (isinstance(exc, StopIteration) and error.__cause__ is exc)


async def test_dispatch_never_raises_for_a_workflow_that_is_not_a_workflow() -> None:
    result = await task_router().dispatch(None, cmd("Finish"))  # type: ignore[arg-type]

    assert failed(result, UnexpectedFailure).category == "unexpected"


async def test_cancellation_propagates_and_dispatch_end_still_fires() -> None:
    """Cancellation is not an ``Exception``: it propagates, after ``dispatch:end``."""
    entered = asyncio.Event()

    async def handler(ctx: Context) -> None:
        entered.set()
        await asyncio.sleep(10)

    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", handler)
    hooks = HookRecorder(router)

    task = asyncio.ensure_future(router.dispatch(todo(), cmd("Finish")))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert hooks.names[0] == "dispatch:start"
    assert hooks.names[-1] == "dispatch:end"
    end_result = hooks.args("dispatch:end")[0][2]
    assert isinstance(end_result.error, UnexpectedFailure)


# -- isolation: the input workflow never changes ----------------------------------------------


async def _mutate_nested(ctx: Context) -> None:
    ctx.data.items.append("from ctx.data")
    ctx.data.meta.tags.append("from ctx.data")
    ctx.workflow.data.items.append("from ctx.workflow")  # type: ignore[attr-defined]
    ctx.workflow.data.meta.tags.clear()  # type: ignore[attr-defined]


async def test_failed_dispatch_never_changes_the_input_workflow_nested_data_included() -> None:
    router = WorkflowRouter(basket_definition)

    async def handler(ctx: Context) -> None:
        await _mutate_nested(ctx)
        ctx.update(items=[*ctx.data.items, "pear"])
        ctx.emit("ItemAdded", {"item": "pear"})
        ctx.error("BasketFull", {"limit": 1})

    router.state("Open").on("AddItem", handler)
    wf = basket()
    before = snapshot(basket_definition, wf)

    failed(await router.dispatch(wf, cmd("AddItem", item="pear")), DomainFailure)

    assert snapshot(basket_definition, wf) == before
    assert wf.data.items == ["apple"]  # type: ignore[attr-defined]
    assert wf.data.meta.tags == ["fresh"]  # type: ignore[attr-defined]


async def test_successful_dispatch_never_changes_the_input_workflow_nested_data_included() -> None:
    router = WorkflowRouter(basket_definition)

    async def handler(ctx: Context) -> None:
        await _mutate_nested(ctx)
        ctx.update(items=[*ctx.workflow.data.items, ctx.command.payload.item])  # type: ignore[attr-defined]

    router.state("Open").on("AddItem", handler)
    wf = basket()
    before = snapshot(basket_definition, wf)

    out = ok(await router.dispatch(wf, cmd("AddItem", item="pear")))

    assert snapshot(basket_definition, wf) == before
    assert out.data.items == ["apple", "from ctx.workflow", "pear"]  # type: ignore[attr-defined]
    assert out.data.meta.tags == ["fresh"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("changes", [False, True], ids=["unchanged", "updated"])
async def test_result_workflow_shares_no_nested_data_with_the_input(changes: bool) -> None:
    router = WorkflowRouter(basket_definition)
    router.state("Open").on("Touch", lambda ctx: ctx.update() if changes else None)
    wf = basket()

    out = ok(await router.dispatch(wf, cmd("Touch")))
    out.data.items.append("later")  # type: ignore[attr-defined]
    out.data.meta.tags.append("later")  # type: ignore[attr-defined]

    assert wf.data.items == ["apple"]  # type: ignore[attr-defined]
    assert wf.data.meta.tags == ["fresh"]  # type: ignore[attr-defined]


async def test_extra_allow_fields_are_isolated_too() -> None:
    """A flat schema with ``extra="allow"`` can hold mutable extras; they are copied too."""
    router = WorkflowRouter(basket_definition)

    def handler(ctx: Context) -> None:
        ctx.data.notes.append("from ctx.data")
        ctx.workflow.data.notes.append("from ctx.workflow")  # type: ignore[attr-defined]
        raise RuntimeError("fail after mutating")

    router.state("Loose").on("Touch", handler)
    wf = basket_definition.create_workflow(
        "loose-1", initial_state="Loose", data={"label": "l", "notes": ["a"]}
    )

    failed(await router.dispatch(wf, cmd("Touch")), UnexpectedFailure)

    assert wf.data.notes == ["a"]  # type: ignore[attr-defined]
