"""Benchmark 2: the hook round trip, ``exec_hook`` against a hand-written child workflow that
signals back: ``python -m bench.bench_hooks``.

One embedded dev server; in one process, two workers with the same settings, sandbox
pass-through and data converter (pydantic), each on its own task queue:

* ``baseline`` (:mod:`bench._hook_raw`): a parent workflow whose ``round_trip`` Update starts
  a child (``ParentClosePolicy.ABANDON``) and waits for a signal; the child signals the
  parent by workflow id and ends;
* ``ours`` (:mod:`bench._hook_ours`): the same with ``exec_hook`` in the parent and
  ``signal`` in the child, on a ``RouterPlugin`` worker (its interceptor included).

One round trip is one ``round_trip`` Update, timed by the client: the child's start, its
run, its signal and the parent's wake-up. Hooks per second count each batch's wall time
until the dev server is idle again (its queued work is charged to the side that caused it). Two scenarios per repetition, each side once, side
order rotating; each repetition uses fresh parents, so history length is the same for both:

* ``1 client seq``: ``--seq`` round trips through one parent, one at a time;
* ``N clients``: ``--clients`` parents, ``--per-client`` round trips each, all at once.

Target (issue): ours / baseline <= 1.10 on p50 latency and on hooks per second.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_router.adapter import PASSTHROUGH_MODULES, RouterPlugin
from temporal_router.testing import DevServer

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
from ._hook_ours import OURS_QUEUE, OursHookChild, OursHookParent
from ._hook_raw import RAW_QUEUE, RawHookChild, RawHookParent
from .bench_entity import WORKER_SETTINGS, build_router

METRICS = (("p50 ms", "p50_ms"), ("p99 ms", "p99_ms"), ("hooks/s", "throughput"))
CPU = (("worker+client cpu ms/hook", "cpu_ms"), ("server cpu ms/hook", "server_cpu_ms"))


def side(name: str, client: Client, parent_type: Any, update: Any) -> Side:
    async def round_trip(parent: str, n: int) -> None:
        handle = client.get_workflow_handle_for(parent_type.run, parent)
        answer = await handle.execute_update(update, n)
        if answer != n:
            raise RuntimeError(f"{name}: round trip {n} on {parent} answered {answer}")

    return Side(name, round_trip)


async def start_parents(client: Client, parent_type: Any, queue: str, ids: list[str]) -> None:
    await asyncio.gather(
        *(client.start_workflow(parent_type.run, id=i, task_queue=queue) for i in ids)
    )


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with DevServer() as server:
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
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        )
        raw_worker = Worker(
            raw_client,
            task_queue=RAW_QUEUE,
            workflows=[RawHookParent, RawHookChild],
            workflow_runner=runner,
            **WORKER_SETTINGS,
        )
        ours_worker = Worker(ours_client, task_queue=OURS_QUEUE, **WORKER_SETTINGS)
        sides = {
            "baseline": (
                side("baseline", raw_client, RawHookParent, RawHookParent.round_trip),
                raw_client,
                RawHookParent,
                RAW_QUEUE,
            ),
            "ours": (
                side("ours", ours_client, OursHookParent, OursHookParent.round_trip),
                ours_client,
                OursHookParent,
                OURS_QUEUE,
            ),
        }
        run_id = uuid.uuid4().hex[:6]
        seq: list[dict[str, Sample]] = []
        conc: list[dict[str, Sample]] = []
        pid = server.pid
        async with raw_worker, ours_worker:
            for rep in range(-1, args.reps):  # rep -1: warm-up, not kept
                single = {n: f"{n}-{run_id}-r{rep}-seq" for n in sides}
                fleet = {
                    n: [f"{n}-{run_id}-r{rep}-c{i}" for i in range(args.clients)] for n in sides
                }
                for name, (_, client, parent_type, queue) in sides.items():
                    await start_parents(client, parent_type, queue, [single[name], *fleet[name]])
                seq_rep: dict[str, Sample] = {}
                conc_rep: dict[str, Sample] = {}
                order = rotate(list(sides), max(rep, 0))
                count = args.seq if rep >= 0 else max(2, args.seq // 5)
                per_client = args.per_client if rep >= 0 else 1
                for name in order:
                    seq_rep[name] = await sequential(sides[name][0], single[name], count, pid)
                for name in order:
                    conc_rep[name] = await concurrent(sides[name][0], fleet[name], per_client, pid)
                if rep >= 0:
                    seq.append(seq_rep)
                    conc.append(conc_rep)
    elapsed = time.perf_counter() - started
    scenarios = {
        "1 client seq": [(r["baseline"], r["ours"]) for r in seq],
        f"{args.clients} clients": [(r["baseline"], r["ours"]) for r in conc],
    }
    print_pair_table(
        f"hook round trip: exec_hook + signal (ours) vs child workflow + signal back "
        f"(baseline), {args.reps} repetitions, interleaved\n1 client seq: {args.seq} round "
        f"trips through one parent; {args.clients} clients: {args.per_client} each through "
        "their own parent, all at once",
        scenarios,
        METRICS,
    )
    print_pair_table("where the time goes: CPU per round trip", scenarios, CPU)
    rows: list[Row] = []
    for scenario, who in (("1 client seq", "1 client"), (f"{args.clients} clients", None)):
        label = who or f"{args.clients} clients"
        b, o, r = median_ratio(scenarios[scenario], "throughput")
        rows.append(
            Row(
                "2",
                f"hook round trip {label}: hooks/s",
                "hooks/s",
                b,
                o,
                r,
                ">= 0.91",
                r >= 1 / 1.1,
            )
        )
        b, o, r = median_ratio(scenarios[scenario], "p50_ms")
        rows.append(
            Row("2", f"hook round trip {label}: p50 ms", "ms", b, o, r, "<= 1.10", r <= 1.1)
        )
    record(
        "bench_hooks",
        rows,
        ["hooks/s target: baseline/ours <= 1.10, i.e. ours/baseline >= 0.91"],
    )
    print(f"total run time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions (each side once each)")
    parser.add_argument("--seq", type=int, default=25, help="round trips, 1 client scenario")
    parser.add_argument("--clients", type=int, default=10, help="concurrent parents")
    parser.add_argument("--per-client", type=int, default=4, help="round trips per parent")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
