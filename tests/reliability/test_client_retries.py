"""Client retries: a command id applies once however often, and whenever, it is sent."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from temporal_router import DispatchResult, RouterFailure
from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer

from ._app import Ledger, bounded, build_ledger_router, hosted


def _same(results: list[DispatchResult]) -> None:
    first = results[0]
    assert first.ok, first.error
    for other in results[1:]:
        assert other.ok, other.error
        assert other.workflow == first.workflow
        assert [(e.type, e.data) for e in other.events] == [(e.type, e.data) for e in first.events]


@pytest.mark.parametrize(
    "command",
    [
        {"type": "Add", "payload": {"cid": "once"}},
        {"type": "AddViaHook", "payload": {"cid": "once", "delay": 1.0}},
    ],
    ids=["immediate", "waiting-for-a-hook"],
)
@bounded(60)
async def test_same_command_id_ten_times_concurrently_applies_once(
    temporal_dev_server: DevServer, task_queue: str, command: dict[str, Any]
) -> None:
    router = build_ledger_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        ledger = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-e"
        await ledger.create(entity, initial_state="Open", data={})

        results = await asyncio.gather(
            *(ledger.dispatch(entity, command, command_id="cmd-1") for _ in range(10))
        )
        late = await ledger.dispatch(entity, command, command_id="cmd-1")

        _same([*results, late])
        snap = await ledger.get(entity)
        applied = snap.data.ids.count("once")
        print(
            f"\nsame id x10 ({command['type']}): sent=11 applied={applied} duplicates={applied - 1}"
        )
        assert snap.version == 2
        assert snap.data.ids == ["once"]
        assert results[0].workflow == snap.workflow


@bounded(60)
async def test_retry_after_continue_as_new_gets_the_original_result(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_ledger_router()
    async with hosted(
        temporal_dev_server.target, task_queue, router, max_history_events=100
    ) as client:
        ledger = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-e"
        await ledger.create(entity, initial_state="Open", data={})
        first_run = (await client.get_workflow_handle(entity).describe()).run_id
        original = await ledger.dispatch(
            entity, {"type": "Add", "payload": {"cid": "early"}}, command_id="early"
        )
        for k in range(40):
            result = await ledger.dispatch(entity, {"type": "Add", "payload": {"cid": f"c{k}"}})
            assert result.ok, result.error
        assert (await client.get_workflow_handle(entity).describe()).run_id != first_run

        retries = await asyncio.gather(
            *(
                ledger.dispatch(
                    entity, {"type": "Add", "payload": {"cid": "early"}}, command_id="early"
                )
                for _ in range(10)
            )
        )

        _same([original, *retries])
        snap = await ledger.get(entity)
        assert snap.data.ids.count("early") == 1
        assert snap.version == 42


@bounded(60)
async def test_old_replies_too_big_to_carry_still_apply_once(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    """Remembered replies carry a snapshot each; across continue-as-new only the newest fit
    in Temporal's 2 MiB input, older ids answer ``ALREADY_APPLIED`` and still apply once."""
    router = build_ledger_router()
    async with hosted(
        temporal_dev_server.target, task_queue, router, max_history_events=100
    ) as client:
        ledger = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-big"
        # 100 kB of data that does not compress (replies travel packed): 30 replies of it
        # would not fit a continue-as-new input.
        noise = random.Random(0)
        ids = [noise.randbytes(500).hex() for _ in range(100)]
        await ledger.create(entity, initial_state="Open", data={"ids": ids})
        first_run = (await client.get_workflow_handle(entity).describe()).run_id
        results = []
        for k in range(30):
            result = await ledger.dispatch(
                entity, {"type": "Add", "payload": {"cid": f"c{k}"}}, command_id=f"c{k}"
            )
            assert result.ok, result.error
            results.append(result)
        assert (await client.get_workflow_handle(entity).describe()).run_id != first_run

        oldest = await ledger.dispatch(
            entity, {"type": "Add", "payload": {"cid": "c0"}}, command_id="c0"
        )
        newest = await ledger.dispatch(
            entity, {"type": "Add", "payload": {"cid": "c29"}}, command_id="c29"
        )

        assert not oldest.ok
        assert isinstance(oldest.error, RouterFailure)
        assert oldest.error.code == "ALREADY_APPLIED"
        _same([results[-1], newest])
        snap = await ledger.get(entity)
        assert snap.data.ids[100:] == [f"c{k}" for k in range(30)]
        assert snap.version == 31


@bounded(60)
async def test_without_command_id_a_retry_after_a_timeout_applies_twice(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    """What RELIABILITY.md says is NOT guaranteed: with no command id, each call is new."""
    router = build_ledger_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        ledger = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-e"
        await ledger.create(entity, initial_state="Open", data={})
        command = {"type": "AddViaHook", "payload": {"cid": "twice", "delay": 1.0}}
        # A timed-out update call surfaces as temporalio's own error, not TimeoutError.
        with pytest.raises((TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError)):
            await asyncio.wait_for(ledger.dispatch(entity, command), 0.3)
        retried = await ledger.dispatch(entity, command)

        # Commands of an entity run one at a time: the abandoned first call ran to its end
        # before the retry, which applied the same change again.
        assert retried.ok, retried.error
        assert retried.workflow is not None
        assert isinstance(retried.workflow.data, Ledger)
        assert retried.workflow.data.ids == ["twice", "twice"]
        assert (await ledger.get(entity)).version == 3
