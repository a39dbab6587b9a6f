"""Middleware as Temporal interceptors: the order rule, installing the plugin more than once,
and replay when header-only router middleware is added or removed.

The order rule (``temporal_router/adapter/_interceptor.py``): Temporal interceptors run in
list order, outermost first: the client's (the application's own, then ``RouterPlugin``'s
caller-context interceptor, then ``RouterExtension`` interceptors), then the worker's own;
router middleware runs inside them all, in the entity's ``dispatch`` update handler: global
(the router's, then extensions'), state, inline, then the handler.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import temporalio.client
import temporalio.worker
from pydantic import BaseModel
from temporalio import workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker

from temporal_router import (
    ConfigurationError,
    Context,
    WorkflowRouter,
    caller_context,
    current_caller,
    define_workflow,
)
from temporal_router.adapter import RouterClient, RouterExtension, RouterPlugin
from temporal_router.adapter._interceptor import (
    CALLER_HEADER,
    RouterInterceptor,
    _ClientOutbound,
    _WorkflowInbound,
)
from temporal_router.testing import DevServer, unique_task_queue

from ._hook_support import ok_data

RECORD: list[str] = []


def record(item: str) -> None:
    """Append ``item``, except while a workflow replays (handlers re-run then)."""
    if workflow.in_workflow() and workflow.unsafe.is_replaying():
        return
    RECORD.append(item)


def _identity() -> str:
    caller = current_caller()
    return caller.identity or "-" if caller else "none"


# -- the definition and its routers ----------------------------------------------------------------


class Counter(BaseModel):
    count: int = 0


class Go(BaseModel):
    pass


counter = define_workflow(
    "InterceptedCounter", states={"Counting": Counter}, commands={"Go": Go}, events={}, errors={}
)


def _middleware(name: str) -> Callable[[Context, Callable[[], Awaitable[None]]], Awaitable[None]]:
    async def middleware(ctx: Context, next: Callable[[], Awaitable[None]]) -> None:
        record(f"{name}:enter:{ctx.caller.identity if ctx.caller else 'none'}")
        await next()
        record(f"{name}:exit")

    middleware.__name__ = name
    return middleware


def _go(ctx: Context) -> None:
    record("handler")
    ctx.update(count=ctx.data.count + 1)


def ordered_router() -> WorkflowRouter:
    router = WorkflowRouter(counter)
    router.use(_middleware("global"))
    router.state("Counting").use(_middleware("state"))
    router.state("Counting").on("Go", _middleware("inline"), _go)
    return router


# -- recording interceptors ------------------------------------------------------------------------


class _RecordingClientOutbound(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, name: str) -> None:
        super().__init__(next)
        self.name = name

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput) -> Any:
        header = "header" if CALLER_HEADER in (input.headers or {}) else "no-header"
        record(f"{self.name}:client:{header}")
        return await super().start_workflow_update(input)


def _recording_inbound(name: str) -> type[temporalio.worker.WorkflowInboundInterceptor]:
    class Inbound(temporalio.worker.WorkflowInboundInterceptor):
        async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
            record(f"{name}:enter:{_identity()}")
            try:
                return await super().handle_update_handler(input)
            finally:
                record(f"{name}:exit")

    return Inbound


class Recording(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Records the dispatch update on the client and on the worker, with the caller it sees."""

    def __init__(self, name: str) -> None:
        self.name = name

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        return _RecordingClientOutbound(next, self.name)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _recording_inbound(self.name)


class WorkerRecording(temporalio.worker.Interceptor):
    """A worker-only interceptor, given to ``Worker(interceptors=...)``."""

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor]:
        return _recording_inbound("worker")


@pytest.fixture
def recorded() -> list[str]:
    RECORD.clear()
    return RECORD


@pytest.fixture
def spy_router_interceptor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every run of temporal-router's own interceptor (client and workflow side)."""
    client_update = _ClientOutbound.start_workflow_update
    handler = _WorkflowInbound.handle_update_handler

    async def spy_client(self: Any, input: Any) -> Any:
        record("router-interceptor:client")
        return await client_update(self, input)

    async def spy_handler(self: Any, input: Any) -> Any:
        record("router-interceptor:workflow")
        return await handler(self, input)

    monkeypatch.setattr(_ClientOutbound, "start_workflow_update", spy_client)
    monkeypatch.setattr(_WorkflowInbound, "handle_update_handler", spy_handler)


