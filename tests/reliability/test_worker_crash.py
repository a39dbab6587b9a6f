"""Worker crashes: 500 commands to 50 entities while the worker process is SIGKILLed twice.

The client retries every dispatch with the same command id until it gets an answer; some
commands wait on a hook (a child workflow sleeping on a timer), so hooks are in flight at
each kill. Afterwards each entity's data lists the ids it applied: every command is applied
exactly once, in the order it was sent, every hook answered, and no hook started twice.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer

from ._app import (
    LEDGER,
    Attempts,
    Echo,
    bounded,
    build_ledger_router,
    dispatch_until_answered,
    ledger_figures,
)
from ._process import WorkerProcess

ENTITIES = 50
COMMANDS = 500
HOT = 5  # entities that get 50 commands each and continue-as-new along the way
HOOK_EVERY = 8  # about one command in eight waits for a hook


def _plan(prefix: str) -> dict[str, list[dict[str, Any]]]:
    """Commands per entity, in sending order: 5 hot entities x 50, 45 others share 250."""
    rng = random.Random(20240607)
    entities = [f"{prefix}-e{i:02d}" for i in range(ENTITIES)]
    counts = dict.fromkeys(entities, 0)
    for entity in entities[:HOT]:
        counts[entity] = 50
    cold = entities[HOT:]
    for n in range(COMMANDS - 50 * HOT):
        counts[cold[n % len(cold)]] += 1
    plan: dict[str, list[dict[str, Any]]] = {}
    for entity, count in counts.items():
        commands = []
        for k in range(count):
            cid = f"{entity}-c{k:02d}"
            if rng.randrange(HOOK_EVERY) == 0:
                delay = round(rng.uniform(0.5, 2.0), 2)
                commands.append({"type": "AddViaHook", "payload": {"cid": cid, "delay": delay}})
            else:
                commands.append({"type": "Add", "payload": {"cid": cid}})
        plan[entity] = commands
    assert sum(len(c) for c in plan.values()) == COMMANDS
    return plan


async def _runs(client: Client, entity: str) -> list[Any]:
    """Every run of ``entity``'s chain, newest first, as fetched histories."""
    histories = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(entity, run_id=run_id).fetch_history()
        histories.append(history)
        started = history.events[0].workflow_execution_started_event_attributes
        run_id = started.continued_execution_run_id or None
        if run_id is None:
            return histories


@bounded(300)
async def test_commands_survive_two_worker_crashes_exactly_once(
    temporal_dev_server: DevServer, task_queue: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    worker = WorkerProcess(
        temporal_dev_server.target, task_queue, tmp_path / "worker.log", max_history=100
    )
    await worker.start()
    try:
        client = await Client.connect(
            temporal_dev_server.target,
            plugins=[RouterPlugin(build_ledger_router(), workflows=[Echo])],
        )
        ledger = RouterClient(client, LEDGER, task_queue=task_queue)
        plan = _plan(task_queue)
        await asyncio.gather(*(ledger.create(e, initial_state="Open", data={}) for e in plan))

        acknowledged: set[str] = set()
        results: dict[str, Any] = {}
        attempts: dict[str, Attempts] = defaultdict(Attempts)
        hooks_in_flight: set[str] = set()
        hooks_in_flight_at_kill: list[int] = []

        async def stream(entity: str, commands: list[dict[str, Any]]) -> None:
            for command in commands:
                cid = command["payload"]["cid"]
                is_hook = command["type"] == "AddViaHook"
                if is_hook:
                    hooks_in_flight.add(cid)
                results[cid] = await dispatch_until_answered(
                    ledger, entity, command, cid, attempts=attempts[cid]
                )
                hooks_in_flight.discard(cid)
                acknowledged.add(cid)

        async def chaos() -> None:
            for threshold in (COMMANDS // 5, COMMANDS * 3 // 5):
                deadline = time.monotonic() + 120
                while not (len(acknowledged) >= threshold and hooks_in_flight):
                    assert time.monotonic() < deadline, "the run never reached the kill point"
                    await asyncio.sleep(0.02)
                hooks_in_flight_at_kill.append(len(hooks_in_flight))
                await worker.kill()
                await asyncio.sleep(0.5)
                await worker.start()

        await asyncio.gather(chaos(), *(stream(e, cmds) for e, cmds in plan.items()))

        snapshots = await asyncio.gather(*(ledger.get(e) for e in plan))
        applied = {s.id: list(s.data.ids) for s in snapshots}
        sent = {e: [c["payload"]["cid"] for c in cmds] for e, cmds in plan.items()}
        figures = ledger_figures(sent, acknowledged, applied)
        retried = sum(1 for a in attempts.values() if a.tries > 1)
        hook_commands = [
            c["payload"]["cid"] for cmds in plan.values() for c in cmds if c["type"] == "AddViaHook"
        ]
        line = figures.line("worker crash x2")
        print(
            f"\n{line} kills={worker.kills} hooks_in_flight_at_kill={hooks_in_flight_at_kill} "
            f"hook_commands={len(hook_commands)} retried_commands={retried} "
            f"seconds={time.monotonic() - started:.1f}"
        )

        assert worker.kills == 2, line
        assert all(n >= 1 for n in hooks_in_flight_at_kill), hooks_in_flight_at_kill
        assert retried > 0, f"no command needed a retry: the kills hit nothing ({line})"
        assert figures.sent == COMMANDS, line
        assert figures.acknowledged == COMMANDS, line
        assert figures.applied == COMMANDS, line
        assert figures.duplicates == 0, line
        assert figures.lost == 0, line
        assert figures.unknown == 0, line
        assert figures.out_of_order == 0, line
        assert figures.per_entity_mismatch == [], line

        # Every acknowledged result is the success of that very command, seen right after it.
        for cid, result in results.items():
            assert result.ok, (cid, result.error)
            assert result.workflow is not None
            assert result.workflow.data.ids[-1] == cid, cid
        for snap in snapshots:
            assert snap.version == 1 + len(sent[snap.id]), (snap.id, snap.version)
            # Hooks answered, each once, in the order their commands were sent.
            expected_hooked = [c for c in sent[snap.id] if c in set(hook_commands)]
            assert snap.data.hooked == expected_hooked, snap.id

        # No hook was started twice by a replaying worker, and each one finished; the hot
        # entities really continued-as-new under the crashes.
        hook_ids: list[str] = []
        runs_per_entity: dict[str, int] = {}
        for entity in plan:
            histories = await _runs(client, entity)
            runs_per_entity[entity] = len(histories)
            for history in histories:
                hook_ids += [
                    e.start_child_workflow_execution_initiated_event_attributes.workflow_id
                    for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
                ]
        assert len(hook_ids) == len(set(hook_ids)) == len(hook_commands), (
            len(hook_ids),
            len(set(hook_ids)),
            len(hook_commands),
        )
        statuses = await asyncio.gather(
            *(client.get_workflow_handle(h).describe() for h in hook_ids)
        )
        assert {d.status for d in statuses} == {WorkflowExecutionStatus.COMPLETED}
        hot = [runs_per_entity[e] for e in list(plan)[:HOT]]
        print(f"runs of the hot entities: {hot}")
        assert min(hot) >= 2, f"hot entities did not continue-as-new: {hot}"
    finally:
        await worker.stop()
        if worker.kills < 2:
            print(worker.log_tail())
