"""Benchmark 5: growth. Dispatch latency late in an entity's life, and worker memory with
many idle entities: ``python -m bench.bench_growth``.

**Latency, 50th vs 5,000th command.** One embedded dev server, benchmark 1's router entity on
``RouterPlugin``'s defaults (continue-as-new at 2,000 history events or when the server
suggests it; the ``RouterState`` search attribute on). An ``old`` entity is first driven,
one command at a time, to just before its ``--old``-th command. Then, in every repetition,
a fresh ``young`` entity gets 25 commands, and the two entities take turns, one command
each, ``--window`` times: the young one's commands 26-75 (around its 50th) are timed against
the old one's (around its 5,000th; each repetition moves it on by the window). Interleaving
puts the same background load on both. Ratio: p50 old / p50 young. Target (issue): <= 1.2.

**Memory, idle entities.** Two workers in processes of their own (:mod:`bench._worker`),
each caching every workflow it runs (``max_cached_workflows`` above the count): ``ours``,
the router entity, and ``baseline``, benchmark 1's hand-written workflow. ``--idle``
workflows are created on each, alternately in chunks (each creation waits for the first
workflow task: a query), then the growth of each worker's resident memory is divided by
the count. Creating them takes a while here (both kinds share one dev server on a shared
2-core machine); the time is printed. With ``RouterPlugin``'s default cache of 1,000
workflows, a worker would hold at most 1,000 of them at once.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer

from ._harness import Row, WorkerProcess, record
from ._raw_entity import RawEntity, RawInput
from .bench_entity import WORKER_SETTINGS, build_router, command

WARM = 25  # commands a young entity gets before its timed window


async def latency(
    server: DevServer, args: argparse.Namespace
) -> tuple[list[float], dict[str, float]]:
    """Per-repetition ratios p50(old) / p50(young), and the medians of each p50."""
    router, _ = build_router()
    client = await Client.connect(server.target, plugins=[RouterPlugin(router)])
    routers = RouterClient(client, router, task_queue="growth")
    sent: dict[str, int] = {}

    async def send(entity: str) -> float:
        n = sent.get(entity, 0)
        sent[entity] = n + 1
        kind, payload = command(n)
        began = time.perf_counter()
        result = await routers.dispatch(entity, {"type": kind, "payload": payload})
        took = time.perf_counter() - began
        if not result.ok:
            raise RuntimeError(f"growth: command {n} ({kind}) on {entity}: {result.error}")
        return took

    run_id = uuid.uuid4().hex[:6]
    old = f"growth-old-{run_id}"
    ratios: list[float] = []
    young_p50: list[float] = []
    old_p50: list[float] = []
    async with Worker(client, task_queue="growth", **WORKER_SETTINGS):
        await routers.create(old, initial_state="Todo", data={"title": old})
        began = time.perf_counter()
        target = args.old - args.window // 2
        while sent.get(old, 0) < target - 1:
            await send(old)
        print(
            f"old entity driven to command {sent[old]} in {time.perf_counter() - began:.0f} s "
            "(one at a time)"
        )
        for rep in range(args.reps):
            young = f"growth-young-{run_id}-{rep}"
            await routers.create(young, initial_state="Todo", data={"title": young})
            for _ in range(WARM):
                await send(young)
            young_times: list[float] = []
            old_times: list[float] = []
            first_old = sent[old] + 1
            for _ in range(args.window):
                young_times.append(await send(young))
                old_times.append(await send(old))
            y, o = 1000 * statistics.median(young_times), 1000 * statistics.median(old_times)
            young_p50.append(y)
            old_p50.append(o)
            ratios.append(o / y)
            print(
                f"rep {rep + 1}: young commands {WARM + 1}-{WARM + args.window} p50 {y:.1f} ms, "
                f"old commands {first_old}-{sent[old]} p50 {o:.1f} ms, ratio {o / y:.2f}"
            )
        description = await client.get_workflow_handle(old).describe()
        runs = 0
        async for _ in client.list_workflows(f"WorkflowId = '{old}'"):
            runs += 1
        print(
            f"old entity after {sent[old]} commands: {runs} runs listed by visibility "
            f"(continue-as-new), current run's history {description.history_length} events"
        )
    return ratios, {"young": statistics.median(young_p50), "old": statistics.median(old_p50)}


async def memory(server: DevServer, args: argparse.Namespace) -> dict[str, float]:
    """KiB of worker memory per idle (cached) workflow, ours and baseline."""
    run_id = uuid.uuid4().hex[:6]
    router, _ = build_router()
    ours_client = await Client.connect(server.target, plugins=[RouterPlugin(router)])
    raw_client = await Client.connect(server.target, data_converter=pydantic_data_converter)
    ours_queue, raw_queue = f"idle-ours-{run_id}", f"idle-raw-{run_id}"
    routers = RouterClient(ours_client, router, task_queue=ours_queue)
    gate = asyncio.Semaphore(args.concurrency)

    async def create_ours(entity: str) -> None:
        async with gate:
            await routers.create(entity, initial_state="Todo", data={"title": entity})

    async def create_raw(entity: str) -> None:
        async with gate:
            handle = await raw_client.start_workflow(
                RawEntity.run, RawInput(entity), id=entity, task_queue=raw_queue
            )
            await handle.query(RawEntity.state)

    cached = args.idle + 100
    per_kib: dict[str, float] = {}
    async with (
        WorkerProcess(server.target, ours_queue, "ours", max_cached=cached) as ours,
        WorkerProcess(server.target, raw_queue, "raw", max_cached=cached) as raw,
    ):
        await asyncio.gather(*(create_ours(f"{ours_queue}-w{i}") for i in range(5)))
        await asyncio.gather(*(create_raw(f"{raw_queue}-w{i}") for i in range(5)))
        start_rss = {"ours": ours.rss(), "baseline": raw.rss()}
        began = time.perf_counter()
        spent = {"ours": 0.0, "baseline": 0.0}
        chunk = 500
        for first in range(0, args.idle, chunk):
            ids = range(first, min(args.idle, first + chunk))
            for name in ("ours", "baseline") if first // chunk % 2 == 0 else ("baseline", "ours"):
                t = time.perf_counter()
                if name == "ours":
                    await asyncio.gather(*(create_ours(f"{ours_queue}-{i}") for i in ids))
                else:
                    await asyncio.gather(*(create_raw(f"{raw_queue}-{i}") for i in ids))
                spent[name] += time.perf_counter() - t
        total = time.perf_counter() - began
        end_rss = {"ours": ours.rss(), "baseline": raw.rss()}
    for name in ("ours", "baseline"):
        grown = end_rss[name] - start_rss[name]
        per_kib[name] = grown / 1024 / args.idle
        print(
            f"{name:>8}: {args.idle:,} idle workflows created in {spent[name]:.0f} s "
            f"({args.idle / spent[name]:.0f}/s); worker RSS {start_rss[name] / 2**20:.0f} -> "
            f"{end_rss[name] / 2**20:.0f} MiB, {per_kib[name]:.1f} KiB per workflow"
        )
    print(f"creating {2 * args.idle:,} workflows took {total:.0f} s in all")
    per_kib["total_mib_ours"] = (end_rss["ours"] - start_rss["ours"]) / 2**20
    per_kib["total_mib_baseline"] = (end_rss["baseline"] - start_rss["baseline"]) / 2**20
    return per_kib


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with DevServer() as server:
        ratios, p50 = await latency(server, args)
        mem = await memory(server, args) if args.idle > 0 else None
    ratio = statistics.median(ratios)
    print(
        f"\nlatency growth: p50 at command ~{args.old:,} vs ~50, median of {args.reps} "
        f"repetitions: {p50['old']:.1f} vs {p50['young']:.1f} ms, ratio {ratio:.2f} "
        f"(per repetition: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    rows = [
        Row(
            "5",
            f"p50 dispatch at command ~{args.old:,} vs ~50 (ms)",
            "ms",
            p50["young"],
            p50["old"],
            ratio,
            "<= 1.20",
            ratio <= 1.2,
        )
    ]
    notes = ["latency row: baseline = the same entity type at its 50th command"]
    if mem is not None:
        mem_ratio = mem["ours"] / mem["baseline"]
        rows.append(
            Row(
                "5",
                f"worker memory per idle entity, {args.idle:,} cached (KiB)",
                "KiB",
                mem["baseline"],
                mem["ours"],
                mem_ratio,
                "report",
                None,
            )
        )
        notes.append(
            f"memory row: baseline = benchmark 1's hand-written workflow; {args.idle:,} idle "
            f"entities grew the worker by {mem['total_mib_ours']:.0f} MiB "
            f"(hand-written: {mem['total_mib_baseline']:.0f} MiB)"
        )
    record("bench_growth", rows, notes)
    print(f"total run time {time.perf_counter() - started:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--old", type=int, default=5000, help="the late command to time")
    parser.add_argument("--window", type=int, default=50, help="timed commands per entity")
    parser.add_argument("--reps", type=int, default=5, help="repetitions")
    parser.add_argument(
        "--idle", type=int, default=10_000, help="idle entities per worker (0: skip memory)"
    )
    parser.add_argument("--concurrency", type=int, default=40, help="creations in flight")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
