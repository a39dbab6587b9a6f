"""Registration: state(), on(), use() argument checks, replacement, decorators (§3.1-3.4)."""

from __future__ import annotations

from typing import Any

import pytest

from temporal_router import (
    ConfigurationError,
    Context,
    Next,
    StateBuilder,
    WorkflowRouter,
)

from ._models import task_definition
from ._support import cmd, doing, ok, todo


def router() -> WorkflowRouter:
    return WorkflowRouter(task_definition)


def noop(ctx: Context) -> None:
    return None


async def noop_mw(ctx: Context, next: Next) -> None:
    await next()


# -- unknown names ----------------------------------------------------------------------------


@pytest.mark.parametrize("names", ["Archived", ["Todo", "Archived"]], ids=["single", "list"])
def test_state_with_unknown_state_is_configuration_error_naming_it_and_listing_declared(
    names: Any,
) -> None:
    with pytest.raises(ConfigurationError) as info:
        router().state(names)

    message = str(info.value)
    assert "'Archived'" in message
    assert "Todo, Doing, Done" in message


def test_state_with_non_str_name_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="declares no such state"):
        router().state([3])  # type: ignore[list-item]


def test_state_with_unknown_state_and_setup_does_not_call_setup() -> None:
    calls: list[StateBuilder] = []

    with pytest.raises(ConfigurationError):
        router().state(["Todo", "Archived"], calls.append)

    assert calls == []


def test_builder_on_undeclared_command_is_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        router().state("Todo").on("Fly", noop)

    message = str(info.value)
    assert "'Fly'" in message
    assert "Start, Finish, Rename" in message


def test_builder_on_decorator_with_undeclared_command_fails_at_once() -> None:
    with pytest.raises(ConfigurationError, match="'Fly'"):
        router().state("Todo").on("Fly")


def test_wildcard_on_undeclared_command_is_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        router().on("*", "Fly", noop)

    message = str(info.value)
    assert "'Fly'" in message
    assert "Start, Finish, Rename" in message


def test_wildcard_on_without_command_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="needs a command"):
        router().on("*")  # type: ignore[call-overload]


@pytest.mark.parametrize("event", ["Todo", "dispatch", "transitions", "", "DISPATCH:START"])
def test_on_with_unknown_hook_event_is_unknown_event_or_state(event: str) -> None:
    with pytest.raises(ConfigurationError, match="Unknown event or state"):
        router().on(event, lambda *a: None)  # type: ignore[call-overload]


@pytest.mark.parametrize("event", [None, 3, ["transition"], {"e": 1}])
def test_on_with_non_str_event_is_unknown_event_or_state(event: Any) -> None:
    with pytest.raises(ConfigurationError, match="Unknown event or state"):
        router().on(event, lambda *a: None)


def test_hook_on_takes_exactly_one_callback() -> None:
    with pytest.raises(ConfigurationError, match="exactly one callback"):
        router().on("transition", noop, noop)  # type: ignore[call-overload]


# -- callables --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [None, 42, "handler", object()])
def test_non_callable_handler_is_rejected(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="handler must be callable"):
        router().state("Todo").on("Finish", bad)
    with pytest.raises(ConfigurationError, match="handler must be callable"):
        router().on("*", "Finish", bad)


@pytest.mark.parametrize("bad", [None, 42, "mw"])
def test_non_callable_middleware_is_rejected(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="middleware must be callable"):
        router().use(bad)
    with pytest.raises(ConfigurationError, match="middleware must be callable"):
        router().state("Todo").use(bad)
    with pytest.raises(ConfigurationError, match="inline middleware must be callable"):
        router().state("Todo").on("Finish", bad, noop)


@pytest.mark.parametrize("bad", [None, 42, "hook"])
def test_non_callable_hook_is_rejected(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="callback must be callable"):
        router().on("transition", bad)


def test_handler_with_wrong_arity_is_rejected_naming_the_function() -> None:
    def needs_two(ctx: Context, extra: int) -> None:
        return None

    def needs_none() -> None:
        return None

    for handler in (needs_two, needs_none):
        with pytest.raises(ConfigurationError) as info:
            router().state("Todo").on("Finish", handler)
        assert handler.__name__ in str(info.value)
        assert "(ctx)" in str(info.value)


def test_middleware_with_wrong_arity_is_rejected_naming_the_function() -> None:
    def one_arg(ctx: Context) -> None:
        return None

    with pytest.raises(ConfigurationError, match=r"one_arg must accept \(ctx, next\)"):
        router().use(one_arg)
    with pytest.raises(ConfigurationError, match="one_arg"):
        router().state("Todo").use(one_arg)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="one_arg"):
        router().state("Todo").on("Finish", one_arg, noop)


def test_callables_with_defaults_or_varargs_are_accepted() -> None:
    def handler(ctx: Context, extra: int = 0) -> None:
        return None

    def mw(*args: Any) -> Any:
        return args[1]()

    r = router().use(mw)
    r.state("Todo").on("Finish", mw, handler)
    assert r.resolve("Todo", "Finish") is not None


