"""Continue-as-new: entities stay bounded, keep their state and forget no command.

The 5,000-command test runs on its own dev server whose continue-as-new suggestion comes
early (``limit.historyCount.suggestContinueAsNew``), so the server's suggestion drives it;
the others use the plugin's own bound (``max_history_events``) on the session server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer

from ._routers import build_counter_router, build_task_router, hosted, run_chain

#: The dedicated server suggests continue-as-new at this many events.
SUGGEST_AT = 1_000
COMMANDS = 5_000
BATCH = 100


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def early_can_server() -> AsyncIterator[DevServer]:
    async with DevServer(
        dynamic_config={"limit.historyCount.suggestContinueAsNew": SUGGEST_AT}
    ) as server:
        yield server


async def test_5000_commands_across_runs(early_can_server: DevServer, task_queue: str) -> None:
    router = build_counter_router()
    # The plugin's own bound is out of reach: only the server's suggestion applies.
    async with hosted(
        early_can_server.target, task_queue, router, max_history_events=1_000_000
    ) as client:
        counter = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-n"
        await counter.create(entity, initial_state="Counting", data={})

        started = time.monotonic()
        versions: list[int] = []
        for _ in range(COMMANDS // BATCH):
            results = await asyncio.gather(
                *(counter.dispatch(entity, {"type": "Increment"}) for _ in range(BATCH))
            )
            assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
            for result in results:
                assert result.workflow is not None
                data: Any = result.workflow.data
                versions.append(data.count + 1)
        elapsed = time.monotonic() - started

        final = await counter.get(entity)
        assert final.data.count == COMMANDS
        assert final.version == COMMANDS + 1
        # Every command saw a distinct count: none applied twice, none lost.
        assert sorted(versions) == list(range(2, COMMANDS + 2))

        chain = await run_chain(client, entity)
        lengths = [length for _, length in chain]
        print(f"\n{COMMANDS} commands in {elapsed:.1f} s, {len(chain)} runs: {lengths}")
        assert len(chain) >= 4
        # Each finished run stopped soon after the suggestion (once its handlers finished).
        assert all(SUGGEST_AT <= length <= SUGGEST_AT + 200 for length in lengths[:-1])


async def test_plugin_bound_keeps_runs_short_and_state_intact(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(
        temporal_dev_server.target, task_queue, router, max_history_events=100
    ) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-b"
        created = await tasks.create(entity, initial_state="Todo", data={"title": "bounded"})
        started = await tasks.dispatch(entity, {"type": "Start", "payload": {"assignee": "ada"}})
        assert started.ok
        for n in range(60):
            result = await tasks.dispatch(entity, {"type": "Append", "payload": {"n": n}})
            assert result.ok, result.error

        chain = await run_chain(client, entity)
        lengths = [length for _, length in chain]
        print(f"\nrun lengths with max_history_events=100: {lengths}")
        assert len(chain) >= 2, lengths
        assert all(100 <= length <= 120 for length in lengths[:-1]), lengths

        snapshot = await tasks.get(entity)
        assert snapshot.state == "Doing"
        assert snapshot.data.model_dump() == {
            "title": "bounded",
            "assignee": "ada",
            "items": list(range(60)),
        }
        assert snapshot.version == 62
        assert snapshot.created_at == created.created_at
        finished = await tasks.dispatch(entity, {"type": "Finish", "payload": {}})
        assert finished.ok
        assert (await tasks.get(entity)).state == "Done"


async def test_command_ids_are_remembered_across_continue_as_new(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(
        temporal_dev_server.target, task_queue, router, max_history_events=100
    ) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-r"
        await tasks.create(entity, initial_state="Todo", data={"title": "remember"})
        first = await tasks.dispatch(
            entity, {"type": "Append", "payload": {"n": -1}}, command_id="early"
        )
        refused = await tasks.dispatch(
            entity, {"type": "Finish", "payload": {}}, command_id="refused"
        )
        assert first.ok
        assert refused.error is not None
        assert refused.error.category == "domain"
        first_run = (await client.get_workflow_handle(entity).describe()).run_id

        for n in range(50):
            assert (await tasks.dispatch(entity, {"type": "Append", "payload": {"n": n}})).ok
        assert len(await run_chain(client, entity)) >= 2
        assert (await client.get_workflow_handle(entity).describe()).run_id != first_run
        before = await tasks.get(entity)

        again = await tasks.dispatch(
            entity, {"type": "Append", "payload": {"n": -1}}, command_id="early"
        )
        refused_again = await tasks.dispatch(
            entity, {"type": "Finish", "payload": {}}, command_id="refused"
        )

        assert again == first
        assert refused_again == refused
        after = await tasks.get(entity)
        assert after.version == before.version == 52
        assert after.data.items == [-1, *range(50)]
