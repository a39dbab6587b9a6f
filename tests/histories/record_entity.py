"""Record entity histories for ``tests/adapter/test_replay.py`` (run by hand, then commit).

    .venv/bin/python -m tests.histories.record_entity

On an in-memory dev server, with the routers of ``tests/adapter/_routers.py``, records:

* ``entity_basic.json``: an ``AdapterTask`` entity (id ``entity-basic``) through every kind
  of dispatch: creation, a transition (search attribute upsert), concurrent commands, a
  domain error, ``NO_HANDLER``, a handler bug, a dependency failure, a validator rejection
  (leaves no event), a retried command id, and the final transition to ``Done``.
* ``entity_continued.json``: the first run of ``entity-continued``, which ended in
  continue-as-new (``max_history_events=CONTINUED_MAX_HISTORY``).
* ``entity_reactor.json``: an ``AdapterOrder`` (``entity-order``) whose ``OrderPaid`` event
  was delivered to its shipment by the reactor activity.

Re-record only on purpose: a history that no longer replays is the test catching a
non-deterministic change to the entity workflow.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer

from ..adapter._routers import (
    build_reactor_routers,
    build_task_router,
    hosted,
    run_chain,
)

HERE = Path(__file__).resolve().parent
BASIC = HERE / "entity_basic.json"
CONTINUED = HERE / "entity_continued.json"
REACTOR = HERE / "entity_reactor.json"
BASIC_ID = "entity-basic"
CONTINUED_ID = "entity-continued"
ORDER_ID = "entity-order"
CONTINUED_MAX_HISTORY = 100


async def _write(client: Client, workflow_id: str, path: Path, run_id: str | None = None) -> None:
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    text = json.dumps(json.loads(history.to_json()), indent=1) + "\n"
    await asyncio.to_thread(path.write_text, text)


async def _record_basic(server: DevServer) -> None:
    router = build_task_router()
    async with hosted(server.target, "record-basic", router) as client:
        tasks = RouterClient(client, router, task_queue="record-basic")
        await tasks.create(BASIC_ID, initial_state="Todo", data={"title": "recorded"})
        steps = [
            ({"type": "Finish", "payload": {}}, "early-finish"),  # domain error
            ({"type": "Start", "payload": {"assignee": "ada"}}, "start"),
            ({"type": "Archive", "payload": {}}, "archive"),  # NO_HANDLER
            ({"type": "Explode", "payload": {"kind": "unexpected"}}, "bug"),
            ({"type": "Explode", "payload": {"kind": "dependency"}}, "dependency"),
            ({"type": "Start", "payload": {"assignee": ""}}, "invalid"),  # validator
        ]
        for command, command_id in steps:
            await tasks.dispatch(BASIC_ID, command, command_id=command_id)
        await asyncio.gather(
            *(
                tasks.dispatch(
                    BASIC_ID, {"type": "Append", "payload": {"n": n}}, command_id=f"a{n}"
                )
                for n in range(5)
            )
        )
        await tasks.dispatch(
            BASIC_ID, {"type": "Start", "payload": {"assignee": "ada"}}, command_id="start"
        )
        finished = await tasks.dispatch(
            BASIC_ID, {"type": "Finish", "payload": {}}, command_id="finish"
        )
        assert finished.ok, finished.error
        await _write(client, BASIC_ID, BASIC)


async def _record_continued(server: DevServer) -> None:
    router = build_task_router()
    async with hosted(
        server.target, "record-continued", router, max_history_events=CONTINUED_MAX_HISTORY
    ) as client:
        tasks = RouterClient(client, router, task_queue="record-continued")
        await tasks.create(CONTINUED_ID, initial_state="Todo", data={"title": "long"})
        while len(await run_chain(client, CONTINUED_ID)) < 2:
            await tasks.dispatch(CONTINUED_ID, {"type": "Append", "payload": {"n": 1}})
        first_run, _ = (await run_chain(client, CONTINUED_ID))[0]
        await _write(client, CONTINUED_ID, CONTINUED, run_id=first_run)


async def _record_reactor(server: DevServer) -> None:
    orders, shipping, reactors = build_reactor_routers()
    async with hosted(
        server.target, "record-reactor", orders, shipping, reactors=reactors
    ) as client:
        order_client = RouterClient(client, orders, task_queue="record-reactor")
        ship_client = RouterClient(client, shipping, task_queue="record-reactor")
        await ship_client.create(f"ship-{ORDER_ID}", initial_state="Waiting", data={})
        await order_client.create(ORDER_ID, initial_state="Open", data={"total": 9})
        await order_client.dispatch(
            ORDER_ID, {"type": "Pay", "payload": {"amount": 9}}, command_id="pay"
        )
        for _ in range(300):  # the activity's completion reaches the order's history
            history = await client.get_workflow_handle(ORDER_ID).fetch_history()
            if any(
                e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED for e in history.events
            ):
                break
            await asyncio.sleep(0.1)
        assert (await ship_client.get(f"ship-{ORDER_ID}")).state == "Preparing"
        await _write(client, ORDER_ID, REACTOR)


async def record() -> list[Path]:
    async with DevServer() as server:
        await _record_basic(server)
        await _record_continued(server)
        await _record_reactor(server)
    return [BASIC, CONTINUED, REACTOR]


def main() -> int:
    for path in asyncio.run(record()):
        print(path.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
