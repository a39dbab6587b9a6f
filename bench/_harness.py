"""Shared pieces of the Temporal benchmarks: samples, interleaved scenarios, tables, process
accounting and the summary rows ``bench.summary`` prints.

Every figure a benchmark reports is a ratio against a baseline measured in the same run,
interleaved with it (the machines are shared and noisy), over several repetitions; the
median is quoted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_ENV",
    "WORKER_SETTINGS",
    "Clock",
    "Row",
    "Sample",
    "Side",
    "Targets",
    "WorkerProcess",
    "concurrent",
    "median_ratio",
    "meets",
    "pin_threads",
    "print_pair_table",
    "proc_cpu_ns",
    "proc_cpu_seconds",
    "proc_rss_bytes",
    "ratio_row",
    "record",
    "rotate",
    "sequential",
    "server_idle",
    "side_median",
    "stop_child",
]

#: Directory where each benchmark writes its summary rows (``<bench>.json``); set by
#: ``scripts/bench.sh`` so that ``bench.summary`` can print one table for the whole run.
RESULTS_ENV = "BENCH_RESULTS_DIR"

#: Identical for every worker of every side (the router's gets the same pass-through from
#: its plugin).
WORKER_SETTINGS: dict[str, Any] = {"max_concurrent_workflow_tasks": 100}

#: The repository root (where ``python -m bench.<name>`` works).
_REPO = Path(__file__).resolve().parent.parent


# -- process accounting (Linux /proc; no psutil) -----------------------------------------------


def proc_cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (default: this one); 0 without /proc."""
    try:
        with open(f"/proc/{pid or 'self'}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_libc: ctypes.CDLL | None = None


def proc_cpu_ns(pid: int) -> int:
    """CPU nanoseconds of process ``pid`` (all its threads), from its CPU-time clock
    (``clock_getcpuclockid``): unlike ``/proc/<pid>/stat`` (10 ms ticks), fine enough to
    time one workflow task. 0 where that clock is not available."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    clock = ctypes.c_int()
    if _libc.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return 0
    try:
        return time.clock_gettime_ns(clock.value)
    except OSError:
        return 0


def proc_rss_bytes(pid: int | None = None) -> int:
    """Resident set size of process ``pid`` (default: this one); 0 without /proc."""
    try:
        with open(f"/proc/{pid or 'self'}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pin_threads(pid: int, cpus: set[int]) -> bool:
    """Bind every thread of process ``pid`` to ``cpus`` (``taskset -a -p``); False if the
    machine has fewer CPUs or the process cannot be changed. Threads it creates later
    inherit the binding of the thread that creates them."""
    if not cpus <= os.sched_getaffinity(0):
        return False
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            os.sched_setaffinity(int(task), cpus)
    except OSError:
        return False
    return True


class WorkerProcess:
    """A :mod:`bench._worker` in a subprocess, for the time of an ``async with``.

    Its CPU time and resident memory are its own (``cpu()``, ``rss()``), unmixed with the
    clients and the dev server.
    """

    def __init__(
        self,
        target: str,
        task_queue: str,
        variant: str,
        *,
        max_cached: int = 1000,
        search_attributes: bool = True,
        max_history_events: int | None = None,
        repo: Path = _REPO,
    ) -> None:
        self.repo = repo
        self.args = [
            "--target",
            target,
            "--task-queue",
            task_queue,
            "--variant",
            variant,
            "--max-cached",
            str(max_cached),
            "--search-attributes" if search_attributes else "--no-search-attributes",
        ]
        if max_history_events is not None:
            self.args += ["--max-history-events", str(max_history_events)]
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu(self) -> float:
        return proc_cpu_seconds(self.pid)

    def cpu_ns(self) -> int:
        return proc_cpu_ns(self.pid)

    def rss(self) -> int:
        return proc_rss_bytes(self.pid)

    async def __aenter__(self) -> WorkerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._worker",
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=self.repo,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if not line.startswith(b"ready"):
            raise RuntimeError(f"benchmark worker {self.args} did not start: {line!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            await stop_child(self.proc, 30)


async def stop_child(proc: asyncio.subprocess.Process, timeout: float) -> None:
    """Close the stdin of a child that runs until then; kill it after ``timeout`` s."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def server_idle(pid: int | None, *, window: float = 0.1, limit: float = 10.0) -> None:
    """Wait until the server process has been (nearly) idle for ``window`` seconds.

    Some server work outlives the calls that caused it (visibility updates, transfer
    tasks): without this wait, whichever side runs next would pay for it. Called at the
    end of each timed batch, inside its clock, so each side is charged for all the server
    work it causes. An idle dev server uses no CPU; "idle" here is at most one clock tick
    (10 ms) in ``window``.
    """
    if not pid:
        return
    tick = 1 / os.sysconf("SC_CLK_TCK")
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        before = proc_cpu_seconds(pid)
        await asyncio.sleep(window)
        if proc_cpu_seconds(pid) - before <= tick:
            return


# -- samples ---------------------------------------------------------------------------------


@dataclass
class Sample:
    """One timed batch of operations: their latencies, wall time and CPU times."""

    latencies: list[float]
    wall: float
    cpu: float
    server_cpu: float
    #: CPU of the worker process, when the worker runs in a process of its own (``cpu`` is
    #: then the clients' alone).
    worker_cpu: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.count

    @property
    def server_cpu_ms(self) -> float:
        return 1000 * self.server_cpu / self.count

    @property
    def worker_cpu_ms(self) -> float:
        return 1000 * self.worker_cpu / self.count

    @property
    def worker_client_cpu_ms(self) -> float:
        return 1000 * (self.worker_cpu + self.cpu) / self.count

    @property
    def all_cpu_ms(self) -> float:
        """Worker, clients and server: all the CPU per operation."""
        return 1000 * (self.worker_cpu + self.cpu + self.server_cpu) / self.count

    @property
    def p50_ms(self) -> float:
        return 1000 * statistics.median(self.latencies)

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]

    @property
    def throughput(self) -> float:
        return self.count / self.wall


