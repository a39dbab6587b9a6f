"""Server restarts: a dev server on a SQLite file restarts while commands and a hook are in flight.

Entities keep their state and version, every command the retrying client got an answer for
is applied exactly once, and an ``exec_hook`` whose hook sleeps on a timer past the restart
still gets its answer.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer

from ._app import (
    bounded,
    build_ledger_router,
    dispatch_until_answered,
    eventually,
    hosted,
    ledger_figures,
)

ENTITIES = 5
BEFORE = 10  # commands per entity acknowledged before the restart
DURING = 20  # commands per entity sent while the server restarts
HOOK_DELAY = 6.0  # seconds the hook sleeps: longer than the restart takes


async def _hook_started(client: Client, entity: str) -> str | None:
    history = await client.get_workflow_handle(entity).fetch_history()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            return event.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
    return None


@pytest.mark.parametrize("how", ["stop", "kill"])
@bounded(180)
async def test_state_and_pending_hook_survive_a_server_restart(
    how: str, tmp_path: Path, task_queue: str
) -> None:
    started = time.monotonic()
    router = build_ledger_router()
    server = DevServer(db_filename=tmp_path / "temporal.sqlite")
    await server.start()
    try:
        async with hosted(server.target, task_queue, router) as client:
            ledger = RouterClient(client, router, task_queue=task_queue)
            entities = [f"{task_queue}-e{i}" for i in range(ENTITIES)]
            for entity in entities:
                await ledger.create(entity, initial_state="Open", data={})
            sent: dict[str, list[str]] = {e: [] for e in entities}
            acknowledged: set[str] = set()

            async def send(entity: str, command: dict[str, Any]) -> None:
                cid = command["payload"]["cid"]
                sent[entity].append(cid)
                result = await dispatch_until_answered(ledger, entity, command, cid)
                assert result.ok, (cid, result.error)
                acknowledged.add(cid)

            for entity in entities:
                for k in range(BEFORE):
                    await send(entity, {"type": "Add", "payload": {"cid": f"{entity}-b{k}"}})
            before = {e: await ledger.get(e) for e in entities}

            # A dispatch waiting for a hook that sleeps past the restart.
            hooked_entity = entities[0]
            hook_cid = f"{hooked_entity}-hook"
            waiting = asyncio.create_task(
                send(
                    hooked_entity,
                    {"type": "AddViaHook", "payload": {"cid": hook_cid, "delay": HOOK_DELAY}},
                )
            )
            hook_id = await eventually(lambda: _hook_started(client, hooked_entity))

            async def stream(entity: str) -> None:
                for k in range(DURING):
                    await send(entity, {"type": "Add", "payload": {"cid": f"{entity}-d{k}"}})

            streams = [asyncio.create_task(stream(e)) for e in entities[1:]]

            async def some_acknowledged_meanwhile() -> bool:
                return len(acknowledged) >= ENTITIES * BEFORE + 10

            await eventually(some_acknowledged_meanwhile)
            restart_began = time.monotonic()
            pid = server.pid
            await server.restart(kill=how == "kill")
            assert server.pid != pid
            restart_seconds = time.monotonic() - restart_began
            back_at = datetime.now(UTC)
            await asyncio.wait_for(asyncio.gather(waiting, *streams), 120)
            # The entity that waited for its hook takes more commands after the restart.
            for k in range(DURING):
                await send(
                    hooked_entity, {"type": "Add", "payload": {"cid": f"{hooked_entity}-d{k}"}}
                )

            after = {e: await ledger.get(e) for e in entities}
            applied = {e: list(s.data.ids) for e, s in after.items()}
            figures = ledger_figures(sent, acknowledged, applied)
            line = figures.line(f"server restart ({how})")
            print(
                f"\n{line} restart_seconds={restart_seconds:.1f} "
                f"seconds={time.monotonic() - started:.1f}"
            )
            total = sum(len(ids) for ids in sent.values())
            assert figures.acknowledged == figures.sent == total, line
            assert figures.applied == total, line
            assert figures.duplicates == figures.lost == figures.unknown == 0, line
            assert figures.out_of_order == 0, line
            assert figures.per_entity_mismatch == [], line
            for entity in entities:
                # Nothing from before the restart was lost or rewritten.
                assert applied[entity][:BEFORE] == list(before[entity].data.ids), entity
                assert after[entity].version == 1 + len(applied[entity]), entity
                assert after[entity].created_at == before[entity].created_at
            assert after[hooked_entity].data.hooked == [hook_cid]
            # The hook's timer fired after the server came back, and it answered.
            hook = await client.get_workflow_handle(hook_id).describe()
            assert hook.status == WorkflowExecutionStatus.COMPLETED
            assert hook.close_time is not None
            assert hook.start_time is not None
            assert (hook.close_time - hook.start_time).total_seconds() >= HOOK_DELAY
            assert hook.close_time > back_at, (hook.close_time, back_at)
    finally:
        await server.stop()
