"""Dispatch throughput of the pure router: ``python -m bench.bench_router``.

A 3-state workflow (Todo -> Doing -> Done, then Reopen back to Todo) is driven round the
cycle, one dispatch at a time, in a single event loop. Two set-ups are measured:

* ``bare``: handlers only (the reference line);
* ``2 mw + 3 hooks``: two global middleware and three lifecycle hooks registered.

Each set-up gets a warm-up, then several timed repetitions; the table shows the median
(and the best and worst) dispatches per second. Numbers are for spotting regressions
between versions on the same machine, not for comparing machines.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from temporal_router import Context, Next, Workflow, WorkflowRouter, define_workflow


class Todo(BaseModel):
    title: str
    priority: int = 0


class Doing(BaseModel):
    title: str
    assignee: str


class Done(BaseModel):
    title: str
    assignee: str


class Start(BaseModel):
    assignee: str


class Finish(BaseModel):
    pass


class Reopen(BaseModel):
    pass


class Started(BaseModel):
    assignee: str


class Finished(BaseModel):
    pass


tasks = define_workflow(
    "BenchTask",
    states={"Todo": Todo, "Doing": Doing, "Done": Done},
    commands={"Start": Start, "Finish": Finish, "Reopen": Reopen},
    events={"Started": Started, "Finished": Finished},
    errors={},
)

#: One lap round the cycle: each command is valid in the state the previous one leaves.
CYCLE: tuple[dict[str, Any], ...] = (
    {"type": "Start", "payload": {"assignee": "ada"}},
    {"type": "Finish", "payload": {}},
    {"type": "Reopen", "payload": {}},
)


def build_router(*, middleware: int, hooks: int) -> tuple[WorkflowRouter, dict[str, int]]:
    """The Todo -> Doing -> Done -> Todo router, with ``middleware`` global middleware and
    ``hooks`` lifecycle hooks (chosen from transition, event and dispatch:end).

    Also returns the call counters the middleware and hooks bump, to check they ran."""
    router = WorkflowRouter(tasks)

    def start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})

    def finish(ctx: Context) -> None:
        ctx.transition("Done", {"title": ctx.data.title, "assignee": ctx.data.assignee})
        ctx.emit("Finished")

    def reopen(ctx: Context) -> None:
        ctx.transition("Todo", {"title": ctx.data.title})

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Finish", finish)
    router.state("Done").on("Reopen", reopen)

    counters = {"mw": 0, "hooks": 0}

    def make_middleware() -> Callable[[Context, Next], Any]:
        async def count(ctx: Context, next: Next) -> None:
            counters["mw"] += 1
            await next()

        return count

    for _ in range(middleware):
        router.use(make_middleware())

    def hook(*args: Any) -> None:
        counters["hooks"] += 1

    for event in ("transition", "event", "dispatch:end")[:hooks]:
        router.on(event, hook)  # type: ignore[call-overload]
    return router, counters


async def run_laps(router: WorkflowRouter, workflow: Workflow, laps: int) -> Workflow:
    """Dispatch ``laps`` full cycles; returns the final workflow."""
    for _ in range(laps):
        for command in CYCLE:
            result = await router.dispatch(workflow, command)
            if result.workflow is None:
                raise RuntimeError(f"benchmark dispatch failed: {result.error}")
            workflow = result.workflow
    return workflow


@dataclass(frozen=True)
class Measurement:
    name: str
    rates: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


async def measure(
    name: str, router: WorkflowRouter, *, laps: int, repeats: int, warmup_laps: int
) -> Measurement:
    workflow = tasks.create_workflow("bench-1", initial_state="Todo", data={"title": "bench"})
    workflow = await run_laps(router, workflow, warmup_laps)
    rates: list[float] = []
    for _ in range(repeats):
        began = time.perf_counter()
        workflow = await run_laps(router, workflow, laps)
        elapsed = time.perf_counter() - began
        rates.append(laps * len(CYCLE) / elapsed)
    return Measurement(name, rates)


def print_table(results: list[Measurement], *, dispatches: int, repeats: int) -> None:
    print(f"router dispatch throughput: {dispatches} dispatches x {repeats} repetitions, median")
    header = f"{'set-up':<16} {'median/s':>10} {'best/s':>10} {'worst/s':>10} {'us/dispatch':>12}"
    print(header)
    print("-" * len(header))
    for m in results:
        print(
            f"{m.name:<16} {m.median:>10,.0f} {max(m.rates):>10,.0f} {min(m.rates):>10,.0f}"
            f" {1e6 / m.median:>12.1f}"
        )
    if len(results) == 2:
        extra = results[0].median / results[1].median - 1
        print(f"time per dispatch, {results[1].name} vs {results[0].name}: {extra:+.0%}")


async def main_async(laps: int, repeats: int) -> None:
    warmup = max(1, laps // 5)
    results: list[Measurement] = []
    for name, middleware, hooks in (("bare", 0, 0), ("2 mw + 3 hooks", 2, 3)):
        router, counters = build_router(middleware=middleware, hooks=hooks)
        results.append(await measure(name, router, laps=laps, repeats=repeats, warmup_laps=warmup))
        if (counters["mw"] > 0) != (middleware > 0) or (counters["hooks"] > 0) != (hooks > 0):
            raise RuntimeError(f"{name}: middleware/hooks did not run as configured: {counters}")
    print_table(results, dispatches=laps * len(CYCLE), repeats=repeats)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--laps", type=int, default=3000, help="cycles of 3 dispatches per rep")
    parser.add_argument("--repeats", type=int, default=9, help="timed repetitions per set-up")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.laps, args.repeats))


if __name__ == "__main__":
    main()
