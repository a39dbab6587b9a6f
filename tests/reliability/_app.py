"""Routers, hook workflows and helpers shared by the reliability tests (and their worker).

``RelLedger``: every applied command appends its command id to ``ids``, so the data itself
says which commands were applied, how often and in what order. ``AddViaHook`` first waits
for a hook (``RelEcho``, a child workflow that sleeps, then signals the id back) and records
the answer in ``hooked``.

``RelBuggy``: handlers with bugs (one raises, one never finishes, two produce values that
cannot be serialized) next to a healthy ``Bump``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar, cast

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_router import (
    Command,
    Context,
    DispatchResult,
    ReactorCommand,
    ReactorContext,
    Reactors,
    WorkflowDefinition,
    WorkflowRouter,
    create_reactors,
    define_workflow,
)
from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.workflows import exec_hook
from temporal_router.workflows import signal as hook_signal

__all__ = [
    "BUGGY",
    "LEDGER",
    "Attempts",
    "Echo",
    "Figures",
    "Healthy",
    "Ledger",
    "bounded",
    "build_buggy_router",
    "build_ledger_router",
    "build_mirror_reactors",
    "dispatch_until_answered",
    "eventually",
    "history_length",
    "hosted",
    "ledger_figures",
]

# --- RelLedger -------------------------------------------------------------------------------


class Ledger(BaseModel):
    ids: list[str] = []
    hooked: list[str] = []
    kept: str = ""


class Add(BaseModel):
    cid: str = Field(min_length=1, max_length=200)


class AddViaHook(BaseModel):
    cid: str = Field(min_length=1, max_length=200)
    delay: float = Field(default=0.5, ge=0, le=30)


class Stuff(BaseModel):
    """Carries an arbitrary blob; ``Stuff`` stores only its length, ``Keep`` appends it."""

    blob: str = ""


class Close(BaseModel):
    reason: str


class Closed(BaseModel):
    reason: str


class Added(BaseModel):
    cid: str


class LedgerClosed(BaseModel):
    reason: str


LEDGER: WorkflowDefinition = define_workflow(
    "RelLedger",
    states={"Open": Ledger, "Closed": Closed},
    commands={
        "Add": Add,
        "AddViaHook": AddViaHook,
        "Stuff": Stuff,
        "Keep": Stuff,
        "Close": Close,
    },
    events={"Added": Added},
    errors={"LedgerClosed": LedgerClosed},
)


@workflow.defn(name="RelEcho")
class Echo:
    """A hook: sleep ``delay`` seconds (a durable timer), then signal ``{"cid": cid}`` back."""

    @workflow.run
    async def run(self, cid: str, delay: float, reply: dict[str, Any]) -> str:
        await workflow.sleep(timedelta(seconds=delay))
        await hook_signal(reply["signal"], {"cid": cid})
        return cid


def build_ledger_router() -> WorkflowRouter:
    router = WorkflowRouter(LEDGER)

    def add(ctx: Context) -> None:
        cid = ctx.command.payload.cid
        ctx.update(ids=[*ctx.data.ids, cid])
        ctx.emit("Added", {"cid": cid})

    async def add_via_hook(ctx: Context) -> None:
        payload = ctx.command.payload
        answer = await exec_hook(
            task_queue=workflow.info().task_queue,
            workflow_name="RelEcho",
            args=[payload.cid, payload.delay],
            timeout="5m",
        )
        ctx.update(ids=[*ctx.data.ids, payload.cid], hooked=[*ctx.data.hooked, answer["cid"]])
        ctx.emit("Added", {"cid": payload.cid})

    def stuff(ctx: Context) -> None:
        # Accepts any blob, keeps nothing of it: the entity's own data stays small.
        ctx.update(ids=[*ctx.data.ids, f"stuff:{len(ctx.command.payload.blob)}"])

    def keep(ctx: Context) -> None:
        ctx.update(kept=ctx.data.kept + ctx.command.payload.blob)

    def close(ctx: Context) -> None:
        ctx.transition("Closed", {"reason": ctx.command.payload.reason})

    def closed(ctx: Context) -> None:
        ctx.error("LedgerClosed", {"reason": ctx.data.reason})

    router.state("Open").on("Add", add).on("AddViaHook", add_via_hook).on("Stuff", stuff)
    router.state("Open").on("Close", close).on("Keep", keep)
    router.state("Closed").on("Add", closed)
    return router


def build_mirror_reactors(router: WorkflowRouter) -> Reactors:
    """Each ``Added`` of ledger ``X`` becomes an ``Add`` of the same id on ledger ``X-mirror``."""

    def mirror(rc: ReactorContext) -> ReactorCommand | None:
        if rc.workflow_id.endswith("-mirror"):
            return None
        cid = rc.event.data.model_dump()["cid"]
        return ReactorCommand(
            workflow_id=f"{rc.workflow_id}-mirror",
            router_name=LEDGER.name,
            command=Command("Add", {"cid": cid}),
        )

    return create_reactors().on(router, "Added", mirror)


# --- RelBuggy --------------------------------------------------------------------------------


class Unserializable:
    """pydantic keeps it in an ``Any`` field, but cannot dump it to JSON."""

    def __repr__(self) -> str:
        return "<Unserializable>"


class Healthy(BaseModel):
    n: int = 0
    anything: Any = None


class Empty(BaseModel):
    pass


class Weird(BaseModel):
    value: Any = None


BUGGY: WorkflowDefinition = define_workflow(
    "RelBuggy",
    states={"Healthy": Healthy},
    commands={
        "Bump": Empty,
        "Raise": Empty,
        "LoopForever": Empty,
        "BadUpdate": Empty,
        "BadEvent": Empty,
    },
    events={"Weird": Weird, "Bumped": Empty},
    errors={},
)


def build_buggy_router() -> WorkflowRouter:
    router = WorkflowRouter(BUGGY)

    def bump(ctx: Context) -> None:
        ctx.update(n=ctx.data.n + 1)
        ctx.emit("Bumped", {})

    def raise_(ctx: Context) -> None:
        ctx.update(n=ctx.data.n + 1000)  # provisional: must not survive the failure
        raise RuntimeError("handler bug: boom")

    async def loop_forever(ctx: Context) -> None:
        ctx.update(n=ctx.data.n + 1000)
        while True:
            await workflow.sleep(timedelta(seconds=1))

    def bad_update(ctx: Context) -> None:
        ctx.update(n=ctx.data.n + 1000, anything=Unserializable())

    def bad_event(ctx: Context) -> None:
        ctx.update(n=ctx.data.n + 1000)
        ctx.emit("Weird", {"value": Unserializable()})

    router.state("Healthy").on("Bump", bump).on("Raise", raise_)
    router.state("Healthy").on("LoopForever", loop_forever)
    router.state("Healthy").on("BadUpdate", bad_update).on("BadEvent", bad_event)
    return router


# --- running and checking --------------------------------------------------------------------

_F = TypeVar("_F", bound=Callable[..., Awaitable[Any]])


def bounded(seconds: float) -> Callable[[_F], _F]:
    """Fail an async test that runs longer than ``seconds`` (a wedged entity would hang)."""

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        async def run(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.wait_for(fn(*args, **kwargs), seconds)

        return cast(_F, run)

    return decorate


@contextlib.asynccontextmanager
async def hosted(
    target: str,
    task_queue: str,
    *routers: WorkflowRouter,
    **plugin_options: Any,
) -> AsyncIterator[Client]:
    """A client with ``RouterPlugin(*routers, workflows=[Echo], ...)`` and a worker."""
    plugin = RouterPlugin(*routers, workflows=[Echo], **plugin_options)
    client = await Client.connect(target, plugins=[plugin])
    async with Worker(client, task_queue=task_queue):
        yield client


async def history_length(client: Client, workflow_id: str) -> int:
    """Events in the current run's history."""
    return (await client.get_workflow_handle(workflow_id).describe()).history_length


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, interval: float = 0.1
) -> Any:
    """Call ``probe`` until it returns something truthy; return that (fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {probe}")
        await asyncio.sleep(interval)


@dataclass
class Attempts:
    """What the retrying client saw for one command."""

    tries: int = 0
    errors: list[str] = field(default_factory=list)


async def dispatch_until_answered(
    rc: RouterClient,
    entity: str,
    command: dict[str, Any],
    command_id: str,
    *,
    attempt_timeout: float = 8.0,
    give_up_after: float = 120.0,
    attempts: Attempts | None = None,
) -> DispatchResult:
    """Dispatch with the SAME command id until a result comes back (errors, timeouts: retry)."""
    record = attempts if attempts is not None else Attempts()
    deadline = time.monotonic() + give_up_after
    while True:
        record.tries += 1
        try:
            return await asyncio.wait_for(
                rc.dispatch(entity, command, command_id=command_id), attempt_timeout
            )
        except Exception as exc:  # timeouts, RPC errors, update errors: all retried
            record.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{command_id}: no answer after {record.tries} tries: {record.errors[-3:]}"
                ) from exc
            await asyncio.sleep(min(0.2 * record.tries, 1.0))


@dataclass
class Figures:
    """Sent, acknowledged, applied, duplicated, lost and unexpected commands."""

    sent: int
    acknowledged: int
    applied: int
    duplicates: int
    lost: int
    unknown: int
    out_of_order: int
    per_entity_mismatch: list[str]

    def line(self, label: str) -> str:
        return (
            f"{label}: sent={self.sent} acknowledged={self.acknowledged} applied={self.applied} "
            f"duplicates={self.duplicates} lost={self.lost} unknown={self.unknown} "
            f"out_of_order={self.out_of_order} per_entity_mismatch={self.per_entity_mismatch[:5]}"
        )


def ledger_figures(
    sent: Mapping[str, Sequence[str]],
    acknowledged: set[str],
    applied: Mapping[str, Sequence[str]],
) -> Figures:
    """Compare what was sent (per entity, in order) with the ids each ledger applied."""
    all_sent = {cid for ids in sent.values() for cid in ids}
    applied_total = sum(len(ids) for ids in applied.values())
    duplicates = sum(n - 1 for ids in applied.values() for n in Counter(ids).values() if n > 1)
    applied_set = {cid for ids in applied.values() for cid in ids}
    out_of_order = 0
    mismatch: list[str] = []
    for entity, ids in sent.items():
        got = list(applied.get(entity, []))
        if len(got) != len(ids):
            mismatch.append(f"{entity}: sent {len(ids)} applied {len(got)}")
        # Commands of one entity were sent one after another: they must apply in that order.
        if [c for c in got if c in set(ids)] != [c for c in ids if c in set(got)]:
            out_of_order += 1
    return Figures(
        sent=len(all_sent),
        acknowledged=len(acknowledged),
        applied=applied_total,
        duplicates=duplicates,
        lost=len(acknowledged - applied_set),
        unknown=len(applied_set - all_sent),
        out_of_order=out_of_order,
        per_entity_mismatch=mismatch,
    )
