"""Dispatch latency and throughput of a router entity against a hand-written Temporal
workflow: ``python -m bench.bench_entity``.

One embedded dev server; in one process, two workers with the same settings, sandbox
pass-through and data converter (pydantic):

* ``baseline``: :mod:`bench._raw_entity`, a workflow whose ``dispatch`` Update validates the
  command with pydantic and makes the transition itself;
* ``ours``: the same two-state entity as a router (``Todo --Start--> Doing --Reset--> Todo``,
  pydantic validation, 2 middleware, 3 lifecycle hooks, no OpenTelemetry) hosted by
  ``RouterPlugin`` and driven through ``RouterClient.dispatch``.

Two scenarios, each measured baseline then ours (A B) in every repetition:

* ``1 client seq``: one client sends ``--seq`` commands to one entity, one at a time;
* ``N clients``: ``--clients`` clients, each with its own entity, send ``--per-client``
  commands each, one at a time, all clients at once.

Latency is the client-side round trip of one dispatch (p50, p99); throughput is dispatches
per second of wall time. Ratios are ours / baseline (latency: > 1 is slower; throughput:
< 1 is slower). The last row of each block is the median across repetitions. The server,
workers and clients share the machine's cores, so compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_router import Context, Next, WorkflowRouter, define_workflow
from temporal_router.adapter import PASSTHROUGH_MODULES, RouterClient, RouterPlugin
from temporal_router.adapter._dev import DevServer

from ._entity_models import STATES as _STATES
from ._entity_models import Reset, Start, Started
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

Dispatch = Callable[[str, str, dict[str, Any]], Awaitable[None]]


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


@dataclass
class Side:
    """One implementation under test: how to create an entity and dispatch to it."""

    name: str
    create: Callable[[str], Awaitable[None]]
    dispatch: Dispatch
    sent: dict[str, int]

    async def send(self, entity: str) -> float:
        n = self.sent.get(entity, 0)
        self.sent[entity] = n + 1
        kind, payload = command(n)
        began = time.perf_counter()
        await self.dispatch(entity, kind, payload)
        return time.perf_counter() - began


def _server_cpu(pid: int | None) -> float:
    """CPU seconds the dev server process has used (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Clock:
    """Wall time, this process's CPU time (workers and clients) and the server's CPU time."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.server_cpu = _server_cpu(server_pid)

    def sample(self, latencies: list[float]) -> Sample:
        return Sample(
            latencies,
            time.perf_counter() - self.wall,
            time.process_time() - self.cpu,
            _server_cpu(self.server_pid) - self.server_cpu,
        )


@dataclass
class Sample:
    latencies: list[float]
    wall: float
    cpu: float
    server_cpu: float

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / len(self.latencies)

    @property
    def server_cpu_ms(self) -> float:
        return 1000 * self.server_cpu / len(self.latencies)

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.latencies)

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall


async def sequential(side: Side, entity: str, count: int, server_pid: int | None) -> Sample:
    clock = Clock(server_pid)
    latencies = [await side.send(entity) for _ in range(count)]
    return clock.sample(latencies)


async def concurrent(
    side: Side, entities: Sequence[str], per_client: int, server_pid: int | None
) -> Sample:
    async def client(entity: str) -> list[float]:
        return [await side.send(entity) for _ in range(per_client)]

    clock = Clock(server_pid)
    results = await asyncio.gather(*(client(e) for e in entities))
    return clock.sample([x for r in results for x in r])


def ours_side(client: Client, router: WorkflowRouter, task_queue: str) -> Side:
    routers = RouterClient(client, router, task_queue=task_queue)

    async def create(entity: str) -> None:
        await routers.create(entity, initial_state="Todo", data={"title": entity})

    async def dispatch(entity: str, kind: str, payload: dict[str, Any]) -> None:
        result = await routers.dispatch(entity, {"type": kind, "payload": payload})
        if not result.ok:
            raise RuntimeError(f"ours: {kind} on {entity} failed: {result.error}")

    return Side("ours", create, dispatch, {})


def baseline_side(client: Client, task_queue: str) -> Side:
    async def create(entity: str) -> None:
        await client.start_workflow(
            RawEntity.run, RawInput(entity), id=entity, task_queue=task_queue
        )

    async def dispatch(entity: str, kind: str, payload: dict[str, Any]) -> None:
        handle = client.get_workflow_handle_for(RawEntity.run, entity)
        reply = await handle.execute_update(
            RawEntity.dispatch, RawRequest(kind, payload), id=str(uuid.uuid4())
        )
        if not reply.ok:
            raise RuntimeError(f"baseline: {kind} on {entity} failed: {reply.error}")

    return Side("baseline", create, dispatch, {})


LATENCY_THROUGHPUT = (("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("disp/s", "throughput"))
CPU = (("worker+client cpu ms/disp", "cpu_ms"), ("server cpu ms/disp", "server_cpu_ms"))


def _cells(baseline: float, ours: float) -> str:
    return f"{baseline:>9.1f} {ours:>9.1f} {ours / baseline:>6.2f}"


def print_table(
    title: str,
    scenarios: dict[str, list[tuple[Sample, Sample]]],
    metrics: tuple[tuple[str, str], ...],
) -> None:
    print(title)
    metric_head = "".join(f" | {name:^26}" for name, _ in metrics)
    sub = "".join(f" | {'baseline':>9} {'ours':>9} {'ratio':>6}" for _ in metrics)
    print(f"{'scenario':<16} {'rep':>6}{metric_head}")
    print(f"{'':<16} {'':>6}{sub}")
    width = len(f"{'':<16} {'':>6}{sub}")
    for scenario, pairs in scenarios.items():
        print("-" * width)
        for index, (base, ours) in enumerate(pairs, 1):
            cells = "".join(
                f" | {_cells(getattr(base, attr), getattr(ours, attr))}" for _, attr in metrics
            )
            print(f"{scenario:<16} {index:>6}{cells}")
        medians = ""
        for _, attr in metrics:
            b = statistics.median(getattr(p[0], attr) for p in pairs)
            o = statistics.median(getattr(p[1], attr) for p in pairs)
            r = statistics.median(getattr(p[1], attr) / getattr(p[0], attr) for p in pairs)
            medians += f" | {b:>9.1f} {o:>9.1f} {r:>6.2f}"
        print(f"{scenario:<16} {'median':>6}{medians}")
    print("-" * width)
    print("ratio = ours / baseline per repetition; the median row gives the median of each column.")
    print()


async def run(args: argparse.Namespace) -> None:
    router, counters = build_router()
    started = time.perf_counter()
    async with DevServer() as server:
        plugin = RouterPlugin(router, search_attributes=args.search_attributes)
        ours_client = await Client.connect(server.target, plugins=[plugin])
        raw_client = await Client.connect(server.target, data_converter=pydantic_data_converter)
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        )
        ours_worker = Worker(ours_client, task_queue="bench-ours", **WORKER_SETTINGS)
        raw_worker = Worker(
            raw_client,
            task_queue="bench-raw",
            workflows=[RawEntity],
            workflow_runner=runner,
            **WORKER_SETTINGS,
        )
        async with ours_worker, raw_worker:
            sides = (
                baseline_side(raw_client, "bench-raw"),
                ours_side(ours_client, router, "bench-ours"),
            )
            run_id = uuid.uuid4().hex[:6]
            singles = {s.name: f"{s.name}-{run_id}-seq" for s in sides}
            fleets = {
                s.name: [f"{s.name}-{run_id}-c{i}" for i in range(args.clients)] for s in sides
            }
            pid = server.pid
            for side in sides:
                await side.create(singles[side.name])
                await asyncio.gather(*(side.create(e) for e in fleets[side.name]))
                # Warm-up: every entity's first tasks done, caches and connections hot.
                await sequential(side, singles[side.name], args.seq // 5 or 1, pid)
                await concurrent(side, fleets[side.name], 2, pid)

            seq_pairs: list[tuple[Sample, Sample]] = []
            conc_pairs: list[tuple[Sample, Sample]] = []
            for _ in range(args.reps):
                base, ours = sides
                seq_pairs.append(
                    (
                        await sequential(base, singles[base.name], args.seq, pid),
                        await sequential(ours, singles[ours.name], args.seq, pid),
                    )
                )
                conc_pairs.append(
                    (
                        await concurrent(base, fleets[base.name], args.per_client, pid),
                        await concurrent(ours, fleets[ours.name], args.per_client, pid),
                    )
                )
    if counters["middleware"] == 0 or counters["hooks"] == 0:
        raise RuntimeError(f"middleware/hooks did not run: {counters}")
    elapsed = time.perf_counter() - started
    scenarios = {"1 client seq": seq_pairs, f"{args.clients} clients": conc_pairs}
    attributes = "on" if args.search_attributes else "off"
    print_table(
        f"entity dispatch: router entity (ours) vs hand-written workflow (baseline), "
        f"{args.reps} repetitions, A/B interleaved\n"
        f"1 client seq: {args.seq} dispatches to one entity; "
        f"{args.clients} clients: {args.per_client} sequential dispatches each, "
        f"one entity per client, all at once; RouterState search attribute {attributes}",
        scenarios,
        LATENCY_THROUGHPUT,
    )
    print_table("where the time goes: CPU per dispatch", scenarios, CPU)
    print(f"total run time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions (A then B each)")
    parser.add_argument("--seq", type=int, default=200, help="dispatches, 1 client scenario")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--per-client", type=int, default=10, help="dispatches per client")
    parser.add_argument(
        "--search-attributes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the RouterState search attribute up to date (RouterPlugin's default: on)",
    )
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
