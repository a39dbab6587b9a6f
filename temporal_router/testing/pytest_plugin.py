"""Pytest fixtures for testing routers on Temporal (needs ``pytest-asyncio``).

Enable them in your top-level ``conftest.py``::

    pytest_plugins = ["temporal_router.testing.pytest_plugin"]

and use a session-scoped event loop (the session fixtures below hold a client and servers), e.g.
in ``pyproject.toml``::

    [tool.pytest.ini_options]
    asyncio_mode = "auto"
    asyncio_default_fixture_loop_scope = "session"
    asyncio_default_test_loop_scope = "session"

Fixtures:

- ``temporal_dev_server`` (session): a running :class:`~temporal_router.adapter._dev.DevServer`
  (in memory, 127.0.0.1, router search attributes registered). Connect your own clients to
  ``temporal_dev_server.target``, e.g. with your ``RouterPlugin``.
- ``temporal_env`` (session): a ``WorkflowEnvironment`` on that server.
- ``temporal_client`` (session): ``temporal_env.client``.
- ``temporal_time_skipping_env`` (session): a time-skipping ``WorkflowEnvironment``.
- ``task_queue`` (per test): a task-queue name unique to the test.

Example::

    async def test_order(temporal_client, task_queue):
        async with Worker(temporal_client, task_queue=task_queue, workflows=[Order]):
            assert await temporal_client.execute_workflow(
                Order.run, id=task_queue, task_queue=task_queue
            ) == "done"
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from ._dev import DevServer
from ._temporal import dev_environment, time_skipping_environment, unique_task_queue

__all__ = [
    "task_queue",
    "temporal_client",
    "temporal_dev_server",
    "temporal_env",
    "temporal_time_skipping_env",
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_dev_server() -> AsyncIterator[DevServer]:
    """A dev server shared by the whole test session; stopped at its end."""
    async with DevServer() as server:
        yield server


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env(temporal_dev_server: DevServer) -> AsyncIterator[WorkflowEnvironment]:
    """A ``WorkflowEnvironment`` on the session's dev server."""
    async with dev_environment(temporal_dev_server) as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    """A client of the session's dev server (namespace ``default``, no plugins)."""
    return temporal_env.client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping environment shared by the session; tests using it must not overlap."""
    async with time_skipping_environment() as env:
        yield env


@pytest.fixture
def task_queue(request: pytest.FixtureRequest) -> str:
    """A task-queue name unique to this test, readable in the Web UI (it names the test)."""
    return unique_task_queue(request.node.name)
