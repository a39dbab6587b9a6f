"""The adapter can be imported by workflow code inside Temporal's default sandbox."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from ._ordinary_import import ImportsTheAdapter


async def test_workflow_importing_the_adapter_runs_in_a_default_sandbox(
    temporal_client: Client, task_queue: str
) -> None:
    # Nothing passed through: the sandbox imports temporal_router.adapter itself, and
    # refuses module-level work such as building a urllib opener.
    async with Worker(temporal_client, task_queue=task_queue, workflows=[ImportsTheAdapter]):
        result = await temporal_client.execute_workflow(
            ImportsTheAdapter.run,
            id=f"imports-adapter-{uuid.uuid4()}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=60),
        )
    assert result == "exec_hook RouterClient"