def test_on_with_no_functions_in_wildcard_or_builder_returns_a_decorator() -> None:
    r = router()

    assert callable(r.state("Todo").on("Finish"))
    assert callable(r.on("*", "Finish"))
    assert r.resolve("Todo", "Finish") is None  # nothing registered until decorated


# -- replacement and accumulation -------------------------------------------------------------


async def test_re_registering_a_command_replaces_it() -> None:
    seen: list[str] = []
    r = router()
    r.state("Todo").on("Finish", lambda ctx: seen.append("first"))
    r.state("Todo").on("Finish", lambda ctx: seen.append("second"))
    r.on("*", "Rename", lambda ctx: seen.append("wild first"))
    r.on("*", "Rename", lambda ctx: seen.append("wild second"))

    ok(await r.dispatch(todo(), cmd("Finish")))
    ok(await r.dispatch(todo(), cmd("Rename", title="t")))

    assert seen == ["second", "wild second"]


async def test_re_registering_a_command_replaces_its_inline_middleware_too() -> None:
    seen: list[str] = []

    async def old_mw(ctx: Context, next: Next) -> None:
        seen.append("old inline")
        await next()

    r = router()
    r.state("Todo").on("Finish", old_mw, lambda ctx: seen.append("old"))
    r.state("Todo").on("Finish", lambda ctx: seen.append("new"))

    ok(await r.dispatch(todo(), cmd("Finish")))

    assert seen == ["new"]


async def test_repeated_state_calls_accumulate_on_the_same_builder() -> None:
    seen: list[str] = []
    r = router()
    r.state("Todo").on("Finish", lambda ctx: seen.append("finish"))
    r.state("Todo").on("Rename", lambda ctx: seen.append("rename"))

    ok(await r.dispatch(todo(), cmd("Finish")))
    ok(await r.dispatch(todo(), cmd("Rename", title="x")))

    assert seen == ["finish", "rename"]


async def test_state_list_with_setup_calls_setup_once_per_state() -> None:
    calls: list[StateBuilder] = []
    seen: list[str] = []

    def setup(builder: StateBuilder) -> None:
        calls.append(builder)
        builder.on("Rename", lambda ctx: seen.append(ctx.workflow.state))

    returned = router()
    result = returned.state(["Todo", "Doing"], setup)

    assert result is returned
    assert len(calls) == 2
    ok(await returned.dispatch(todo(), cmd("Rename", title="x")))
    ok(await returned.dispatch(doing(), cmd("Rename", title="x")))
    assert seen == ["Todo", "Doing"]


def test_state_single_with_setup_calls_setup_once_and_returns_router() -> None:
    calls: list[StateBuilder] = []
    r = router()

    assert r.state("Todo", calls.append) is r
    assert len(calls) == 1
    assert isinstance(calls[0], StateBuilder)


def test_state_empty_list_registers_nothing() -> None:
    calls: list[StateBuilder] = []
    r = router()

    r.state([], calls.append)
    r.state([]).on("Finish", noop).use(noop_mw)

    assert calls == []
    assert r.routes() == []


def test_state_without_setup_returns_a_builder_and_builders_chain() -> None:
    r = router()

    builder = r.state("Todo")

    assert isinstance(builder, StateBuilder)
    assert builder.on("Finish", noop) is builder
    assert builder.use(noop_mw) is builder


def test_router_registration_methods_chain() -> None:
    r = router()

    assert r.use(noop_mw) is r
    assert r.on("transition", lambda *a: None) is r
    assert r.on("*", "Finish", noop) is r


# -- decorator forms --------------------------------------------------------------------------


async def test_decorator_form_on_a_state_builder() -> None:
    r = router()

    @r.state("Todo").on("Finish")
    def finish(ctx: Context) -> None:
        ctx.update(priority=3)

    out = ok(await r.dispatch(todo(), cmd("Finish")))

    assert out.data.priority == 3  # type: ignore[attr-defined]
    assert finish.__name__ == "finish"  # the decorator returns the function itself


async def test_decorator_form_on_a_wildcard() -> None:
    r = router()

    @r.on("*", "Rename")
    async def rename(ctx: Context) -> None:
        ctx.update(title=ctx.command.payload.title)

    for wf in (todo(), doing()):
        out = ok(await r.dispatch(wf, cmd("Rename", title="renamed")))
        assert out.data.title == "renamed"  # type: ignore[attr-defined]
    assert rename.__name__ == "rename"


async def test_decorator_form_on_a_multi_state_builder() -> None:
    r = router()

    @r.state(["Todo", "Doing"]).on("Rename")
    def rename(ctx: Context) -> None:
        ctx.update(title="both")

    assert [route.state for route in r.routes()] == ["Todo", "Doing"]
    assert all(route.kind == "multi" for route in r.routes())


# -- construction -----------------------------------------------------------------------------


def test_router_needs_a_workflow_definition() -> None:
    with pytest.raises(ConfigurationError, match="WorkflowDefinition"):
        WorkflowRouter({"states": {}})  # type: ignore[arg-type]


def test_router_on_hook_error_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="on_hook_error"):
        WorkflowRouter(task_definition, on_hook_error="print")  # type: ignore[arg-type]


def test_router_exposes_its_definition() -> None:
    assert router().definition is task_definition
