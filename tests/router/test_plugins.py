"""Plugins and use()'s three-way discrimination (§3.5, §3.7)."""

from __future__ import annotations

from typing import Any

import pytest

from temporal_router import (
    ConfigurationError,
    Context,
    Next,
    WorkflowRouter,
    define_plugin,
    is_plugin,
)

from ._models import task_definition
from ._support import HookRecorder, cmd, ok, todo


def test_define_plugin_returns_the_same_function() -> None:
    def plugin(router: WorkflowRouter) -> None:
        return None

    assert define_plugin(plugin) is plugin


def test_define_plugin_rejects_non_callables() -> None:
    with pytest.raises(TypeError, match="callable"):
        define_plugin(42)  # type: ignore[type-var]


class _CallablePlugin:
    def __call__(self, router: WorkflowRouter) -> None:
        return None


class _NotCallable:
    __temporal_router_plugin__ = True


def _plain(router: WorkflowRouter) -> None:
    return None


def _foreign_brand() -> Any:
    """A plugin branded by another copy of the library: same attribute, no shared object."""

    def plugin(router: WorkflowRouter) -> None:
        return None

    plugin.__temporal_router_plugin__ = True  # type: ignore[attr-defined]
    return plugin


def _truthy_brand() -> Any:
    def plugin(router: WorkflowRouter) -> None:
        return None

    plugin.__temporal_router_plugin__ = "yes"  # type: ignore[attr-defined]
    return plugin


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (define_plugin(lambda router: None), True),
        (define_plugin(_CallablePlugin()), True),
        (_foreign_brand(), True),
        (_plain, False),
        (lambda router: None, False),
        (_CallablePlugin(), False),
        (_NotCallable(), False),
        (_truthy_brand(), False),
        (None, False),
        (0, False),
        (42, False),
        ("plugin", False),
        (WorkflowRouter(task_definition), False),
    ],
    ids=[
        "branded-function",
        "branded-callable-object",
        "brand-from-another-copy",
        "plain-function",
        "lambda",
        "unbranded-callable-object",
        "branded-non-callable",
        "brand-not-exactly-true",
        "none",
        "zero",
        "int",
        "str",
        "router",
    ],
)
def test_is_plugin_truth_table(value: Any, expected: bool) -> None:
    assert is_plugin(value) is expected


# -- use(): router, plugin, or middleware -----------------------------------------------------


async def test_use_discriminates_router_plugin_and_middleware() -> None:
    log: list[str] = []

    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", lambda ctx: log.append("child handler"))

    @define_plugin
    def plugin(router: WorkflowRouter) -> None:
        log.append("plugin called with the router" if router is parent else "wrong router")

    async def middleware(ctx: Context, next: Next) -> None:
        log.append("middleware")
        await next()

    parent = WorkflowRouter(task_definition)
    parent.use(child)  # merged
    parent.use(plugin)  # called
    parent.use(middleware)  # global middleware

    ok(await parent.dispatch(todo(), cmd("Finish")))

    assert log == ["plugin called with the router", "middleware", "child handler"]
    route = parent.resolve("Todo", "Finish")
    assert route is not None
    assert route.chain == (middleware,)


async def test_plugin_is_not_added_as_middleware() -> None:
    calls: list[Any] = []
    plugin = define_plugin(lambda router: calls.append(router))
    router = WorkflowRouter(task_definition)
    router.use(plugin)
    router.state("Todo").on("Finish", lambda ctx: None)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert calls == [router]
    route = router.resolve("Todo", "Finish")
    assert route is not None
    assert route.chain == ()


async def test_plugin_runs_immediately_and_once() -> None:
    calls: list[str] = []
    plugin = define_plugin(lambda router: calls.append("ran"))
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: None)

    router.use(plugin)
    assert calls == ["ran"]  # before any dispatch

    for _ in range(3):
        ok(await router.dispatch(todo(), cmd("Finish")))
    assert calls == ["ran"]


def test_plugin_return_value_is_ignored() -> None:
    router = WorkflowRouter(task_definition)

    assert router.use(define_plugin(lambda r: "something")) is router


def test_async_plugin_is_rejected_with_configuration_error() -> None:
    ran: list[str] = []

    @define_plugin
    async def async_plugin(router: WorkflowRouter) -> None:
        ran.append("body ran")
        router.on("transition", lambda *a: None)

    router = WorkflowRouter(task_definition)

    with pytest.raises(ConfigurationError, match="async_plugin"):
        router.use(async_plugin)

    assert ran == []  # never started; the coroutine was closed, no "never awaited" warning
    assert router.hooks("transition") == []


def test_plugin_exception_propagates_from_use() -> None:
    @define_plugin
    def broken(router: WorkflowRouter) -> None:
        raise RuntimeError("bad plugin")

    with pytest.raises(RuntimeError, match="bad plugin"):
        WorkflowRouter(task_definition).use(broken)


async def test_plugin_may_register_hooks_middleware_and_handlers() -> None:
    log: list[str] = []

    async def timing(ctx: Context, next: Next) -> None:
        log.append("plugin middleware")
        await next()

    @define_plugin
    def everything(router: WorkflowRouter) -> None:
        router.on("dispatch:end", lambda *a: log.append("plugin hook"))
        router.use(timing)
        router.state("Todo").on("Finish", lambda ctx: log.append("plugin handler"))
        router.on("*", "Rename", lambda ctx: log.append("plugin wildcard"))

    router = WorkflowRouter(task_definition)
    router.use(everything)

    ok(await router.dispatch(todo(), cmd("Finish")))
    ok(await router.dispatch(todo(), cmd("Rename", title="x")))

    assert log == [
        "plugin middleware",
        "plugin handler",
        "plugin hook",
        "plugin middleware",
        "plugin wildcard",
        "plugin hook",
    ]


async def test_plugin_may_use_other_plugins_and_routers() -> None:
    log: list[str] = []

    inner = define_plugin(
        lambda router: router.on("dispatch:start", lambda *a: log.append("inner"))
    )
    child = WorkflowRouter(task_definition)
    child.state("Todo").on("Finish", lambda ctx: log.append("child handler"))

    @define_plugin
    def outer(router: WorkflowRouter) -> None:
        router.use(inner)
        router.use(child)

    router = WorkflowRouter(task_definition)
    router.use(outer)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["inner", "child handler"]


async def test_plugin_hooks_run_in_use_order_with_router_hooks() -> None:
    router = WorkflowRouter(task_definition)
    router.state("Todo").on("Finish", lambda ctx: None)
    log: list[str] = []
    router.on("dispatch:start", lambda *a: log.append("before plugin"))
    router.use(define_plugin(lambda r: r.on("dispatch:start", lambda *a: log.append("plugin"))))
    router.on("dispatch:start", lambda *a: log.append("after plugin"))
    HookRecorder(router)

    ok(await router.dispatch(todo(), cmd("Finish")))

    assert log == ["before plugin", "plugin", "after plugin"]


def test_use_rejects_something_that_is_neither_router_plugin_nor_middleware() -> None:
    router = WorkflowRouter(task_definition)

    with pytest.raises(ConfigurationError, match="middleware"):
        router.use(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"\(ctx, next\)"):
        router.use(lambda router: None)  # an unbranded "plugin" is middleware of the wrong arity
