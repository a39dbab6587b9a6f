"""Benchmark 1: what a command costs, for a router entity, a hand-written Temporal entity
and the floor: ``python -m bench.bench_entity``.

Three sides, each served by a worker in a process of its own (:mod:`bench._worker`, the
same worker settings, sandbox pass-through and pydantic data converter), driven by clients
in this process, on one embedded dev server:

* ``floor``: a long-running workflow whose ``dispatch`` Update does nothing
  (:class:`bench._raw_entity.FloorEntity`): what Temporal itself costs for the round trip;
* ``hand``: the same two-state entity as a competent Temporal user writes it by hand
  (:class:`bench._raw_entity.RawEntity`: pydantic validation in the Update's validator,
  an idempotency set of update ids, the ``RouterState`` search attribute upserted on every
  state change, continue-as-new at the router's bound, the client retrying while it drains);
* ``ours``: the router entity (2 middleware, 3 lifecycle hooks, no OpenTelemetry) on
  ``RouterPlugin``'s defaults (search attribute on, continue-as-new at 2,000 events),
  driven by ``RouterClient.dispatch``.

Each side has ``--entities`` entities. Two scenarios, every repetition running each side
once in each, the order rotating from one repetition to the next:

* ``1 client``: one client sends ``--seq`` commands, one at a time, to the entities in turn;
* ``N clients``: ``--clients`` clients at once, each with its own share of the entities,
  send ``--per-client`` commands each, one at a time.

Figures: CPU per command of the worker process and of this process (the clients), and of
the dev server (``/proc/<pid>/stat``); with two cores, the dev server is bound to one core
and the workers and clients to the other (``--no-pin`` leaves them free); throughput
(commands per second of wall time until the server is idle again) and p50/p99 latency.
The overhead of ours is ``(ours - hand) / (hand - floor)``: the share of what the
hand-written entity adds to Temporal's floor that ours adds again.

Then the figures that do not move with load, from the histories and the workers: request
and reply bytes (the payloads' data), the continue-as-new input bytes and history events
per command (one entity per side driven through its first continue-as-new), and each
worker's resident memory with its entities in cache.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from temporal_router import Context, Next, WorkflowRouter, define_workflow
from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer

from ._entity_models import STATES as _STATES
from ._entity_models import Reset, Start, Started

# WORKER_SETTINGS: the other benchmarks take it from here too.
from ._harness import WORKER_SETTINGS as WORKER_SETTINGS
from ._harness import (
    Row,
    Sample,
    Side,
    Targets,
    WorkerProcess,
    concurrent,
    meets,
    pin_threads,
    ratio_row,
    record,
    rotate,
    sequential,
)
from ._raw_entity import BUSY, STATE_KEY, FloorEntity, RawEntity, RawInput, RawRequest

BENCH = define_workflow(
    "BenchEntity",
    states=_STATES,
    commands={"Start": Start, "Reset": Reset},
    events={"Started": Started},
    errors={},
)


def build_router() -> tuple[WorkflowRouter, dict[str, int]]:
    """The benchmark router: 2 handlers, 2 middleware, 3 hooks (counted, to check they ran)."""
    router = WorkflowRouter(BENCH)
    counters = {"middleware": 0, "hooks": 0}

    def start(ctx: Context) -> None:
        data = ctx.data
        ctx.transition(
            "Doing",
            {"title": data.title, "assignee": ctx.command.payload.assignee, "rounds": data.rounds},
        )
        ctx.emit("Started", {"by": ctx.command.payload.assignee})

    def reset(ctx: Context) -> None:
        ctx.transition("Todo", {"title": ctx.data.title, "rounds": ctx.data.rounds + 1})

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Reset", reset)

    async def middleware(ctx: Context, next: Next) -> None:
        counters["middleware"] += 1
        await next()

    for _ in range(2):
        router.use(middleware)

    def hook(*args: Any) -> None:
        counters["hooks"] += 1

    for event in ("dispatch:start", "transition", "dispatch:end"):
        router.on(event, hook)
    return router, counters


def command(n: int) -> tuple[str, dict[str, Any]]:
    """The n-th command of an entity's cycle (each is valid in the state the last one left)."""
    return ("Start", {"assignee": f"user-{n}"}) if n % 2 == 0 else ("Reset", {})


