"""Benchmark 3: OpenTelemetry on against off, on benchmark 1's router entity, traces and
metrics exported over OTLP/HTTP to a receiver in another process:
``python -m bench.bench_otel``.

The "on" side is the production setup: spans and metrics leave the process over OTLP
(HTTP/protobuf, ``opentelemetry-exporter-otlp-proto-http``, behind OTel's batch span
processor and periodic metric reader) to a collector. The collector here is
:mod:`bench._otlp_receiver`, a subprocess that decodes every ``ExportTraceServiceRequest``
and ``ExportMetricsServiceRequest`` and counts spans by name and metric points; its CPU is
its own (reported apart, not charged to either side), and the run checks that every traced
dispatch's span, and every dispatch in the router's dispatch counter, arrived.

OpenTelemetry allows one global tracer and meter provider per process, and Temporal's
tracing needs them replay safe and set before any worker is built. So this benchmark sets
them once, at the start, the way a user configures them from ``OTEL_*`` variables
(``configure_tracing`` and ``configure_metrics`` with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set to
the receiver, ``OTEL_TRACES_EXPORTER=otlp``, ``OTEL_METRICS_EXPORTER=otlp``, protocol
``http/protobuf``, everything else at OTel's defaults), and compares two workers in the
same process, same settings, each on its own task queue and its own client:

* ``off``: ``RouterPlugin(router, search_attributes=False)``: none of the library's
  instrumentation (the global providers are set, but nothing calls them);
* ``on``: ``RouterPlugin(router, search_attributes=False, otel=True)``: temporalio's
  ``OpenTelemetryInterceptor`` (the client's ``StartWorkflowUpdate`` span; no
  ``ValidateUpdate`` or ``HandleUpdate`` span for accepted commands, whose worker span is
  the router's dispatch span) plus the router's ``otel_plugin`` (one dispatch span with
  span events, and the dispatch counter, duration histogram and transition counter on the
  SDK meter provider).

Both clients share one Temporal runtime that exports Temporal's own SDK metrics (worker,
poller, task and request metrics) over OTLP/HTTP to the same receiver
(``Runtime(telemetry=TelemetryConfig(metrics=OpenTelemetryConfig(..., http=True)))``,
sdk-core's default period of 1 s): a production worker has them on whether or not it uses
the library's telemetry, so they are on for both sides, not charged to one.

Running each variant in its own subprocess would give each clean providers, but would
also compare two processes (warm-up, allocator, imports) instead of one switch; in one
process the only difference is the plugin option. To charge
``on`` with the export work it causes, each ``on`` batch ends inside its timing with
``force_flush()`` of the tracer provider and of the meter provider (a metrics export per
batch: more often than the reader's default 60 s period, so more cost, not less).
Temporal's runtime exports its metrics from its own (Rust) threads every second, for both
sides alike; the run measures this process's CPU while both workers sit idle and prints it
(that background is in every batch of both sides).

Both sides run without the ``RouterState`` search attribute: its server-side cost (see
benchmark 1) would dilute the telemetry overhead this benchmark is after.

``--no-meter`` runs with traces only (no meter provider, and no runtime metrics on either
side),
to tell the cost of the metrics from that of the traces; the summary rows are meant for the
default, traces and metrics.

Scenarios and repetitions as in benchmark 1. Target (issue): on / off throughput >= 0.90,
1 and 50 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from temporalio.client import Client
from temporalio.contrib.opentelemetry import ReplaySafeMeterProvider, ReplaySafeTracerProvider
from temporalio.runtime import OpenTelemetryConfig, Runtime, TelemetryConfig
from temporalio.worker import Worker

from temporal_router import WorkflowRouter
from temporal_router.adapter import RouterPlugin
from temporal_router.otel import (
    METRIC_DISPATCHES,
    SPAN_DISPATCH,
    configure_metrics,
    configure_tracing,
)
from temporal_router.testing import DevServer

from ._harness import Row, median_ratio, print_pair_table, proc_cpu_seconds, record, stop_child
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

#: ``service.name`` of the benchmark's own telemetry (Temporal's runtime uses its own).
SERVICE = "bench-otel"

#: What the "on" side's process is configured with (and nothing else of OTEL_* is set).
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
)


class Receiver:
    """:mod:`bench._otlp_receiver` in a subprocess, for the time of an ``async with``."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.endpoint = ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def __aenter__(self) -> Receiver:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._otlp_receiver",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        if not line.startswith(b"ready "):
            raise RuntimeError(f"OTLP receiver did not start: {line!r}")
        self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    async def counts(self) -> dict[str, Any]:
        def get() -> dict[str, Any]:
            with urllib.request.urlopen(f"{self.endpoint}/counts", timeout=10) as reply:
                counts: dict[str, Any] = json.load(reply)
                return counts

        return await asyncio.to_thread(get)

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            await stop_child(self.proc, 10)