async def _go_once(client: Client, task_queue: str, router: WorkflowRouter) -> None:
    counters = RouterClient(client, router, task_queue=task_queue)
    entity = f"counter-{uuid.uuid4().hex[:10]}"
    await counters.create(entity, initial_state="Counting", data={})
    RECORD.clear()
    with caller_context(identity="ada"):
        result = await counters.dispatch(entity, {"type": "Go"})
    assert ok_data(result).count == 1


# -- the order rule ---------------------------------------------------------------------------------


async def test_interceptor_and_middleware_order_is_pinned(
    temporal_dev_server: DevServer, recorded: list[str]
) -> None:
    router = ordered_router()
    extension = RouterExtension(
        "audit", middleware=[_middleware("extension-mw")], interceptors=[Recording("extension")]
    )
    plugin = RouterPlugin(router, extensions=[extension])
    queue = unique_task_queue("order")
    client = await Client.connect(
        temporal_dev_server.target, interceptors=[Recording("app")], plugins=[plugin]
    )
    async with Worker(client, task_queue=queue, interceptors=[WorkerRecording()]):
        await _go_once(client, queue, router)
    assert recorded == [
        # client: the application's interceptor first (before the caller header is set),
        # then RouterPlugin's (sets it), then the extension's (sees it)
        "app:client:no-header",
        "extension:client:header",
        # worker: the client's interceptors in the same order, then the worker's own
        "app:enter:none",
        "extension:enter:ada",
        "worker:enter:ada",
        # router middleware, innermost: global (router's, then extension's), state, inline
        "global:enter:ada",
        "extension-mw:enter:ada",
        "state:enter:ada",
        "inline:enter:ada",
        "handler",
        "inline:exit",
        "state:exit",
        "extension-mw:exit",
        "global:exit",
        "worker:exit",
        "extension:exit",
        "app:exit",
    ]


async def test_plugin_on_the_worker_only_runs_after_the_worker_s_own_interceptors(
    temporal_dev_server: DevServer, recorded: list[str]
) -> None:
    router = ordered_router()
    extension = RouterExtension("audit", interceptors=[Recording("extension")])
    plugin = RouterPlugin(router, extensions=[extension])
    queue = unique_task_queue("order-worker")
    # A client with the plugin sends the caller; a worker client without it hosts.
    sender = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    host = await Client.connect(temporal_dev_server.target, data_converter=sender.data_converter)
    async with Worker(host, task_queue=queue, interceptors=[WorkerRecording()], plugins=[plugin]):
        await _go_once(sender, queue, router)
    worker_side = [r for r in recorded if ":client:" not in r]
    assert worker_side[:3] == ["worker:enter:none", "extension:enter:ada", "global:enter:ada"]
    assert worker_side[-2:] == ["extension:exit", "worker:exit"]


# -- installing the plugin more than once -----------------------------------------------------------


@asynccontextmanager
async def _installed(
    target: str, queue: str, plugin: RouterPlugin, how: str
) -> AsyncIterator[Client]:
    if how == "client-twice":
        client = await Client.connect(target, plugins=[plugin, plugin])
        async with Worker(client, task_queue=queue):
            yield client
    elif how == "client-and-worker":
        client = await Client.connect(target, plugins=[plugin])
        with warnings.catch_warnings():
            # temporalio warns that the same plugin type is on client and worker; we dedupe.
            warnings.filterwarnings("ignore", "The same plugin type", UserWarning)
            worker = Worker(client, task_queue=queue, plugins=[plugin])
        async with worker:
            yield client
    else:
        client = await Client.connect(target, plugins=[plugin])
        async with Worker(client, task_queue=queue):
            yield client


@pytest.mark.parametrize("how", ["once", "client-twice", "client-and-worker"])
async def test_installing_the_plugin_twice_runs_everything_once(
    temporal_dev_server: DevServer,
    recorded: list[str],
    spy_router_interceptor: None,
    how: str,
) -> None:
    router = ordered_router()
    extension = RouterExtension(
        "audit", middleware=[_middleware("extension-mw")], interceptors=[Recording("extension")]
    )
    plugin = RouterPlugin(router, extensions=[extension])
    queue = unique_task_queue(f"twice-{how}")
    async with _installed(temporal_dev_server.target, queue, plugin, how) as client:
        assert (
            sum(
                isinstance(i, RouterInterceptor)
                for i in client.config(active_config=True)["interceptors"]
            )
            == 1
        )
        await _go_once(client, queue, router)
    assert len(recorded) == len(set(recorded)), recorded
    for expected in (
        "router-interceptor:client",
        "router-interceptor:workflow",
        "extension:client:header",
        "extension:enter:ada",
        "extension-mw:enter:ada",
        "handler",
    ):
        assert recorded.count(expected) == 1, (expected, recorded)


