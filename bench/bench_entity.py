"""Benchmark 1: dispatch latency and throughput of a router entity against a hand-written
Temporal workflow: ``python -m bench.bench_entity``.

One embedded dev server; in one process, three workers with the same settings, sandbox
pass-through and data converter (pydantic), each on its own task queue:

* ``baseline``: :mod:`bench._raw_entity`, a workflow whose ``dispatch`` Update validates the
  command with pydantic and makes the transition itself;
* ``ours``: the same two-state entity as a router (``Todo --Start--> Doing --Reset--> Todo``,
  pydantic validation, 2 middleware, 3 lifecycle hooks, no OpenTelemetry) hosted by
  ``RouterPlugin`` (defaults: the ``RouterState`` search attribute is upserted on every
  state change, and every command here changes the state) and driven through
  ``RouterClient.dispatch``;
* ``ours-nosa``: the same with ``RouterPlugin(search_attributes=False)``.

Two scenarios; in every repetition each side runs each scenario once, in an order that
rotates from one repetition to the next:

* ``1 client seq``: one client sends ``--seq`` commands to one entity, one at a time;
* ``N clients``: ``--clients`` clients, each with its own entity, send ``--per-client``
  commands each, one at a time, all clients at once.

Latency is the client-side round trip of one dispatch (p50, p99); throughput is dispatches
per second of wall time, from the first send until the dev server is idle again: server
work that outlives the calls (visibility updates of the search attribute, above all) is
charged to the side that caused it, not to the side that runs next. Ratios are ours / baseline (latency: > 1 is slower; throughput:
< 1 is slower). The last line of each block is the median across repetitions. The server,
workers and clients share the machine's cores, so compare ratios, not absolute numbers.
Targets (issue): throughput ratio >= 0.90 and p50 ratio <= 1.10, 1 and 50 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_router import Context, Next, WorkflowRouter, define_workflow
from temporal_router.adapter import PASSTHROUGH_MODULES, RouterClient, RouterPlugin
from temporal_router.testing import DevServer

from ._entity_models import STATES as _STATES
from ._entity_models import Reset, Start, Started
from ._harness import (
    Row,
    Sample,
    Side,
    concurrent,
    median_ratio,
    print_pair_table,
    record,
    rotate,
    sequential,
)
from ._raw_entity import RawEntity, RawInput, RawRequest

BENCH = define_workflow(
    "BenchEntity",
    states=_STATES,
    commands={"Start": Start, "Reset": Reset},
    events={"Started": Started},
    errors={},
)

#: Identical for both workers (the router side gets the same pass-through from its plugin).
WORKER_SETTINGS: dict[str, Any] = {"max_concurrent_workflow_tasks": 100}


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


def ours_side(name: str, client: Client, router: WorkflowRouter, task_queue: str) -> Side:
    routers = RouterClient(client, router, task_queue=task_queue)

    async def dispatch(entity: str, n: int) -> None:
        kind, payload = command(n)
        result = await routers.dispatch(entity, {"type": kind, "payload": payload})
        if not result.ok:
            raise RuntimeError(f"{name}: {kind} on {entity} failed: {result.error}")

    return Side(name, dispatch)


async def create_ours(client: Client, router: WorkflowRouter, task_queue: str, entity: str) -> None:
    routers = RouterClient(client, router, task_queue=task_queue)
    await routers.create(entity, initial_state="Todo", data={"title": entity})


def baseline_side(client: Client) -> Side:
    async def dispatch(entity: str, n: int) -> None:
        kind, payload = command(n)
        handle = client.get_workflow_handle_for(RawEntity.run, entity)
        reply = await handle.execute_update(
            RawEntity.dispatch, RawRequest(kind, payload), id=str(uuid.uuid4())
        )
        if not reply.ok:
            raise RuntimeError(f"baseline: {kind} on {entity} failed: {reply.error}")

    return Side("baseline", dispatch)


async def create_baseline(client: Client, task_queue: str, entity: str) -> None:
    await client.start_workflow(RawEntity.run, RawInput(entity), id=entity, task_queue=task_queue)


LATENCY_THROUGHPUT = (("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("disp/s", "throughput"))
CPU = (("worker+client cpu ms/disp", "cpu_ms"), ("server cpu ms/disp", "server_cpu_ms"))

Scenarios = dict[str, list[dict[str, Sample]]]


async def measure(
    sides: list[Side],
    singles: dict[str, str],
    fleets: dict[str, list[str]],
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


VARIANTS = (("ours", True, "SA on (default)"), ("ours-nosa", False, "SA off"))


def summary_rows(scenarios: Scenarios, clients: int, names: list[str]) -> list[Row]:
    rows: list[Row] = []
    for ours, _, label in VARIANTS:
        if ours not in names:
            continue
        for scenario, who in (
            ("1 client seq", "1 client"),
            (f"{clients} clients", f"{clients} clients"),
        ):
            p = pairs(scenarios, "baseline", ours)[scenario]
            b, o, r = median_ratio(p, "throughput")
            rows.append(
                Row(
                    "1", f"dispatch {who}, {label}: disp/s", "disp/s", b, o, r, ">= 0.90", r >= 0.90
                )
            )
            b, o, r = median_ratio(p, "p50_ms")
            rows.append(
                Row("1", f"dispatch {who}, {label}: p50 ms", "ms", b, o, r, "<= 1.10", r <= 1.10)
            )
    return rows


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with DevServer() as server:
        raw_client = await Client.connect(server.target, data_converter=pydantic_data_converter)
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        )
        raw_worker = Worker(
            raw_client,
            task_queue="bench-raw",
            workflows=[RawEntity],
            workflow_runner=runner,
            **WORKER_SETTINGS,
        )
        counters: list[dict[str, int]] = []
        ours: dict[str, tuple[Client, WorkflowRouter, str]] = {}
        workers = [raw_worker]
        variants = [v for v in VARIANTS if args.sa_on or v[0] != "ours"]
        for name, attributes, _ in variants:
            router, seen = build_router()
            counters.append(seen)
            plugin = RouterPlugin(router, search_attributes=attributes)
            client = await Client.connect(server.target, plugins=[plugin])
            queue = f"bench-{name}"
            ours[name] = (client, router, queue)
            workers.append(Worker(client, task_queue=queue, **WORKER_SETTINGS))
        run_id = uuid.uuid4().hex[:6]
        names = ["baseline", *ours]
        singles = {n: f"{n}-{run_id}-seq" for n in names}
        fleets = {n: [f"{n}-{run_id}-c{i}" for i in range(args.clients)] for n in names}
        async with contextlib.AsyncExitStack() as stack:
            for worker in workers:
                await stack.enter_async_context(worker)
            sides = [baseline_side(raw_client)]
            for entity in [singles["baseline"], *fleets["baseline"]]:
                await create_baseline(raw_client, "bench-raw", entity)
            for name, (client, router, queue) in ours.items():
                sides.append(ours_side(name, client, router, queue))
                await asyncio.gather(
                    *(create_ours(client, router, queue, e) for e in [singles[name], *fleets[name]])
                )
            scenarios = await measure(sides, singles, fleets, args, server.pid)
    if any(c["middleware"] == 0 or c["hooks"] == 0 for c in counters):
        raise RuntimeError(f"middleware/hooks did not run: {counters}")
    elapsed = time.perf_counter() - started
    shape = (
        f"1 client seq: {args.seq} dispatches to one entity; {args.clients} clients: "
        f"{args.per_client} sequential dispatches each, one entity per client, all at once"
    )
    for ours_name, label in (
        ("ours", "RouterState search attribute on (RouterPlugin's default)"),
        ("ours-nosa", "RouterState search attribute off"),
    ):
        if ours_name not in names:
            continue
        table = pairs(scenarios, "baseline", ours_name)
        print_pair_table(
            f"entity dispatch: router entity ({ours_name}) vs hand-written workflow (baseline), "
            f"{args.reps} repetitions, interleaved\n{shape}; {label}",
            table,
            LATENCY_THROUGHPUT,
            ("baseline", ours_name),
        )
        print_pair_table(
            f"where the time goes ({ours_name}): CPU per dispatch",
            table,
            CPU,
            ("baseline", ours_name),
        )
    record(
        "bench_entity",
        summary_rows(scenarios, args.clients, names),
        [
            "ours = RouterPlugin defaults, which upsert the RouterState search attribute on "
            "every state change (every command in this benchmark changes the state); "
            "SA off = RouterPlugin(search_attributes=False)",
        ],
    )
    print(f"total run time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions (each side once each)")
    parser.add_argument("--seq", type=int, default=200, help="dispatches, 1 client scenario")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--per-client", type=int, default=10, help="dispatches per client")
    parser.add_argument(
        "--sa-on",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure RouterPlugin's default (search attribute on); --no-sa-on skips it",
    )
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
