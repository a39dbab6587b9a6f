"""Benchmark 2: what a hook costs, ``exec_hook`` against a hand-written child workflow that
signals back and against Temporal's bare child-workflow path: ``python -m bench.bench_hooks``.

Three sides, each served by a worker in a process of its own (:mod:`bench._worker`, the
same worker settings and pydantic data converter; the floor and hand workers never import
the library), driven by clients in this process, on one embedded dev server:

* ``floor`` (:class:`bench._hook_raw.FloorHookParent`): the parent's ``round_trip`` Update
  starts a no-op child workflow and awaits its result (the child returns at once; no
  signal back): what Temporal's child-workflow path costs;
* ``hand`` (:class:`bench._hook_raw.RawHookParent`): the Update starts a child
  (``ParentClosePolicy.ABANDON``, like a hook) and waits for its signal back; the child
  signals the parent by workflow id and ends;
* ``ours`` (:class:`bench._hook_ours.OursHookParent`): the same with ``exec_hook`` in the
  parent and ``signal`` in the child, on a ``RouterPlugin`` worker (its interceptors
  included).

One hook is one ``round_trip`` Update, timed by the client: the child's start, its run, its
answer and the parent's wake-up. Two scenarios per repetition, each side once, the order
rotating from one repetition to the next; each repetition uses fresh parents, so history
length is the same for all sides:

* ``1 client seq``: ``--seq`` hooks through one parent, one at a time;
* ``N clients``: ``--clients`` parents, ``--per-client`` hooks each, all at once.

Latency on this machine is the server's child-workflow path (the floor's p50 is about the
others'), so the figure that shows what the adapter costs is CPU per hook: of the worker
process and of this process (the clients), both from ``/proc``, and of the dev server.
With two cores, the dev server is bound to one core and the workers and clients to the
other (``--no-pin`` leaves them free). Hooks per second count each batch's wall time until
the dev server is idle again. The overhead of ours is ``(ours - hand) / (hand - floor)``.

The external anchor is HotMesh (:data:`HOTMESH`), measured on this kind of machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from temporal_router.adapter import RouterPlugin
from temporal_router.testing import DevServer

from ._harness import (
    Row,
    Sample,
    Side,
    WorkerProcess,
    concurrent,
    meets,
    pin_threads,
    ratio_row,
    record,
    rotate,
    sequential,
    side_median,
)
from ._hook_ours import OURS_QUEUE, OursHookChild, OursHookParent
from ._hook_raw import FLOOR_QUEUE, RAW_QUEUE, FloorHookParent, RawHookParent
from .bench_entity import SIDES, build_router, overhead_row, print_three_sides

#: (column, Sample attribute)
HOOK_METRICS = (
    ("worker+client cpu ms/hook", "worker_client_cpu_ms"),
    ("worker cpu ms/hook", "worker_cpu_ms"),
    ("server cpu ms/hook", "server_cpu_ms"),
    ("all cpu ms/hook", "all_cpu_ms"),
    ("hooks/s", "throughput"),
    ("p50 ms", "p50_ms"),
    ("p99 ms", "p99_ms"),
)

#: HotMesh 0.26.2 on Postgres 15, measured on this kind of machine (2 shared cores), as
#: the issue reports them: per scenario, p50 latency and hooks per second; CPU per hook
#: (client + worker, and the database server) as one figure for the run.
HOTMESH = {
    "1 client": {"p50_ms": 117.0, "throughput": 8.3},
    "10 clients": {"p50_ms": 1027.0, "throughput": 9.3},
}
HOTMESH_CPU_MS = {"worker_client_cpu_ms": 31.0, "server_cpu_ms": 88.0}
HOTMESH_ALL_CPU_MS = HOTMESH_CPU_MS["worker_client_cpu_ms"] + HOTMESH_CPU_MS["server_cpu_ms"]

#: side -> (worker variant, task queue, parent workflow)
LAYOUT: dict[str, tuple[str, str, Any]] = {
    "floor": ("hook-floor", FLOOR_QUEUE, FloorHookParent),
    "hand": ("hook-hand", RAW_QUEUE, RawHookParent),
    "ours": ("hook-ours", OURS_QUEUE, OursHookParent),
}

Scenarios = dict[str, list[dict[str, Sample]]]


def side(name: str, client: Client, parent_type: Any, worker_pid: int) -> Side:
    async def round_trip(parent: str, n: int) -> None:
        handle = client.get_workflow_handle_for(parent_type.run, parent)
        answer = await handle.execute_update(parent_type.round_trip, n)
        if answer != n:
            raise RuntimeError(f"{name}: round trip {n} on {parent} answered {answer}")

    return Side(name, round_trip, worker_pid=worker_pid)


async def start_parents(client: Client, parent_type: Any, queue: str, ids: list[str]) -> None:
    await asyncio.gather(
        *(client.start_workflow(parent_type.run, id=i, task_queue=queue) for i in ids)
    )


async def measure(
    sides: dict[str, Side],
    clients: dict[str, Client],
    args: argparse.Namespace,
    server_pid: int | None,
) -> Scenarios:
    """A warm-up repetition (not kept), then ``--reps`` of both scenarios, order rotating."""
    run_id = uuid.uuid4().hex[:6]
    seq: list[dict[str, Sample]] = []
    conc: list[dict[str, Sample]] = []
    for rep in range(-1, args.reps):
        single = {s: f"{s}-{run_id}-r{rep}-seq" for s in SIDES}
        fleet = {s: [f"{s}-{run_id}-r{rep}-c{i}" for i in range(args.clients)] for s in SIDES}
        for s in SIDES:
            _, queue, parent_type = LAYOUT[s]
            await start_parents(clients[s], parent_type, queue, [single[s], *fleet[s]])
        order = rotate(list(SIDES), max(rep, 0))
        count = args.seq if rep >= 0 else max(2, args.seq // 5)
        per_client = args.per_client if rep >= 0 else 1
        seq_rep = {s: await sequential(sides[s], single[s], count, server_pid) for s in order}
        conc_rep = {s: await concurrent(sides[s], fleet[s], per_client, server_pid) for s in order}
        if rep >= 0:
            seq.append(seq_rep)
            conc.append(conc_rep)
    return {"1 client": seq, f"{args.clients} clients": conc}


def print_hotmesh(scenarios: Scenarios, clients: int) -> None:
    print(
        "external anchor: HotMesh 0.26.2 on Postgres 15, measured on this kind of machine "
        "(figures from the issue)"
    )
    print(f"{'figure':<44} {'HotMesh':>9} {'ours':>9} {'ours/HotMesh':>13}")
    print("-" * 78)
    lines: list[tuple[str, float, float]] = []
    for scenario, anchor in HOTMESH.items():
        ours_name = scenario if scenario in scenarios else f"{clients} clients"
        reps = scenarios[ours_name]
        shown = scenario if ours_name == scenario else f"{scenario} (ours: {ours_name})"
        for attr, label in (("p50_ms", "p50 ms"), ("throughput", "hooks/s")):
            lines.append((f"{shown}: {label}", anchor[attr], side_median(reps, "ours", attr)))
    for scenario, reps in scenarios.items():
        for attr, label in (
            ("worker_client_cpu_ms", "worker+client cpu ms/hook"),
            ("server_cpu_ms", "server cpu ms/hook"),
        ):
            lines.append(
                (f"{scenario}: {label}", HOTMESH_CPU_MS[attr], side_median(reps, "ours", attr))
            )
        lines.append(
            (
                f"{scenario}: all cpu ms/hook",
                HOTMESH_ALL_CPU_MS,
                side_median(reps, "ours", "all_cpu_ms"),
            )
        )
    for label, anchor_value, ours in lines:
        print(f"{label:<44} {anchor_value:>9.1f} {ours:>9.1f} {ours / anchor_value:>13.2f}")
    print("-" * 78)
    print(
        "HotMesh's CPU per hook is one figure for its run (client+worker 31 ms, Postgres "
        "88 ms); ours: medians of the repetitions"
    )
    print()


def summary_rows(scenarios: Scenarios, clients: int) -> list[Row]:
    many_name = f"{clients} clients"
    rows = [
        ratio_row(
            "2",
            f"hook {scenario}: worker+client CPU ms/hook",
            "ms",
            reps,
            "worker_client_cpu_ms",
            "<= 1.10",
        )
        for scenario, reps in scenarios.items()
    ]
    for scenario, reps in scenarios.items():
        over = overhead_row(
            "2",
            f"hook {scenario}: overhead (ours-hand)/(hand-floor)",
            reps,
            "worker_client_cpu_ms",
            "-",
        )
        rows += [over] if over is not None else []
    rows += [
        ratio_row("2", f"hook {scenario}: p50 ms", "ms", reps, "p50_ms", "-")
        for scenario, reps in scenarios.items()
    ]
    many = scenarios[many_name]
    ours_rate = side_median(many, "ours", "throughput")
    anchor_rate = HOTMESH["10 clients"]["throughput"]
    rows.append(
        Row(
            "2",
            f"hook {many_name} vs HotMesh: hooks/s",
            "hooks/s",
            anchor_rate,
            ours_rate,
            ours_rate / anchor_rate,
            ">= 3.00",
            meets(ours_rate / anchor_rate, ">= 3.00"),
        )
    )
    for scenario, reps in scenarios.items():
        ours_cpu = side_median(reps, "ours", "all_cpu_ms")
        rows.append(
            Row(
                "2",
                f"hook {scenario} vs HotMesh: all CPU ms/hook",
                "ms",
                HOTMESH_ALL_CPU_MS,
                ours_cpu,
                ours_cpu / HOTMESH_ALL_CPU_MS,
                "<= 0.50",
                meets(ours_cpu / HOTMESH_ALL_CPU_MS, "<= 0.50"),
            )
        )
    for scenario, anchor in HOTMESH.items():
        ours_name = scenario if scenario in scenarios else many_name
        ours_p50 = side_median(scenarios[ours_name], "ours", "p50_ms")
        rows.append(
            Row(
                "2",
                f"hook {ours_name} vs HotMesh {scenario}: p50 ms"
                if ours_name != scenario
                else f"hook {scenario} vs HotMesh: p50 ms",
                "ms",
                anchor["p50_ms"],
                ours_p50,
                ours_p50 / anchor["p50_ms"],
                "-",
                None,
            )
        )
    return rows


NOTES = (
    "hooks vs hand: CPU = the worker process + this process's clients (/proc), per hook",
    "hooks vs HotMesh (0.26.2, Postgres 15, from the issue): 'all CPU' = our worker process"
    " + clients + Temporal dev server per hook against HotMesh's client+worker 31 ms +"
    " Postgres 88 ms = 119 ms",
)


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with DevServer() as server:
        assert server.pid is not None
        pinned = args.pin and pin_threads(server.pid, {1}) and pin_threads(os.getpid(), {0})
        router, _ = build_router()
        ours_client = await Client.connect(
            server.target,
            plugins=[
                RouterPlugin(
                    router, search_attributes=False, workflows=[OursHookParent, OursHookChild]
                )
            ],
        )
        raw_client = await Client.connect(server.target, data_converter=pydantic_data_converter)
        clients = {"floor": raw_client, "hand": raw_client, "ours": ours_client}
        async with contextlib.AsyncExitStack() as stack:
            workers = {
                s: await stack.enter_async_context(
                    WorkerProcess(server.target, LAYOUT[s][1], LAYOUT[s][0])
                )
                for s in SIDES
            }
            sides = {s: side(s, clients[s], LAYOUT[s][2], workers[s].pid) for s in SIDES}
            scenarios = await measure(sides, clients, args, server.pid)
    elapsed = time.perf_counter() - started
    placement = (
        "dev server bound to CPU 1, workers and clients to CPU 0" if pinned else "no CPU binding"
    )
    shapes = {
        "1 client": f"1 client, {args.seq} hooks through one parent, one at a time",
        f"{args.clients} clients": (
            f"{args.clients} clients at once, {args.per_client} hooks each through its own parent"
        ),
    }
    for name, reps in scenarios.items():
        print_three_sides(
            f"benchmark 2 (hooks), {shapes[name]}; {args.reps} repetitions, interleaved; "
            f"{placement}",
            reps,
            HOOK_METRICS,
        )
    print_hotmesh(scenarios, args.clients)
    record("bench_hooks", summary_rows(scenarios, args.clients), NOTES)
    print(f"total run time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions (each side once each)")
    parser.add_argument("--seq", type=int, default=25, help="hooks, 1 client scenario")
    parser.add_argument("--clients", type=int, default=10, help="concurrent parents")
    parser.add_argument("--per-client", type=int, default=10, help="hooks per parent")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bind the dev server to one core and the rest to the other (with two cores)",
    )
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
