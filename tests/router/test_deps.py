"""Dependency injection and wrap_deps: failures become category ``dependency`` (reference §9)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from temporal_router import (
    Context,
    DependencyErrorSignal,
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    UnexpectedFailure,
    WorkflowRouter,
)

from ._models import make_task_definition

FINISH = {"type": "Finish", "payload": {}}


async def _run(deps: Any, handler: Any, *, wrap_deps: bool = True) -> DispatchResult:
    """Dispatch Finish in state Todo with ``handler`` and ``deps``."""
    definition = make_task_definition()
    router = WorkflowRouter(definition, deps, wrap_deps=wrap_deps)
    router.state("Todo").on("Finish", handler)
    wf = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    return await router.dispatch(wf, FINISH)


def _dependency(result: DispatchResult) -> DependencyFailure:
    assert not result.ok
    assert isinstance(result.error, DependencyFailure), result.error
    return result.error


class Users:
    def __init__(self) -> None:
        self._rows = {"ada": "Ada Lovelace"}
        self.calls: list[str] = []

    def find(self, key: str) -> str:
        self.calls.append(key)
        return self._rows[key]

    async def find_async(self, key: str) -> str:
        self.calls.append(key)
        return self._rows[key]


class Connection:
    def query(self) -> str:
        raise ConnectionError("socket closed")


class Db:
    def __init__(self) -> None:
        self.users = Users()

    def get_client(self) -> Connection:
        return Connection()


# --- failures become category dependency ---------------------------------------------------


async def test_deps_sync_callable_failure_is_dependency_with_top_level_name() -> None:
    boom = RuntimeError("boom")

    def charge() -> None:
        raise boom

    error = _dependency(await _run({"payments": charge}, lambda ctx: ctx.deps.payments()))
    assert error.name == "payments"
    assert error.error is boom
    assert error.message == 'Dependency "payments" failed: boom'


async def test_deps_async_callable_failure_is_dependency_with_top_level_name() -> None:
    boom = TimeoutError("slow")

    async def charge() -> None:
        raise boom

    async def handler(ctx: Context) -> None:
        await ctx.deps.payments()

    error = _dependency(await _run({"payments": charge}, handler))
    assert error.name == "payments"
    assert error.error is boom
    assert error.message == 'Dependency "payments" failed: slow'


async def test_deps_sync_callable_returning_failing_awaitable_is_dependency() -> None:
    async def later() -> None:
        raise ValueError("late failure")

    async def handler(ctx: Context) -> None:
        await ctx.deps.mailer.send()

    error = _dependency(await _run({"mailer": SimpleNamespace(send=lambda: later())}, handler))
    assert error.name == "mailer"
    assert isinstance(error.error, ValueError)


async def test_deps_nested_object_failure_reports_top_level_name() -> None:
    db = Db()

    def handler(ctx: Context) -> None:
        ctx.deps.db.users.find("nobody")

    error = _dependency(await _run(SimpleNamespace(db=db), handler))
    assert error.name == "db"
    assert isinstance(error.error, KeyError)
    assert db.users.calls == ["nobody"]


async def test_deps_nested_async_failure_reports_top_level_name() -> None:
    async def handler(ctx: Context) -> None:
        await ctx.deps.db.users.find_async("nobody")

    error = _dependency(await _run({"db": Db()}, handler))
    assert error.name == "db"


async def test_deps_dict_deps_work_by_attribute_and_by_key() -> None:
    def find(key: str) -> str:
        raise LookupError(key)

    deps = {"db": {"users": {"find": find}}}
    by_attribute = _dependency(await _run(deps, lambda ctx: ctx.deps.db.users.find("x")))
    by_key = _dependency(await _run(deps, lambda ctx: ctx.deps["db"]["users"]["find"]("x")))
    assert by_attribute.name == by_key.name == "db"


async def test_deps_attribute_deps_work() -> None:
    class Deps:
        def __init__(self) -> None:
            self.clock = SimpleNamespace(now=self._fail)

        def _fail(self) -> None:
            raise RuntimeError("no clock")

    error = _dependency(await _run(Deps(), lambda ctx: ctx.deps.clock.now()))
    assert error.name == "clock"


async def test_deps_top_level_method_failure_is_named_after_the_method() -> None:
    class Deps:
        def fetch(self) -> None:
            raise RuntimeError("down")

    error = _dependency(await _run(Deps(), lambda ctx: ctx.deps.fetch()))
    assert error.name == "fetch"


async def test_deps_failure_in_middleware_is_dependency() -> None:
    definition = make_task_definition()

    def fail() -> None:
        raise RuntimeError("down")

    router = WorkflowRouter(definition, {"audit": fail})

    async def audit(ctx: Context, next: Any) -> None:
        ctx.deps.audit()
        await next()

    router.use(audit)
    router.state("Todo").on("Finish", lambda ctx: None)
    wf = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    assert _dependency(await router.dispatch(wf, FINISH)).name == "audit"


# --- successful calls ----------------------------------------------------------------------


async def test_deps_bound_methods_keep_self() -> None:
    db = Db()
    found: list[str] = []

    async def handler(ctx: Context) -> None:
        found.append(ctx.deps.db.users.find("ada"))
        found.append(await ctx.deps.db.users.find_async("ada"))

    result = await _run({"db": db}, handler)
    assert result.ok, result.error
    assert found == ["Ada Lovelace", "Ada Lovelace"]
    assert db.users.calls == ["ada", "ada"]


async def test_deps_calls_pass_arguments_and_return_values() -> None:
    seen: list[Any] = []

    def add(a: int, b: int = 0) -> int:
        return a + b

    result = await _run({"math": add}, lambda ctx: seen.append(ctx.deps.math(2, b=3)))
    assert result.ok
    assert seen == [5]


async def test_deps_plain_values_pass_through() -> None:
    seen: list[Any] = []
    deps = {"config": {"retries": 3, "name": "svc", "ratio": 0.5, "enabled": True, "none": None}}

    def handler(ctx: Context) -> None:
        config = ctx.deps.config
        seen.extend([config.retries, config["name"], config.ratio, config.enabled, config.none])

    assert (await _run(deps, handler)).ok
    assert seen == [3, "svc", 0.5, True, None]
    assert [type(v) for v in seen] == [int, str, float, bool, type(None)]


async def test_deps_return_values_are_not_wrapped() -> None:
    db = Db()
    clients: list[Any] = []

    def handler(ctx: Context) -> None:
        client = ctx.deps.db.get_client()
        clients.append(client)
        client.query()

    result = await _run({"db": db}, handler)
    assert isinstance(clients[0], Connection)
    assert isinstance(result.error, UnexpectedFailure)
    assert isinstance(result.error.error, ConnectionError)


async def test_deps_is_read_only() -> None:
    result = await _run({"db": Db()}, lambda ctx: setattr(ctx.deps, "db", None))
    assert isinstance(result.error, UnexpectedFailure)
    assert isinstance(result.error.error, AttributeError)


async def test_deps_none_gives_none() -> None:
    seen: list[Any] = []
    assert (await _run(None, lambda ctx: seen.append(ctx.deps))).ok
    assert seen == [None]


async def test_deps_missing_attribute_is_unexpected_not_dependency() -> None:
    result = await _run({"db": Db()}, lambda ctx: ctx.deps.cache.get("k"))
    assert isinstance(result.error, UnexpectedFailure)
    assert isinstance(result.error.error, AttributeError)


# --- catching and opting out ---------------------------------------------------------------


async def test_deps_handler_catching_dependency_error_and_calling_ctx_error_is_domain() -> None:
    def charge() -> None:
        raise RuntimeError("card declined")

    caught: list[DependencyErrorSignal] = []

    def handler(ctx: Context) -> None:
        try:
            ctx.deps.payments()
        except DependencyErrorSignal as exc:
            caught.append(exc)
            ctx.error("NotAllowed", {"reason": str(exc.error)})

    result = await _run({"payments": charge}, handler)
    assert isinstance(result.error, DomainFailure)
    assert result.error.code == "NotAllowed"
    assert result.error.data.reason == "card declined"
    assert caught[0].name == "payments"


async def test_deps_handler_rethrowing_something_else_gets_that_category() -> None:
    def charge() -> None:
        raise RuntimeError("card declined")

    def handler(ctx: Context) -> None:
        try:
            ctx.deps.payments()
        except DependencyErrorSignal:
            raise ValueError("wrapped") from None

    result = await _run({"payments": charge}, handler)
    assert isinstance(result.error, UnexpectedFailure)
    assert result.error.message == "wrapped"


async def test_deps_wrap_deps_false_failure_is_unexpected() -> None:
    boom = RuntimeError("boom")

    def charge() -> None:
        raise boom

    result = await _run({"payments": charge}, lambda ctx: ctx.deps["payments"](), wrap_deps=False)
    assert isinstance(result.error, UnexpectedFailure)
    assert result.error.error is boom


async def test_deps_wrap_deps_false_gives_the_exact_object() -> None:
    deps = {"db": Db()}
    seen: list[Any] = []
    assert (await _run(deps, lambda ctx: seen.append(ctx.deps), wrap_deps=False)).ok
    assert seen[0] is deps


async def test_deps_wrapped_deps_are_not_the_exact_object() -> None:
    deps = {"db": Db()}
    seen: list[Any] = []
    assert (await _run(deps, lambda ctx: seen.append(ctx.deps))).ok
    assert seen[0] is not deps


@pytest.mark.parametrize("value", [42, "config", 1.5])
async def test_deps_plain_value_deps_are_passed_through(value: Any) -> None:
    seen: list[Any] = []
    assert (await _run(value, lambda ctx: seen.append(ctx.deps))).ok
    assert seen == [value]


# --- data read from deps behaves like data ---------------------------------------------------


async def test_deps_pure_data_sequences_pass_through_unchanged() -> None:
    tags = ["a", "b"]
    limits = (1, 2.5)
    flags = frozenset({"x"})
    records = [{"id": 1, "tags": ["t"]}]
    seen: list[Any] = []

    def handler(ctx: Context) -> None:
        config = ctx.deps.config
        seen.extend([config.tags, config.limits, config.flags, config.records])

    deps = {"config": {"tags": tags, "limits": limits, "flags": flags, "records": records}}
    assert (await _run(deps, handler)).ok
    assert seen[0] is tags
    assert seen[1] is limits
    assert seen[2] is flags
    assert seen[3] is records


async def test_deps_sequences_holding_functions_stay_wrapped() -> None:
    def fail() -> None:
        raise RuntimeError("hook down")

    error = _dependency(await _run({"hooks": [fail]}, lambda ctx: ctx.deps.hooks[0]()))
    assert error.name == "hooks"


async def test_deps_mapping_data_can_be_used_as_state_data() -> None:
    # Improvement: the proxy of a mapping is a Mapping, so pydantic validates it.
    deps = {"defaults": {"doing": {"title": "from deps", "assignee": "ada", "extra": 1}}}
    definition = make_task_definition()
    router = WorkflowRouter(definition, deps)
    router.state("Todo").on("Finish", lambda ctx: ctx.transition("Doing", ctx.deps.defaults.doing))
    wf = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
    result = await router.dispatch(wf, FINISH)
    assert result.ok, result.error
    assert result.workflow is not None
    assert result.workflow.data.model_dump() == {"title": "from deps", "assignee": "ada"}


async def test_deps_wrapped_values_compare_equal_to_what_they_wrap() -> None:
    seen: list[bool] = []
    config = {"retries": 3, "hosts": {"a": "x"}}

    def handler(ctx: Context) -> None:
        seen.append(ctx.deps.config == config)
        seen.append(ctx.deps.config.hosts == {"a": "x"})
        seen.append(ctx.deps.config != {"retries": 4})
        seen.append(dict(ctx.deps.config.hosts) == {"a": "x"})

    assert (await _run({"config": config}, handler)).ok
    assert seen == [True, True, True, True]
