"""Plain workflows (no router) that use hooks: HotMesh's "goodbye" example, and a wait a
client answers. Imported by the workflow sandbox, hence a module of their own."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporal_router.workflows import (
        HookRequestError,
        exec_hook,
        host_state,
        shared_state,
        signal,
        update_host_state,
        wait_for,
    )


@workflow.defn
class Hello:
    """Greets, then waits for a hook (started by a client) to say goodbye."""

    @workflow.run
    async def run(self, name: str) -> str:
        goodbye = await wait_for("goodbye", timeout="1m")
        return f"Hello, {name}! - {goodbye['greeting']}"


@workflow.defn
class Goodbye:
    """The hook: runs beside ``Hello`` and answers its wait."""

    @workflow.run
    async def run(self, name: str) -> None:
        await signal("goodbye", {"greeting": f"Goodbye, {name}!"})


@workflow.defn
class Approval:
    """Waits for a person's answer, which a client sends with ``HookClient.signal``."""

    @workflow.run
    async def run(self, busy_seconds: float = 0, timeout: float = 60) -> dict[str, object]:
        if busy_seconds:  # the answer arrives before anyone waits for it
            await workflow.sleep(busy_seconds)
        answer: dict[str, object] = await wait_for("approval", timeout=timeout)
        return answer


@workflow.defn
class Counter:
    """HotMesh's hook test with a shared state: the host writes, a hook reads, adds, writes."""

    @workflow.run
    async def run(self, queue: str) -> dict[str, object]:
        state = shared_state()
        state.update({"counter": 1, "jimbo": "jones"})
        await exec_hook(task_queue=queue, workflow_name="Adder", args=[100], timeout="1m")
        return dict(state)


@workflow.defn
class Adder:
    @workflow.run
    async def run(self, amount: int, reply: dict[str, Any]) -> None:
        current = await host_state()
        await update_host_state({"counter": current["counter"] + amount, "jimbo": "jackson"})
        try:
            await update_host_state({"blob": "x" * 70_000})
        except HookRequestError as exc:
            refused = str(exc)
        await signal(reply["signal"], refused)  # the waiter wakes after the writes