class Clock:
    """Wall time, this process's CPU time (workers and clients), the server's CPU time and,
    with ``worker_pid``, the CPU time of a worker in a process of its own."""

    def __init__(self, server_pid: int | None, worker_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.worker_pid = worker_pid
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.server_cpu = proc_cpu_seconds(server_pid) if server_pid else 0.0
        self.worker_cpu = proc_cpu_seconds(worker_pid) if worker_pid else 0.0

    def sample(self, latencies: list[float]) -> Sample:
        server = proc_cpu_seconds(self.server_pid) - self.server_cpu if self.server_pid else 0.0
        worker = proc_cpu_seconds(self.worker_pid) - self.worker_cpu if self.worker_pid else 0.0
        return Sample(
            latencies,
            time.perf_counter() - self.wall,
            time.process_time() - self.cpu,
            server,
            worker,
        )


@dataclass
class Side:
    """One implementation under test: how to do one operation on one target (an entity, a
    parent workflow); ``op`` gets the target and how many operations it has had."""

    name: str
    op: Callable[[str, int], Awaitable[None]]
    done: dict[str, int] = field(default_factory=dict)
    #: Called (awaited) at the end of a timed batch, inside the clock (e.g. a span flush).
    settle: Callable[[], Awaitable[None]] | None = None
    #: The process of this side's worker, if it has one of its own (its CPU is sampled).
    worker_pid: int | None = None

    async def timed(self, target: str) -> float:
        n = self.done.get(target, 0)
        self.done[target] = n + 1
        began = time.perf_counter()
        await self.op(target, n)
        return time.perf_counter() - began


Targets = str | Sequence[str]
"""What one client works on: one target, or several it takes in turn."""


def _turns(targets: Targets, count: int) -> list[str]:
    cycle = [targets] if isinstance(targets, str) else list(targets)
    return [cycle[i % len(cycle)] for i in range(count)]


async def sequential(side: Side, target: Targets, count: int, server_pid: int | None) -> Sample:
    """``count`` operations by one client on ``target`` (several: in turn), one at a time;
    then the server settles (its wall time is part of the sample: see :func:`server_idle`)."""
    clock = Clock(server_pid, side.worker_pid)
    latencies = [await side.timed(t) for t in _turns(target, count)]
    if side.settle is not None:
        await side.settle()
    await server_idle(server_pid)
    return clock.sample(latencies)


async def concurrent(
    side: Side, targets: Sequence[Targets], per_target: int, server_pid: int | None
) -> Sample:
    """One client per item of ``targets``, ``per_target`` operations each (one at a time,
    on the client's targets in turn), all at once; then the server settles, as in
    :func:`sequential`. Clients must not share a target."""

    async def client(mine: Targets) -> list[float]:
        return [await side.timed(t) for t in _turns(mine, per_target)]

    clock = Clock(server_pid, side.worker_pid)
    results = await asyncio.gather(*(client(t) for t in targets))
    if side.settle is not None:
        await side.settle()
    await server_idle(server_pid)
    return clock.sample([x for r in results for x in r])


def rotate(items: Sequence[Any], rep: int) -> list[Any]:
    """``items`` starting at ``rep`` (mod len): who goes first changes every repetition."""
    k = rep % len(items)
    return [*items[k:], *items[:k]]


# -- tables ------------------------------------------------------------------------------------


def side_median(reps: Sequence[dict[str, Sample]], side: str, attr: str) -> float:
    """The median over the repetitions of one side's figure."""
    return float(statistics.median(getattr(r[side], attr) for r in reps))


def meets(ratio: float, target: str) -> bool | None:
    """Whether ``ratio`` meets ``target`` (``">= 0.97"``, ``"<= 1.05"``); None for ``"-"``
    or ``"report"`` (no target)."""
    if not target.startswith(("<=", ">=")):
        return None
    limit = float(target.split()[-1])
    return ratio >= limit if target.startswith(">=") else ratio <= limit


def ratio_row(
    row: str,
    what: str,
    unit: str,
    reps: Sequence[dict[str, Sample]],
    attr: str,
    target: str,
    sides: tuple[str, str] = ("hand", "ours"),
) -> Row:
    """A summary row of a three-sided benchmark: each side's median and the median over the
    repetitions of ours / hand."""
    base, ours = sides
    ratio = float(statistics.median(getattr(r[ours], attr) / getattr(r[base], attr) for r in reps))
    return Row(
        row,
        what,
        unit,
        side_median(reps, base, attr),
        side_median(reps, ours, attr),
        ratio,
        target,
        meets(ratio, target),
    )


def median_ratio(pairs: Sequence[tuple[Any, Any]], attr: str) -> tuple[float, float, float]:
    """Median of the baseline values, of ours, and of the per-repetition ratios ours/base."""
    base = statistics.median(getattr(p[0], attr) for p in pairs)
    ours = statistics.median(getattr(p[1], attr) for p in pairs)
    ratio = statistics.median(getattr(p[1], attr) / getattr(p[0], attr) for p in pairs)
    return base, ours, ratio


def print_pair_table(
    title: str,
    scenarios: dict[str, list[tuple[Any, Any]]],
    metrics: Sequence[tuple[str, str]],
    names: tuple[str, str] = ("baseline", "ours"),
) -> None:
    """One line per repetition and a median line per scenario; ratio = ours / baseline."""
    print(title)
    head = "".join(f" | {name:^26}" for name, _ in metrics)
    sub = "".join(f" | {names[0][:9]:>9} {names[1][:9]:>9} {'ratio':>6}" for _ in metrics)
    print(f"{'scenario':<16} {'rep':>6}{head}")
    print(f"{'':<16} {'':>6}{sub}")
    width = len(f"{'':<16} {'':>6}{sub}")
    for scenario, pairs in scenarios.items():
        print("-" * width)
        for index, (base, ours) in enumerate(pairs, 1):
            cells = "".join(
                f" | {getattr(base, a):>9.1f} {getattr(ours, a):>9.1f}"
                f" {getattr(ours, a) / getattr(base, a):>6.2f}"
                for _, a in metrics
            )
            print(f"{scenario:<16} {index:>6}{cells}")
        medians = "".join(
            " | {:>9.1f} {:>9.1f} {:>6.2f}".format(*median_ratio(pairs, a)) for _, a in metrics
        )
        print(f"{scenario:<16} {'median':>6}{medians}")
    print("-" * width)
    print(
        f"ratio = {names[1]} / {names[0]} per repetition; the median line is the median of "
        "each column."
    )
    print()


# -- summary rows ------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the suite's summary table."""

    row: str
    what: str
    unit: str
    baseline: float
    ours: float
    ratio: float
    target: str
    met: bool | None  # None: no target, reported only


def record(bench: str, rows: Sequence[Row], notes: Sequence[str] = ()) -> None:
    """Print ``rows`` and, under ``scripts/bench.sh``, save them for ``bench.summary``."""
    for r in rows:
        verdict = "met" if r.met else ("-" if r.met is None else "MISSED")
        print(
            f"summary {r.row:<4} {r.what:<46} {r.baseline:>10.4g} {r.ours:>10.4g} "
            f"{r.ratio:>6.2f}  {r.target:<8} {verdict}"
        )
    directory = os.environ.get(RESULTS_ENV)
    if not directory:
        return
    path = Path(directory) / f"{bench}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rows": [asdict(r) for r in rows], "notes": list(notes)}))