def ours_side(
    name: str,
    client: Client,
    router: WorkflowRouter,
    task_queue: str,
    worker_pid: int | None = None,
) -> Side:
    routers = RouterClient(client, router, task_queue=task_queue)

    async def dispatch(entity: str, n: int) -> None:
        kind, payload = command(n)
        result = await routers.dispatch(entity, {"type": kind, "payload": payload})
        if not result.ok:
            raise RuntimeError(f"{name}: {kind} on {entity} failed: {result.error}")

    return Side(name, dispatch, worker_pid=worker_pid)


async def create_ours(client: Client, router: WorkflowRouter, task_queue: str, entity: str) -> None:
    routers = RouterClient(client, router, task_queue=task_queue)
    await routers.create(entity, initial_state="Todo", data={"title": entity})


LATENCY_THROUGHPUT = (("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("disp/s", "throughput"))
CPU = (("worker+client cpu ms/disp", "cpu_ms"), ("server cpu ms/disp", "server_cpu_ms"))

Scenarios = dict[str, list[dict[str, Sample]]]


async def measure(
    sides: list[Side],
    singles: Mapping[str, Targets],
    fleets: Mapping[str, Sequence[Targets]],
    args: argparse.Namespace,
    server_pid: int | None,
) -> Scenarios:
    """Warm up every side, then ``--reps`` repetitions of both scenarios, side order rotating."""
    for side in sides:
        # Warm-up: every entity's first tasks done, caches and connections hot.
        await sequential(side, singles[side.name], args.seq // 5 or 1, server_pid)
        await concurrent(side, fleets[side.name], 2, server_pid)
    seq: list[dict[str, Sample]] = []
    conc: list[dict[str, Sample]] = []
    for rep in range(args.reps):
        seq.append({})
        for side in rotate(sides, rep):
            seq[-1][side.name] = await sequential(side, singles[side.name], args.seq, server_pid)
        conc.append({})
        for side in rotate(sides, rep):
            conc[-1][side.name] = await concurrent(
                side, fleets[side.name], args.per_client, server_pid
            )
    return {"1 client seq": seq, f"{args.clients} clients": conc}


def pairs(scenarios: Scenarios, base: str, ours: str) -> dict[str, list[tuple[Sample, Sample]]]:
    return {name: [(rep[base], rep[ours]) for rep in reps] for name, reps in scenarios.items()}


def hand_side(client: Client, worker_pid: int | None = None) -> Side:
    """The hand-written entity, sent its commands as a user would (retrying while it
    continues as new)."""

    async def dispatch(entity: str, n: int) -> None:
        kind, payload = command(n)
        handle = client.get_workflow_handle_for(RawEntity.run, entity)
        update_id = str(uuid.uuid4())
        delay = 0.05
        while True:
            try:
                reply = await handle.execute_update(
                    RawEntity.dispatch, RawRequest(kind, payload), id=update_id
                )
                break
            except WorkflowUpdateFailedError as exc:
                if BUSY not in str(exc.cause):
                    raise
            await asyncio.sleep(delay * random_jitter())
            delay = min(2.0, delay * 1.5)
        if not reply.ok:
            raise RuntimeError(f"hand: {kind} on {entity} failed: {reply.error}")

    return Side("hand", dispatch, worker_pid=worker_pid)


def random_jitter() -> float:
    return 0.5 + 0.5 * (uuid.uuid4().int % 1000) / 1000


def floor_side(client: Client, worker_pid: int | None = None) -> Side:
    async def dispatch(entity: str, n: int) -> None:
        kind, payload = command(n)
        handle = client.get_workflow_handle_for(FloorEntity.run, entity)
        await handle.execute_update(
            FloorEntity.dispatch, RawRequest(kind, payload), id=str(uuid.uuid4())
        )

    return Side("floor", dispatch, worker_pid=worker_pid)


async def create_raw(client: Client, kind: str, task_queue: str, entity: str) -> None:
    workflow = RawEntity.run if kind == "hand" else FloorEntity.run
    await client.start_workflow(
        workflow,
        RawInput(entity),
        id=entity,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(STATE_KEY, "Todo")]),
    )


SIDES = ("floor", "hand", "ours")
WORKER_VARIANT = {"floor": "floor", "hand": "raw", "ours": "ours"}

#: (column, Sample attribute, what a ratio above 1 means)
DYNAMIC = (
    ("worker+client cpu ms/cmd", "worker_client_cpu_ms"),
    ("worker cpu ms/cmd", "worker_cpu_ms"),
    ("server cpu ms/cmd", "server_cpu_ms"),
    ("cmd/s", "throughput"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
)


def spread(values: Sequence[float]) -> str:
    ordered = sorted(values)
    return f"{statistics.median(ordered):.2f} [{ordered[0]:.2f}-{ordered[-1]:.2f}]"


def print_three_sides(
    title: str,
    reps: list[dict[str, Sample]],
    metrics: Sequence[tuple[str, str]] = DYNAMIC,
) -> None:
    """Per figure: each side's median (and the range over repetitions), ours / hand per
    repetition (median [min-max]) and the overhead (ours - hand) / (hand - floor).
    ``metrics``: (column label, :class:`Sample` attribute), benchmark 1's by default."""
    print(title)
    print(
        f"{'figure':<26} | {'floor':>8} {'hand':>8} {'ours':>8} | {'ours/hand':^19} "
        f"| {'overhead':^21}"
    )
    print("-" * 100)
    for label, attr in metrics:
        cols = {s: [getattr(r[s], attr) for r in reps] for s in SIDES}
        ratios = [getattr(r["ours"], attr) / getattr(r["hand"], attr) for r in reps]
        over = overheads(reps, attr)
        print(
            f"{label:<26} | "
            + " ".join(f"{statistics.median(cols[s]):>8.2f}" for s in SIDES)
            + f" | {spread(ratios):^19} | "
            + (f"{spread(over):^21}" if over else f"{'-':^21}")
        )
    print("-" * 100)
    print(
        f"medians of {len(reps)} repetitions; ours/hand and overhead: median [min-max] over the "
        "repetitions; overhead = (ours - hand) / (hand - floor), for costs only"
    )
    print()


def overheads(reps: Sequence[dict[str, Sample]], attr: str) -> list[float]:
    if not attr.endswith("cpu_ms"):
        return []
    values = []
    for r in reps:
        floor, hand, ours = (getattr(r[s], attr) for s in SIDES)
        # Below 1% apart, the difference is the clock's resolution, not a cost.
        if hand - floor > 0.01 * hand:
            values.append((ours - hand) / (hand - floor))
    return values


def client_groups(entities: list[str], clients: int) -> list[Targets]:
    """``entities`` shared out among ``clients`` clients, none shared by two."""
    groups = [entities[i::clients] for i in range(min(clients, len(entities)))]
    return [g[0] if len(g) == 1 else g for g in groups]


# -- the figures that do not move with load ----------------------------------------------------


async def drive_through_continue_as_new(
    side: Side, entity: str, client: Client, limit: int = 2_000
) -> tuple[int, list[Any]]:
    """Commands to ``entity`` until its run continues as new and one command ran in the
    next; how many, and the histories of both runs."""
    first_run = (await client.get_workflow_handle(entity).describe()).run_id
    sent = 0
    while sent < limit:
        await side.timed(entity)
        sent += 1
        if sent % 25 == 0:
            current = (await client.get_workflow_handle(entity).describe()).run_id
            if current != first_run:
                break
    else:
        raise RuntimeError(f"{side.name}: {entity} did not continue as new in {limit} commands")
    histories = []
    run_id: str | None = first_run
    while run_id:
        history = await client.get_workflow_handle(entity, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else None
        )
    return sent, histories


def _data_bytes(payloads: Any) -> int:
    return sum(len(p.data) for p in payloads)


def load_free(sent: int, histories: list[Any]) -> dict[str, float]:
    """Request and reply bytes (mean), continue-as-new input bytes, events per command."""
    requests: list[int] = []
    replies: list[int] = []
    carried = 0
    events = 0
    for history in histories:
        events += len(history.events)
        for event in history.events:
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                attrs = event.workflow_execution_update_accepted_event_attributes
                requests.append(_data_bytes(attrs.accepted_request.input.args.payloads))
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                outcome = event.workflow_execution_update_completed_event_attributes.outcome
                replies.append(_data_bytes(outcome.success.payloads))
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attrs = event.workflow_execution_continued_as_new_event_attributes
                carried += _data_bytes(attrs.input.payloads)
    return {
        "request bytes": statistics.mean(requests),
        "reply bytes": statistics.mean(replies),
        "continue-as-new input bytes": carried,
        "history events per command": events / sent,
    }


# -- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with DevServer() as server:
        assert server.pid is not None
        pinned = args.pin and pin_threads(server.pid, {1}) and pin_threads(os.getpid(), {0})
        router, _ = build_router()
        plugin = RouterPlugin(router)
        client = await Client.connect(server.target, plugins=[plugin])
        raw_client = await Client.connect(
            server.target, data_converter=client.config()["data_converter"]
        )
        run_id = uuid.uuid4().hex[:6]
        queues = {s: f"bench-{s}-{run_id}" for s in SIDES}
        entities = {s: [f"{s}-{run_id}-{i}" for i in range(args.entities)] for s in SIDES}
        async with contextlib.AsyncExitStack() as stack:
            workers = {
                s: await stack.enter_async_context(
                    WorkerProcess(server.target, queues[s], WORKER_VARIANT[s])
                )
                for s in SIDES
            }
            routers = RouterClient(client, router, task_queue=queues["ours"])
            sides = [
                floor_side(raw_client, workers["floor"].pid),
                hand_side(raw_client, workers["hand"].pid),
                ours_side("ours", client, router, queues["ours"], workers["ours"].pid),
            ]
            for kind in ("floor", "hand"):
                await asyncio.gather(
                    *(create_raw(raw_client, kind, queues[kind], e) for e in entities[kind])
                )
            await asyncio.gather(
                *(
                    routers.create(e, initial_state="Todo", data={"title": e})
                    for e in entities["ours"]
                )
            )
            singles: dict[str, Targets] = {s: entities[s] for s in SIDES}
            fleets = {s: client_groups(entities[s], args.clients) for s in SIDES}
            scenarios = await measure(sides, singles, fleets, args, server.pid)
            memory = {s: workers[s].rss() / 2**20 for s in SIDES}
            figures: dict[str, dict[str, float]] = {}
            for side in sides[1:]:
                entity = f"{side.name}-{run_id}-can"
                if side.name == "hand":
                    await create_raw(raw_client, "hand", queues["hand"], entity)
                else:
                    await routers.create(entity, initial_state="Todo", data={"title": entity})
                sent, histories = await drive_through_continue_as_new(side, entity, client)
                figures[side.name] = load_free(sent, histories)
                figures[side.name]["worker RSS MiB"] = memory[side.name]
    elapsed = time.perf_counter() - started
    placement = (
        "dev server bound to CPU 1, workers and clients to CPU 0" if pinned else "no CPU binding"
    )
    shapes = {
        "1 client seq": f"1 client, {args.seq} commands to {args.entities} entities in turn",
        f"{args.clients} clients": (
            f"{args.clients} clients at once, {args.per_client} commands each, "
            f"{args.entities} entities shared out"
        ),
    }
    for name, reps in scenarios.items():
        print_three_sides(
            f"benchmark 1, {shapes[name]}; {args.reps} repetitions, interleaved; {placement}",
            reps,
        )
    print(
        "figures that do not move with load (one entity per side through its first "
        "continue-as-new; resident memory with the entities in cache)"
    )
    print(f"{'figure':<30} {'hand':>10} {'ours':>10} {'ours/hand':>10}")
    for figure in figures["hand"]:
        hand, ours = figures["hand"][figure], figures["ours"][figure]
        print(f"{figure:<30} {hand:>10.2f} {ours:>10.2f} {ours / hand:>10.2f}")
    print(f"(floor worker RSS {memory['floor']:.1f} MiB)")
    print()
    record("bench_entity", summary_rows(scenarios, figures, args.clients))
    print(f"total run time {elapsed:.0f} s")


def overhead_row(
    row: str, what: str, reps: Sequence[dict[str, Sample]], attr: str, target: str
) -> Row | None:
    """The overhead's summary row: hand - floor, ours - hand, and the median over the
    repetitions of their quotient; None when hand and floor cannot be told apart."""
    over = overheads(reps, attr)
    if not over:
        return None
    added = {
        side: statistics.median(getattr(r[side], attr) - getattr(r[under], attr) for r in reps)
        for side, under in (("hand", "floor"), ("ours", "hand"))
    }
    value = statistics.median(over)
    return Row(row, what, "ms", added["hand"], added["ours"], value, target, meets(value, target))


def summary_rows(
    scenarios: Scenarios, figures: dict[str, dict[str, float]], clients: int
) -> list[Row]:
    many = scenarios[f"{clients} clients"]
    one = scenarios["1 client seq"]
    rows = [
        ratio_row(
            "1",
            f"{clients} clients: worker+client CPU ms/cmd",
            "ms",
            many,
            "worker_client_cpu_ms",
            "<= 1.05",
        ),
        ratio_row(
            "1", f"{clients} clients: server CPU ms/cmd", "ms", many, "server_cpu_ms", "<= 1.03"
        ),
        ratio_row("1", f"{clients} clients: cmd/s", "cmd/s", many, "throughput", ">= 0.97"),
        ratio_row("1", f"{clients} clients: p50 ms", "ms", many, "p50_ms", "-"),
        ratio_row("1", f"{clients} clients: p99 ms", "ms", many, "p99_ms", "-"),
        ratio_row(
            "1", "1 client: worker+client CPU ms/cmd", "ms", one, "worker_client_cpu_ms", "-"
        ),
        ratio_row("1", "1 client: cmd/s", "cmd/s", one, "throughput", "-"),
        ratio_row("1", "1 client: p50 ms", "ms", one, "p50_ms", "-"),
    ]
    over = overhead_row(
        "1",
        f"{clients} clients: overhead (ours-hand)/(hand-floor)",
        many,
        "worker_client_cpu_ms",
        "<= 0.40",
    )
    rows += [over] if over is not None else []
    targets = {
        "request bytes": "<= 1.25",
        "reply bytes": "<= 1.25",
        "continue-as-new input bytes": "<= 2.00",
        "history events per command": "<= 1.00",
        "worker RSS MiB": "<= 1.10",
    }
    for figure, target in targets.items():
        hand, ours = figures["hand"][figure], figures["ours"][figure]
        rows.append(
            Row("1", figure, "", hand, ours, ours / hand, target, meets(ours / hand, target))
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions (each side once each)")
    parser.add_argument("--entities", type=int, default=20, help="entities per side")
    parser.add_argument("--seq", type=int, default=100, help="commands, 1 client scenario")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--per-client", type=int, default=20, help="commands per client")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bind the dev server to one core and the rest to the other (with two cores)",
    )
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
