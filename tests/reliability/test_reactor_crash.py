"""Reactor delivery across a worker crash: attempted at least once, applied exactly once.

Each command applied to ledger ``X`` emits ``Added``; a reactor turns it into an ``Add`` of the
same id on ``X-mirror``, delivered by the entity's outbox (an activity, retried until it
lands). The worker process is SIGKILLed while deliveries are under way; afterwards every
mirror holds exactly its source's ids, once each, in the source's order.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer

from ._app import (
    LEDGER,
    Echo,
    bounded,
    build_ledger_router,
    dispatch_until_answered,
    eventually,
    ledger_figures,
)
from ._process import WorkerProcess

SOURCES = 5
PER_SOURCE = 12


async def _retried_deliveries(client: Client, entity: str) -> int:
    retried = 0
    async for event in client.get_workflow_handle(entity).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            retried += event.activity_task_started_event_attributes.attempt > 1
    return retried


@bounded(240)
async def test_reactor_commands_are_delivered_once_across_a_worker_crash(
    temporal_dev_server: DevServer, task_queue: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    worker = WorkerProcess(
        temporal_dev_server.target, task_queue, tmp_path / "worker.log", reactors=True
    )
    await worker.start()
    try:
        client = await Client.connect(
            temporal_dev_server.target,
            plugins=[RouterPlugin(build_ledger_router(), workflows=[Echo])],
        )
        ledger = RouterClient(client, LEDGER, task_queue=task_queue)
        sources = [f"{task_queue}-s{i}" for i in range(SOURCES)]
        for source in sources:
            await ledger.create(source, initial_state="Open", data={})
            await ledger.create(f"{source}-mirror", initial_state="Open", data={})
        sent = {s: [f"{s}-c{k:02d}" for k in range(PER_SOURCE)] for s in sources}
        acknowledged: set[str] = set()

        async def stream(source: str) -> None:
            for cid in sent[source]:
                result = await dispatch_until_answered(
                    ledger, source, {"type": "Add", "payload": {"cid": cid}}, cid
                )
                assert result.ok, (cid, result.error)
                acknowledged.add(cid)

        async def crash() -> None:
            async def far_enough() -> bool:
                return len(acknowledged) >= SOURCES * PER_SOURCE // 3

            await eventually(far_enough, timeout=60, interval=0.02)
            await worker.kill()
            await asyncio.sleep(0.5)
            await worker.start()

        await asyncio.gather(crash(), *(stream(s) for s in sources))

        async def mirrored() -> dict[str, list[str]]:
            snaps = await asyncio.gather(*(ledger.get(f"{s}-mirror") for s in sources))
            got = {s: list(snap.data.ids) for s, snap in zip(sources, snaps, strict=True)}
            done = sum(len(ids) for ids in got.values()) >= SOURCES * PER_SOURCE
            return got if done else {}

        # A delivery that was running in the killed worker is retried once its activity
        # times out (30 s), so allow for that.
        delivered = await eventually(mirrored, timeout=150, interval=0.5)
        await asyncio.sleep(1.0)  # anything delivered twice would show up by now
        delivered = await mirrored()
        figures = ledger_figures(sent, acknowledged, delivered)
        retried = sum([await _retried_deliveries(client, s) for s in sources])
        line = figures.line("reactor delivery, worker crash x1")
        print(
            f"\n{line} retried_deliveries={retried} kills={worker.kills} "
            f"seconds={time.monotonic() - started:.1f}"
        )
        assert worker.kills == 1
        assert figures.acknowledged == figures.sent == SOURCES * PER_SOURCE, line
        assert figures.applied == SOURCES * PER_SOURCE, line
        assert figures.duplicates == figures.lost == figures.unknown == 0, line
        assert figures.out_of_order == 0, line
        assert figures.per_entity_mismatch == [], line
        for source in sources:
            assert (await ledger.get(source)).data.ids == sent[source]
    finally:
        await worker.stop()
