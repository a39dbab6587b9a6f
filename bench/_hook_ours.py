"""Benchmark 2's workflows, ours: a parent whose ``round_trip`` Update runs one
``exec_hook`` (a child workflow that answers with ``signal``). Kept in its own small module:
the sandbox re-imports it for every run (the hand-written pair is in ``_hook_raw``)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporal_router.workflows import exec_hook, signal

__all__ = ["OURS_QUEUE", "OursHookChild", "OursHookParent"]

OURS_QUEUE = "bench-hooks-ours"


@workflow.defn(name="BenchOursHookParent")
class OursHookParent:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.update
    async def round_trip(self, n: int) -> int:
        answer = await exec_hook(
            task_queue=OURS_QUEUE, workflow_name="BenchOursHookChild", args=[n]
        )
        return int(answer["n"])


@workflow.defn(name="BenchOursHookChild")
class OursHookChild:
    @workflow.run
    async def run(self, n: int, info: dict[str, Any]) -> None:
        await signal(info["signal"], {"n": n})
