"""Routers and models shared by the entity tests on Temporal (and the history recorder).

Every entity type is named after its definition, so the names here are the workflow types
the tests (and the recorded histories in ``tests/histories/``) use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from temporal_router import (
    Command,
    Context,
    MigrationPipeline,
    ReactorCommand,
    ReactorContext,
    Reactors,
    WorkflowDefinition,
    WorkflowRouter,
    create_reactors,
    define_migrations,
    define_workflow,
)
from temporal_router.adapter import RouterPlugin

__all__ = [
    "TASK",
    "build_counter_router",
    "build_migration_routers",
    "build_reactor_routers",
    "build_task_router",
    "history_length",
    "hosted",
    "run_chain",
]

# --- Task: every error category, concurrency, exactly-once, replay ---------------------------


class Todo(BaseModel):
    title: str
    items: list[int] = []


class Doing(BaseModel):
    title: str
    assignee: str
    items: list[int] = []


class Done(BaseModel):
    title: str
    items: list[int] = []


class Start(BaseModel):
    assignee: str = Field(min_length=1)


class Append(BaseModel):
    n: int


class Finish(BaseModel):
    pass


class Explode(BaseModel):
    kind: Literal["dependency", "unexpected"]


class Archive(BaseModel):
    """Declared, but no state handles it: ``NO_HANDLER``."""


class Started(BaseModel):
    by: str


class Appended(BaseModel):
    n: int


class NotAllowed(BaseModel):
    reason: str
    limit: int


TASK: WorkflowDefinition = define_workflow(
    "AdapterTask",
    states={"Todo": Todo, "Doing": Doing, "Done": Done},
    commands={
        "Start": Start,
        "Append": Append,
        "Finish": Finish,
        "Explode": Explode,
        "Archive": Archive,
    },
    events={"Started": Started, "Appended": Appended},
    errors={"NotAllowed": NotAllowed},
)


class _Mailer:
    """A dependency that always fails: its failures are category ``dependency``."""

    def send(self, to: str) -> None:
        raise ConnectionError(f"mail server refused {to}")


class TaskDeps:
    mailer = _Mailer()


def build_task_router(*, timer_in_start: bool = False) -> WorkflowRouter:
    """The ``AdapterTask`` router.

    ``timer_in_start=True`` is the non-deterministic variant for the replay test: ``Start``
    also sleeps on a (durable) timer, a command the recorded history does not have.
    """
    router = WorkflowRouter(TASK, TaskDeps())

    async def start(ctx: Context) -> None:
        if timer_in_start:
            await workflow.sleep(timedelta(milliseconds=1))
        data = ctx.data
        ctx.transition(
            "Doing",
            {"title": data.title, "assignee": ctx.command.payload.assignee, "items": data.items},
        )
        ctx.emit("Started", {"by": ctx.command.payload.assignee})

    def append(ctx: Context) -> None:
        n = ctx.command.payload.n
        ctx.update(items=[*ctx.data.items, n])
        ctx.emit("Appended", {"n": n})

    def finish_too_early(ctx: Context) -> None:
        ctx.error("NotAllowed", {"reason": "not started", "limit": len(ctx.data.items)})

    def finish(ctx: Context) -> None:
        ctx.transition("Done", {"title": ctx.data.title, "items": ctx.data.items})

    def explode(ctx: Context) -> None:
        if ctx.command.payload.kind == "dependency":
            ctx.deps.mailer.send("ada@example.com")
        raise RuntimeError("boom")

    router.state("Todo").on("Start", start).on("Finish", finish_too_early)
    router.state("Doing").on("Finish", finish)
    router.state(["Todo", "Doing"]).on("Append", append).on("Explode", explode)
    return router


# --- Counter: continue-as-new ------------------------------------------------------------------


class Counting(BaseModel):
    count: int = 0


class Increment(BaseModel):
    pass


COUNTER: WorkflowDefinition = define_workflow(
    "AdapterCounter",
    states={"Counting": Counting},
    commands={"Increment": Increment},
    events={},
    errors={},
)


def build_counter_router() -> WorkflowRouter:
    router = WorkflowRouter(COUNTER)
    router.state("Counting").on("Increment", lambda ctx: ctx.update(count=ctx.data.count + 1))
    return router


# --- Orders and Shipping: reactors -------------------------------------------------------------


class Open(BaseModel):
    total: int


class Paid(BaseModel):
    total: int


class Pay(BaseModel):
    amount: int


class OrderPaid(BaseModel):
    amount: int
    ship_to: str


class Waiting(BaseModel):
    pass


class Preparing(BaseModel):
    order_id: str
    amount: int


class Prepare(BaseModel):
    order_id: str
    amount: int


ORDERS: WorkflowDefinition = define_workflow(
    "AdapterOrder",
    states={"Open": Open, "Paid": Paid},
    commands={"Pay": Pay},
    events={"OrderPaid": OrderPaid},
    errors={},
)

SHIPPING: WorkflowDefinition = define_workflow(
    "AdapterShipment",
    states={"Waiting": Waiting, "Preparing": Preparing},
    commands={"Prepare": Prepare},
    events={},
    errors={},
)


def build_reactor_routers() -> tuple[WorkflowRouter, WorkflowRouter, Reactors]:
    """Orders emit ``OrderPaid(ship_to=...)``; a reactor sends ``Prepare`` to that shipment."""
    orders = WorkflowRouter(ORDERS)
    shipping = WorkflowRouter(SHIPPING)

    def pay(ctx: Context) -> None:
        ctx.transition("Paid", {"total": ctx.data.total})
        ctx.emit("OrderPaid", {"amount": ctx.command.payload.amount, "ship_to": ctx.workflow.id})

    orders.state("Open").on("Pay", pay)
    shipping.state("Waiting").on(
        "Prepare",
        lambda ctx: ctx.transition("Preparing", ctx.command.payload.model_dump()),
    )

    def ship(rc: ReactorContext) -> ReactorCommand:
        paid: Any = rc.event.data
        return ReactorCommand(
            workflow_id=f"ship-{paid.ship_to}",
            router_name=SHIPPING.name,
            command=Command("Prepare", {"order_id": rc.workflow_id, "amount": paid.amount}),
        )

    reactors = create_reactors().on(orders, "OrderPaid", ship)
    return orders, shipping, reactors


# --- Profile v1 -> v2: migrations --------------------------------------------------------------


class ActiveV1(BaseModel):
    name: str


class ActiveV2(BaseModel):
    name: str
    email: str


class Rename(BaseModel):
    name: str


def _profile(version: int, active: type[BaseModel]) -> WorkflowDefinition:
    return define_workflow(
        "AdapterProfile",
        states={"Active": active},
        commands={"Rename": Rename},
        events={},
        errors={},
        model_version=version,
    )


def _add_email(snapshot: dict[str, Any]) -> dict[str, Any]:
    name = snapshot["data"]["name"]
    return {**snapshot, "data": {**snapshot["data"], "email": f"{name.lower()}@example.com"}}


def build_migration_routers() -> tuple[WorkflowRouter, WorkflowRouter, MigrationPipeline]:
    """``AdapterProfile`` v1 (``name``) and v2 (``name``, ``email``) with the v1 -> v2 step."""
    v1 = WorkflowRouter(_profile(1, ActiveV1))
    v2 = WorkflowRouter(_profile(2, ActiveV2))
    for router in (v1, v2):
        router.state("Active").on("Rename", lambda ctx: ctx.update(name=ctx.command.payload.name))
    pipeline = define_migrations(v2.definition, {2: ("add email", _add_email)})
    return v1, v2, pipeline


# --- hosting -------------------------------------------------------------------------------------


@asynccontextmanager
async def hosted(
    target: str, task_queue: str, *routers: WorkflowRouter, **plugin_options: Any
) -> AsyncIterator[Client]:
    """A client with ``RouterPlugin(*routers, **plugin_options)`` and a worker on ``task_queue``."""
    client = await Client.connect(target, plugins=[RouterPlugin(*routers, **plugin_options)])
    async with Worker(client, task_queue=task_queue):
        yield client


async def history_length(client: Client, workflow_id: str) -> int:
    """Events in the current run's history."""
    return (await client.get_workflow_handle(workflow_id).describe()).history_length


async def run_chain(client: Client, workflow_id: str) -> list[tuple[str, int]]:
    """``(run_id, history length)`` of every run of ``workflow_id``, first to current,
    following the continue-as-new links (exact, unlike visibility)."""
    described = await client.get_workflow_handle(workflow_id).describe()
    run_id: str | None = described.raw_description.workflow_execution_info.first_run_id
    chain: list[tuple[str, int]] = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        chain.append((run_id, len(history.events)))
        last = history.events[-1]
        if last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            break
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return chain
