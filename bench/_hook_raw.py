"""Benchmark 2's workflows without the library: the hand-written baseline, a parent whose
``round_trip`` Update starts a child workflow (abandoned on parent close, like a hook) and
waits for the child's signal back; and the floor, a parent whose ``round_trip`` Update
starts a no-op child and awaits its result (Temporal's child-workflow path alone, no signal
back). Kept in its own small module: the sandbox re-imports it for every run."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

__all__ = [
    "FLOOR_QUEUE",
    "RAW_QUEUE",
    "FloorHookChild",
    "FloorHookParent",
    "RawHookChild",
    "RawHookParent",
]

RAW_QUEUE = "bench-hooks-raw"
FLOOR_QUEUE = "bench-hooks-floor"


@workflow.defn(name="BenchRawHookParent")
class RawHookParent:
    def __init__(self) -> None:
        self._answers: dict[str, Any] = {}

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal(name="bench_hook_done")
    def hook_done(self, payload: dict[str, Any]) -> None:
        self._answers[payload["id"]] = payload["data"]

    @workflow.update
    async def round_trip(self, n: int) -> int:
        signal_id = str(workflow.uuid4())
        parent = workflow.info().workflow_id
        await workflow.start_child_workflow(
            RawHookChild.run,
            args=[parent, signal_id, n],
            id=f"{parent}-hook-{signal_id[:16]}",
            task_queue=RAW_QUEUE,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        await workflow.wait_condition(lambda: signal_id in self._answers)
        return int(self._answers.pop(signal_id)["n"])


@workflow.defn(name="BenchRawHookChild")
class RawHookChild:
    @workflow.run
    async def run(self, parent: str, signal_id: str, n: int) -> None:
        await workflow.get_external_workflow_handle(parent).signal(
            "bench_hook_done", {"id": signal_id, "data": {"n": n}}
        )


@workflow.defn(name="BenchFloorHookParent")
class FloorHookParent:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def round_trip(self, n: int) -> int:
        parent = workflow.info().workflow_id
        return await workflow.execute_child_workflow(
            FloorHookChild.run,
            n,
            id=f"{parent}-child-{str(workflow.uuid4())[:16]}",
            task_queue=FLOOR_QUEUE,
        )


@workflow.defn(name="BenchFloorHookChild")
class FloorHookChild:
    @workflow.run
    async def run(self, n: int) -> int:
        return n
