"""Benchmark 3: OpenTelemetry on against off, on benchmark 1's router entity:
``python -m bench.bench_otel``.

OpenTelemetry allows one global tracer provider per process, and Temporal's tracing needs
it replay safe and set before any worker is built. So this benchmark sets it once, at the
start (``configure_tracing`` with the ``jsonl`` exporter, a file in a temporary directory,
behind OTel's batch span processor, as a user without a backend would run it), and compares
two workers in the same process, same settings, each on its own task queue:

* ``off``: ``RouterPlugin(router, search_attributes=False)``: no instrumentation at all
  (the global provider is set, but nothing calls it);
* ``on``: ``RouterPlugin(router, search_attributes=False, otel=True)``: temporalio's
  ``OpenTelemetryInterceptor`` (the client's ``StartWorkflowUpdate`` span; no
  ``ValidateUpdate`` or ``HandleUpdate`` span for accepted commands, whose worker span is
  the router's dispatch span) plus the router's
  ``otel_plugin`` (one dispatch span with span events, and metric calls, per command).

Running each variant in its own subprocess would give each a clean provider, but would
also compare two processes (warm-up, allocator, imports) instead of one switch; in one
process the only difference is the plugin option. To charge ``on`` with the export work it
causes, each ``on`` batch ends with ``force_flush()`` of the provider inside its timing.

Both sides run without the ``RouterState`` search attribute: its server-side cost (see
benchmark 1) would dilute the tracing overhead this benchmark is after. No meter provider
is configured, so metric calls go to OpenTelemetry's no-op meter.

Scenarios and repetitions as in benchmark 1. Target (issue): on / off throughput >= 0.90.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from temporal_router import WorkflowRouter
from temporal_router.adapter import RouterPlugin
from temporal_router.otel import configure_tracing
from temporal_router.testing import DevServer

from ._harness import Row, median_ratio, print_pair_table, record
from .bench_entity import (
    CPU,
    LATENCY_THROUGHPUT,
    WORKER_SETTINGS,
    build_router,
    create_ours,
    measure,
    ours_side,
    pairs,
)


def count_lines(path: Path) -> int:
    """Spans in the jsonl trace file (one per line)."""
    if not path.exists():
        return 0
    with path.open() as lines:
        return sum(1 for _ in lines)


async def run(args: argparse.Namespace, traces: Path) -> None:
    # jsonl whatever the environment says; only while configuring: the dev server inherits
    # the environment, and the Go server refuses OTEL_TRACES_EXPORTER=jsonl.
    saved = os.environ.get("OTEL_TRACES_EXPORTER")
    os.environ["OTEL_TRACES_EXPORTER"] = "jsonl"
    try:
        provider = configure_tracing(service_name="bench-otel", traces_path=traces)
    finally:
        if saved is None:
            del os.environ["OTEL_TRACES_EXPORTER"]
        else:
            os.environ["OTEL_TRACES_EXPORTER"] = saved
    started = time.perf_counter()
    async with DevServer() as server:
        sides = []
        workers = []
        counters = []
        targets: dict[str, tuple[Client, WorkflowRouter, str]] = {}
        for name, otel in (("off", False), ("on", True)):
            router, seen = build_router()
            counters.append(seen)
            plugin = RouterPlugin(router, search_attributes=False, otel=otel)
            client = await Client.connect(server.target, plugins=[plugin])
            queue = f"bench-otel-{name}"
            workers.append(Worker(client, task_queue=queue, **WORKER_SETTINGS))
            side = ours_side(name, client, router, queue)
            if otel:

                async def flush() -> None:
                    await asyncio.to_thread(provider.force_flush)

                side.settle = flush
            sides.append(side)
            targets[name] = (client, router, queue)
        run_id = uuid.uuid4().hex[:6]
        singles = {s.name: f"otel-{s.name}-{run_id}-seq" for s in sides}
        fleets = {
            s.name: [f"otel-{s.name}-{run_id}-c{i}" for i in range(args.clients)] for s in sides
        }
        async with workers[0], workers[1]:
            for name, (client, router, queue) in targets.items():
                await asyncio.gather(
                    *(create_ours(client, router, queue, e) for e in [singles[name], *fleets[name]])
                )
            scenarios = await measure(sides, singles, fleets, args, server.pid)
    provider.force_flush()
    spans = count_lines(traces)
    if spans == 0 or any(c["middleware"] == 0 for c in counters):
        raise RuntimeError(f"tracing or middleware did not run: {spans} spans, {counters}")
    elapsed = time.perf_counter() - started
    table = pairs(scenarios, "off", "on")
    print_pair_table(
        f"OpenTelemetry: RouterPlugin(otel=True) (on) vs otel=False (off), {args.reps} "
        f"repetitions, interleaved\n1 client seq: {args.seq} dispatches to one entity; "
        f"{args.clients} clients: {args.per_client} sequential dispatches each; "
        f"{spans:,} spans exported (jsonl, batch processor)",
        table,
        LATENCY_THROUGHPUT,
        ("off", "on"),
    )
    print_pair_table("where the time goes: CPU per dispatch", table, CPU, ("off", "on"))
    dispatches = sum(
        s.count for reps in scenarios.values() for rep in reps for n, s in rep.items() if n == "on"
    )
    rows: list[Row] = []
    for scenario, who in (("1 client seq", "1 client"), (f"{args.clients} clients", None)):
        label = who or f"{args.clients} clients"
        b, o, r = median_ratio(table[scenario], "throughput")
        rows.append(
            Row("3", f"OTel on vs off, {label}: disp/s", "disp/s", b, o, r, ">= 0.90", r >= 0.9)
        )
    record(
        "bench_otel",
        rows,
        [f"about {spans / max(dispatches, 1):.1f} spans per traced dispatch (incl. warm-up)"],
    )
    print(f"total run time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=5, help="repetitions (each side once each)")
    parser.add_argument("--seq", type=int, default=200, help="dispatches, 1 client scenario")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--per-client", type=int, default=10, help="dispatches per client")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-otel-") as tmp:
        asyncio.run(run(args, Path(tmp) / "traces.jsonl"))


if __name__ == "__main__":
    main()