@contextlib.contextmanager
def otel_environment(endpoint: str, meter: bool) -> Iterator[None]:
    """``OTEL_*`` set for OTLP/HTTP to ``endpoint`` while configuring, restored after (the
    exporters read them when built; the dev server should not see them)."""
    saved = {name: os.environ.get(name) for name in OTEL_VARIABLES}
    os.environ.update(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_METRICS_EXPORTER": "otlp" if meter else "none",
        }
    )
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


async def idle_cpu_ms_per_s(seconds: float) -> float:
    """This process's CPU per second of wall time while nothing is sent."""
    cpu, began = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    return 1000 * (time.process_time() - cpu) / (time.perf_counter() - began)


@contextlib.asynccontextmanager
async def telemetry(
    meter: bool,
) -> AsyncIterator[tuple[Receiver, ReplaySafeTracerProvider, ReplaySafeMeterProvider | None]]:
    """The receiver, and the global tracer and meter providers exporting to it (without
    ``meter``, no meter provider: metric calls go to OTel's no-op meter)."""
    async with Receiver() as receiver:
        with otel_environment(receiver.endpoint, meter):
            tracer_provider = configure_tracing(service_name=SERVICE)
            meter_provider = configure_metrics(service_name=SERVICE)
        if meter and meter_provider is None:
            raise RuntimeError("configure_metrics configured no meter provider")
        yield receiver, tracer_provider, meter_provider


