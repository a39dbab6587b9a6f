"""Helpers for the hook, caller and interceptor tests: workers, histories, waiting."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from temporal_router import DispatchResult, WorkflowRouter
from temporal_router.adapter import RouterClient, RouterPlugin

from ._hook_entities import account_router
from ._hook_workflows import ALL_WORKFLOWS

__all__ = [
    "Env",
    "child_starts",
    "decoded_child_args",
    "eventually",
    "hook_client",
    "ok_data",
    "started_result",
    "status_of",
    "unexpected",
    "wait_status",
]


@asynccontextmanager
async def hook_client(
    target: str,
    task_queues: Sequence[str],
    *routers: WorkflowRouter,
    worker_kwargs: dict[str, Any] | None = None,
    **plugin_kwargs: Any,
) -> AsyncIterator[Client]:
    """A client with ``RouterPlugin(*routers, workflows=ALL_WORKFLOWS)`` and a worker per queue."""
    plugin = RouterPlugin(*routers, workflows=ALL_WORKFLOWS, **plugin_kwargs)
    client = await Client.connect(target, plugins=[plugin])
    async with AsyncExitStack() as stack:
        for queue in task_queues:
            await stack.enter_async_context(
                Worker(client, task_queue=queue, **(worker_kwargs or {}))
            )
        yield client


async def events(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    """All events of the handle's run (the first run, for a handle without run id)."""
    return list((await handle.fetch_history()).events)


async def child_starts(handle: WorkflowHandle[Any, Any]) -> list[Any]:
    """The ``StartChildWorkflowExecutionInitiated`` attributes in the run's history."""
    return [
        e.start_child_workflow_execution_initiated_event_attributes
        for e in await events(handle)
        if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    ]


async def decoded_child_args(client: Client, attributes: Any) -> list[Any]:
    """The arguments a child was started with, decoded by the client's converter."""
    return await client.data_converter.decode(attributes.input.payloads)


async def status_of(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    """The status of the latest run of ``workflow_id``; None if it does not exist (yet)."""
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Call ``probe`` until it returns something truthy; return that (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


async def started_result(client: Client, workflow_id: str, timeout: float = 20.0) -> Any:
    """The result of ``workflow_id``, waiting first for it to exist (a hook requested by
    signal starts a moment after the request returns)."""

    async def exists() -> bool:
        try:
            await client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    await eventually(exists, timeout=timeout)
    return await client.get_workflow_handle(workflow_id).result()


async def wait_status(
    client: Client, workflow_id: str, status: WorkflowExecutionStatus, timeout: float = 20.0
) -> None:
    async def probe() -> bool:
        return await status_of(client, workflow_id) == status

    await eventually(probe, timeout=timeout)


def ok_data(result: DispatchResult) -> Any:
    """The data of a successful dispatch (fails the test with the error otherwise)."""
    assert result.ok, result.error
    assert result.workflow is not None
    return result.workflow.data


def unexpected(result: DispatchResult) -> tuple[str, str]:
    """``(repr of the exception, message)`` of a dispatch that failed as ``unexpected``."""
    assert not result.ok
    assert result.error is not None
    assert result.error.category == "unexpected", result.error
    return repr(getattr(result.error, "error", None)), result.error.message


class Env:
    """A task queue with the hook workflows on it, and a RouterClient for accounts."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.accounts = RouterClient(client, account_router, task_queue=task_queue)

    def wid(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:10]}"

    async def run(self, workflow: Any, *args: Any, id: str | None = None) -> Any:
        return await self.client.execute_workflow(
            workflow,
            args=list(args),
            id=id or self.wid(workflow.__name__),
            task_queue=self.task_queue,
        )

    def child(self, spec: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """The kwargs of hook/exec_hook for a HookChild on this queue."""
        return {
            "task_queue": self.task_queue,
            "workflow_name": "HookChild",
            "args": [spec or {}],
            **kwargs,
        }

    async def new_account(self, prefix: str = "acct") -> str:
        entity = self.wid(prefix)
        await self.accounts.create(entity, initial_state="Open", data={})
        return entity
