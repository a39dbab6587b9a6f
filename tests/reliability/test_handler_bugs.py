"""Handler bugs fail their own dispatch with ``unexpected`` and leave the entity healthy.

A handler that raises, one that never finishes (a timer loop, ended by ``dispatch_timeout``),
and two that produce values pydantic cannot dump to JSON (in the data, in an event). Each
time: the state and version are those from before, no workflow task failed (so nothing is
retried in a loop), and the next command completes at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from temporal_router import UnexpectedFailure
from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer
from temporal_router.testing._temporal import unique_task_queue

from ._app import Healthy, bounded, build_buggy_router, hosted

DISPATCH_TIMEOUT = timedelta(seconds=2)


@dataclass
class Env:
    client: Client
    buggy: RouterClient


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    router = build_buggy_router()
    queue = unique_task_queue("handler-bugs")
    async with hosted(
        temporal_dev_server.target, queue, router, dispatch_timeout=DISPATCH_TIMEOUT
    ) as client:
        yield Env(client, RouterClient(client, router, task_queue=queue))


async def _event_counts(client: Client, entity: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    async for event in client.get_workflow_handle(entity).fetch_history_events():
        counts[event.event_type] = counts.get(event.event_type, 0) + 1
    return counts


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("Raise", "handler bug: boom"),
        ("BadUpdate", "cannot be serialized"),
        ("BadEvent", "cannot be serialized"),
        ("LoopForever", "did not finish within"),
    ],
)
@bounded(60)
async def test_a_handler_bug_fails_its_dispatch_and_the_entity_carries_on(
    env: Env, command: str, says: str
) -> None:
    entity = f"{env.buggy.task_queue}-{command}"
    await env.buggy.create(entity, initial_state="Healthy", data={})
    assert (await env.buggy.dispatch(entity, {"type": "Bump", "payload": {}})).ok

    started = time.monotonic()
    failed = await asyncio.wait_for(
        env.buggy.dispatch(entity, {"type": command, "payload": {}}), 30
    )
    elapsed = time.monotonic() - started

    assert isinstance(failed.error, UnexpectedFailure), failed
    assert says in failed.error.message, failed.error.message
    if command == "LoopForever":
        # The timeout ended it: not sooner, and not much later.
        assert DISPATCH_TIMEOUT.total_seconds() <= elapsed < DISPATCH_TIMEOUT.total_seconds() + 8
    else:
        assert elapsed < 5, elapsed
    snap = await env.buggy.get(entity)
    assert (snap.version, snap.data) == (2, Healthy(n=1))

    # No workflow task failed, none is being retried, and the next command goes through.
    counts = await _event_counts(env.client, entity)
    assert counts.get(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED, 0) == 0, counts
    described = await env.client.get_workflow_handle(entity).describe()
    pending = described.raw_description.pending_workflow_task
    assert pending.attempt <= 1, pending
    started = time.monotonic()
    after = await asyncio.wait_for(env.buggy.dispatch(entity, {"type": "Bump", "payload": {}}), 10)
    assert after.ok, after.error
    assert time.monotonic() - started < 5
    assert (await env.buggy.get(entity)).data == Healthy(n=2)

    if command == "LoopForever":
        # The loop was cancelled with its dispatch: it starts no more timers.
        timers = counts.get(EventType.EVENT_TYPE_TIMER_STARTED, 0)
        assert timers >= 2  # the dispatch timer and at least one loop iteration
        await asyncio.sleep(2.5)
        later = await _event_counts(env.client, entity)
        assert later.get(EventType.EVENT_TYPE_TIMER_STARTED, 0) == timers, (counts, later)
