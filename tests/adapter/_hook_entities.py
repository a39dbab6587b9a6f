"""The entity router the hook tests host: handlers that hook, wait, and record what they saw.

Kept apart from ``_hook_workflows`` (which the sandbox re-imports for every workflow run):
routers are built once, outside the sandbox, and reach the entity workflow by reference.

``RECORD`` collects what the router's middleware and lifecycle hooks saw, outside replay
(a replay re-runs handlers, but must not count twice), keyed by entity id.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from temporalio import workflow

from temporal_router import Context, define_workflow
from temporal_router import WorkflowRouter as Router
from temporal_router.workflows import exec_hook, exec_hook_batch, hook

__all__ = ["RECORD", "account", "account_router"]

RECORD: dict[str, list[str]] = defaultdict(list)


class Account(BaseModel):
    notes: list[str] = []
    answers: list[Any] = []
    seen_at_wake: list[list[str]] = []
    hook_ids: list[str] = []


class Closed(BaseModel):
    notes: list[str] = []


class Note(BaseModel):
    text: str


class Exec(BaseModel):
    workflow_name: str = "HookChild"
    spec: dict[str, Any] = {}
    timeout: float | None = None
    config: dict[str, Any] | None = None
    signal_id: str | None = None
    workflow_id: str | None = None
    #: A change the handler makes before it waits (so it has uncommitted changes).
    note_before: str | None = None


class Fire(BaseModel):
    workflow_name: str = "HookChild"
    spec: dict[str, Any] = {}
    workflow_id: str | None = None


class Batch(BaseModel):
    items: list[dict[str, Any]]


class Close(BaseModel):
    pass


account = define_workflow(
    "HookAccount",
    states={"Open": Account, "Closed": Closed},
    commands={"Note": Note, "Exec": Exec, "Fire": Fire, "Batch": Batch, "Close": Close},
    events={},
    errors={},
)
account_router = Router(account)


def _record(entity: str, item: str) -> None:
    if not workflow.unsafe.is_replaying():
        RECORD[entity].append(item)


async def counting_middleware(ctx: Context, next: Callable[[], Awaitable[None]]) -> None:
    _record(ctx.workflow.id, f"middleware:{ctx.command.type}")
    await next()


account_router.use(counting_middleware)


@account_router.on("dispatch:end")
def _dispatch_end(wf: Any, command: Any, result: Any) -> None:
    _record(wf.id, f"dispatch:end:{command.type}:{'ok' if result.ok else 'failed'}")


@account_router.state("Open").on("Note")
def note(ctx: Context) -> None:
    ctx.update(notes=[*ctx.data.notes, ctx.command.payload.text])


@account_router.state("Open").on("Exec")
async def exec_(ctx: Context) -> None:
    p = ctx.command.payload
    if p.note_before is not None:
        ctx.update(notes=[*ctx.data.notes, p.note_before])
    answer = await exec_hook(
        task_queue=workflow.info().task_queue,
        workflow_name=p.workflow_name,
        workflow_id=p.workflow_id,
        args=[p.spec],
        config=p.config,
        signal_id=p.signal_id,
        timeout=p.timeout,
    )
    ctx.update(
        answers=[*ctx.data.answers, answer],
        seen_at_wake=[*ctx.data.seen_at_wake, list(ctx.data.notes)],
    )


@account_router.state("Open").on("Fire")
async def fire(ctx: Context) -> None:
    p = ctx.command.payload
    hook_id = await hook(
        task_queue=workflow.info().task_queue,
        workflow_name=p.workflow_name,
        workflow_id=p.workflow_id,
        args=[p.spec],
    )
    ctx.update(hook_ids=[*ctx.data.hook_ids, hook_id])


@account_router.state("Open").on("Batch")
async def batch(ctx: Context) -> None:
    queue = workflow.info().task_queue
    items = [
        {"key": item["key"], "task_queue": queue, "workflow_name": "HookChild", **item["hook"]}
        for item in ctx.command.payload.items
    ]
    answers = await exec_hook_batch(items)
    ctx.update(answers=[*ctx.data.answers, answers])


@account_router.state("Open").on("Close")
def close(ctx: Context) -> None:
    ctx.transition("Closed", {"notes": ctx.data.notes})