async def test_an_extension_used_twice_on_a_pure_router_runs_once(recorded: list[str]) -> None:
    router = WorkflowRouter(counter)
    router.state("Counting").on("Go", _go)
    extension = RouterExtension("audit", middleware=[_middleware("extension-mw")])
    router.use(extension)
    router.use(extension)
    RouterPlugin(router, extensions=[extension])
    RouterPlugin(router, extensions=[extension])
    wf = counter.create_workflow("c", initial_state="Counting", data={})
    result = await router.dispatch(wf, {"type": "Go", "payload": {}})
    assert result.ok, result.error
    assert recorded == ["extension-mw:enter:none", "handler", "extension-mw:exit"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"middleware": ["not callable"]}, "is not callable"),
        ({"hooks": {"after:everything": print}}, "unknown hook event"),
        ({"hooks": {"transition": ["x"]}}, "is not callable"),
        ({"interceptors": [object()]}, "not a temporalio client or worker Interceptor"),
    ],
)
def test_router_extension_rejects_bad_parts(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        RouterExtension("bad", **kwargs)
    with pytest.raises(ConfigurationError, match="needs a name"):
        RouterExtension("")


# -- determinism: header-only middleware -------------------------------------------------------------


def _plain_router() -> WorkflowRouter:
    router = WorkflowRouter(counter)
    router.state("Counting").on("Go", _go)
    return router


def _reading_router() -> WorkflowRouter:
    """The same router plus a middleware that only reads the caller."""
    router = _plain_router()

    async def read_caller(ctx: Context, next: Callable[[], Awaitable[None]]) -> None:
        record(f"read:{ctx.caller.identity if ctx.caller else 'none'}")
        await next()

    router.use(read_caller)
    return router


def _timer_router() -> WorkflowRouter:
    """A middleware that is *not* header-only: it starts a timer (a command)."""
    router = _plain_router()

    async def sleepy(ctx: Context, next: Callable[[], Awaitable[None]]) -> None:
        await workflow.sleep(0.01)
        await next()

    router.use(sleepy)
    return router


async def _record_history(target: str, router: WorkflowRouter) -> WorkflowHistory:
    queue = unique_task_queue("replay-mw")
    client = await Client.connect(target, plugins=[RouterPlugin(router)])
    counters = RouterClient(client, router, task_queue=queue)
    entity = f"replay-{uuid.uuid4().hex[:10]}"
    async with Worker(client, task_queue=queue):
        with caller_context(identity="creator"):
            await counters.create(entity, initial_state="Counting", data={})
        for who in ("ada", "bob", None):
            with caller_context(identity=who):
                result = await counters.dispatch(entity, {"type": "Go"})
            assert result.ok, result.error
    return await client.get_workflow_handle(entity).fetch_history()


async def _replay(history: WorkflowHistory, router: WorkflowRouter) -> Any:
    replayer = Replayer(workflows=[], plugins=[RouterPlugin(router)])
    return await replayer.replay_workflow(history, raise_on_replay_failure=False)


async def test_adding_or_removing_header_only_middleware_keeps_histories_replayable(
    temporal_dev_server: DevServer, recorded: list[str]
) -> None:
    without = await _record_history(temporal_dev_server.target, _plain_router())
    with_reader = await _record_history(temporal_dev_server.target, _reading_router())
    assert "read:ada" in recorded  # the middleware ran when recording

    added = await _replay(without, _reading_router())
    assert added.replay_failure is None, added.replay_failure
    removed = await _replay(with_reader, _plain_router())
    assert removed.replay_failure is None, removed.replay_failure

    # The check has teeth: a middleware that issues a command does break replay.
    broken = await _replay(without, _timer_router())
    assert broken.replay_failure is not None
    assert "nondetermin" in str(broken.replay_failure).lower()