def metrics_runtime(endpoint: str) -> Runtime:
    """A Temporal runtime that exports Temporal's SDK metrics over OTLP/HTTP."""
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=OpenTelemetryConfig(url=f"{endpoint}/v1/metrics", http=True)
        )
    )


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    async with telemetry(args.meter) as (receiver, tracer_provider, meter_provider):
        runtime = metrics_runtime(receiver.endpoint) if args.meter else None
        receiver_cpu0 = proc_cpu_seconds(receiver.pid)
        async with DevServer() as server:
            sides = []
            workers = []
            counters = []
            targets: dict[str, tuple[Client, WorkflowRouter, str]] = {}
            for name, otel in (("off", False), ("on", True)):
                router, seen = build_router()
                counters.append(seen)
                plugin = RouterPlugin(router, search_attributes=False, otel=otel)
                # One runtime for both: Temporal's own SDK metrics are Temporal's feature,
                # not the library's, exported alike whichever side runs.
                client = await Client.connect(server.target, plugins=[plugin], runtime=runtime)
                queue = f"bench-otel-{name}"
                workers.append(Worker(client, task_queue=queue, **WORKER_SETTINGS))
                side = ours_side(name, client, router, queue)
                if otel:

                    async def flush() -> None:
                        def both() -> None:
                            tracer_provider.force_flush()
                            if meter_provider is not None:
                                meter_provider.force_flush()

                        await asyncio.to_thread(both)

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
                        *(
                            create_ours(client, router, queue, e)
                            for e in [singles[name], *fleets[name]]
                        )
                    )
                scenarios = await measure(sides, singles, fleets, args, server.pid)
                idle = await idle_cpu_ms_per_s(args.idle)
        # Everything out before the receiver stops: the providers shut down (they would
        # export again at exit), one more period of Temporal's runtime metrics, and the
        # clients (which hold the runtime, whose exporter stops with it) dropped.
        tracer_provider.shutdown()
        if meter_provider is not None:
            meter_provider.shutdown()
        await asyncio.sleep(1.5)
        counts = await receiver.counts()
        receiver_cpu = proc_cpu_seconds(receiver.pid) - receiver_cpu0
        traced = sum(sides[1].done.values())  # the "on" side's dispatches, warm-up included
        del workers, targets, sides, client, runtime
        gc.collect()
        await asyncio.sleep(0.5)  # the runtime's last export, as it goes
    elapsed = time.perf_counter() - started
    spans: dict[str, int] = counts["spans"]
    dispatch_spans = sum(n for s, n in spans.items() if s.startswith(f"{SPAN_DISPATCH} "))
    metered = counts["sums"].get(METRIC_DISPATCHES, 0)
    by_service: dict[str, int] = counts["points_by_service"]
    temporal_points = sum(n for service, n in by_service.items() if service != SERVICE)
    problems = []
    if any(c["middleware"] == 0 for c in counters):
        problems.append(f"middleware did not run: {counters}")
    if dispatch_spans != traced:
        problems.append(f"{dispatch_spans} dispatch spans received for {traced} dispatches")
    if args.meter and metered != traced:
        problems.append(f"dispatch counter received {metered} for {traced} dispatches")
    if args.meter and temporal_points == 0:
        problems.append("no Temporal SDK metrics received")
    if problems:
        raise RuntimeError(f"telemetry incomplete: {'; '.join(problems)}; received {counts}")
    total_spans = sum(spans.values())
    table = pairs(scenarios, "off", "on")
    print_pair_table(
        f"OpenTelemetry: RouterPlugin(otel=True)"
        f"{' + meter + Temporal runtime metrics' if args.meter else ', traces only'} (on) vs "
        f"otel=False (off), {args.reps} repetitions, interleaved\n1 client seq: {args.seq} "
        f"dispatches to one entity; {args.clients} clients: {args.per_client} sequential "
        f"dispatches each; over OTLP/HTTP to a receiver process",
        table,
        LATENCY_THROUGHPUT,
        ("off", "on"),
    )
    print_pair_table(
        "where the time goes: CPU per dispatch (worker+client = this process; server = dev "
        "server; the receiver's CPU is below, apart)",
        table,
        CPU,
        ("off", "on"),
    )
    print(
        f"received: {total_spans:,} spans in {counts['requests'].get('traces', 0)} requests "
        f"({dispatch_spans:,} dispatch spans for {traced:,} traced dispatches; by name: "
        f"{', '.join(f'{s} {n:,}' for s, n in sorted(spans.items()))}); "
        f"{counts['requests'].get('metrics', 0)} metric requests, "
        f"{sum(counts['points'].values()):,} data points of {len(counts['points'])} metrics "
        f"(by service: {', '.join(f'{k} {n:,}' for k, n in sorted(by_service.items()))}), "
        f"{METRIC_DISPATCHES} = {metered:,}; "
        f"{counts['bytes'] / 1e6:.1f} MB in all"
    )
    print(
        f"receiver process CPU: {receiver_cpu:.2f} s in all, "
        f"{1000 * receiver_cpu / traced:.2f} ms per traced dispatch (not charged to either side)"
    )
    print(
        f"this process idle, both workers polling, Temporal runtime metrics exporting: "
        f"{idle:.1f} ms CPU per s (the most the off side is charged for on's background work)"
    )
    print()
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
        [
            "on = the library's traces and metrics over OTLP/HTTP to a receiver process "
            "(router spans and metrics, Temporal's client span), flushed inside the timing; "
            "Temporal's runtime metrics exported for both sides alike; about "
            f"{total_spans / traced:.1f} spans per traced dispatch (incl. warm-up and "
            "creates), all received and decoded",
        ],
    )
    print(f"total run time {elapsed:.0f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reps", type=int, default=7, help="repetitions (each side once each)")
    parser.add_argument("--seq", type=int, default=200, help="dispatches, 1 client scenario")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--per-client", type=int, default=10, help="dispatches per client")
    parser.add_argument(
        "--meter",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="metrics on the 'on' side (--no-meter: traces only, for attribution)",
    )
    parser.add_argument(
        "--idle", type=float, default=3.0, help="seconds to measure idle CPU at the end"
    )
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
