"""Benchmark 6: the pure router in memory against the state machines a user would otherwise pick.

``python -m bench.bench_pure``. One *cycle* is: create an entity in ``Todo``, dispatch
``Start`` (a guard: the assignee must not be blank), dispatch ``Complete`` (a callback
records a completion). Throughput is reported per dispatch (two per cycle; the create is
part of the cost). Contenders, on an equivalent 3-state machine:

* ``hand-written``: a dict of handlers doing the same pydantic validation as the router
  (payload, new state data, event): the floor of what Python can do with validation;
* ``temporal-router``: ``WorkflowRouter`` with 1 global middleware and 3 lifecycle hooks;
* ``transitions``: one shared ``Machine``, a model added per entity (no validation);
* ``python-statemachine``: a ``StateMachine`` per entity (no validation).

Rounds are interleaved (every contender once per round, in rotating order) and the median
of the rounds is quoted, so background load on a shared machine hits all of them alike.
Targets (issue 9): router >= 2x ``transitions`` and >= 0.5x ``hand-written``.

``--instructions`` also counts instructions per dispatch of the first three under valgrind's
callgrind, a figure that does not move with the machine's load (the wall-clock medians on
a busy shared machine do): one process per contender and count, the difference of a short
and a long run. One caveat in the router's disfavour: under valgrind each dispatch takes
about a millisecond, so ``utc_now``'s one-datetime-per-millisecond cache (hit by nearly
every call at full speed) misses every time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from temporal_router import Context, Next, WorkflowRouter, define_workflow

from ._harness import Row, record

_ROOT = Path(__file__).resolve().parents[1]

# -- the shared models --------------------------------------------------------------------------


class Todo(BaseModel):
    title: str


class Doing(BaseModel):
    title: str
    assignee: str


class Done(BaseModel):
    title: str
    assignee: str


class Start(BaseModel):
    assignee: str


class Complete(BaseModel):
    pass


class Completed(BaseModel):
    assignee: str


class Blank(BaseModel):
    pass


definition = define_workflow(
    "PureBench",
    states={"Todo": Todo, "Doing": Doing, "Done": Done},
    commands={"Start": Start, "Complete": Complete},
    events={"Completed": Completed},
    errors={"BlankAssignee": Blank},
)

START = {"type": "Start", "payload": {"assignee": "ada"}}
COMPLETE = {"type": "Complete", "payload": {}}

# -- temporal-router ----------------------------------------------------------------------------


def build_router() -> WorkflowRouter:
    """The router under test: 1 middleware, 3 hooks, a guard and an event."""
    router = WorkflowRouter(definition)
    seen = {"mw": 0, "hooks": 0}

    async def count(ctx: Context, next: Next) -> None:
        seen["mw"] += 1
        await next()

    def hook(*_: Any) -> None:
        seen["hooks"] += 1

    router.use(count)
    router.on("dispatch:end", hook)
    router.on("transition", hook)
    router.on("event", hook)

    def start(ctx: Context) -> None:
        if not ctx.command.payload.assignee.strip():
            ctx.error("BlankAssignee")
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})

    def complete(ctx: Context) -> None:
        data = ctx.data
        ctx.transition("Done", {"title": data.title, "assignee": data.assignee})
        ctx.emit("Completed", {"assignee": data.assignee})

    router.state("Todo").on("Start", start)
    router.state("Doing").on("Complete", complete)
    return router


def router_cycles(router: WorkflowRouter, cycles: int) -> None:
    async def run() -> None:
        for i in range(cycles):
            wf = definition.create_workflow(f"w{i}", initial_state="Todo", data={"title": "t"})
            started = await router.dispatch(wf, START)
            assert started.workflow is not None
            done = await router.dispatch(started.workflow, COMPLETE)
            assert done.ok

    asyncio.run(run())


# -- hand-written dispatcher ----------------------------------------------------------------------


def _hand_start(data: BaseModel, payload: Any) -> tuple[str, BaseModel, list[BaseModel]]:
    if not payload.assignee.strip():
        raise ValueError("BlankAssignee")
    return "Doing", Doing.model_validate({"title": data.title, "assignee": payload.assignee}), []  # type: ignore[attr-defined]


def _hand_complete(data: Any, payload: Any) -> tuple[str, BaseModel, list[BaseModel]]:
    done = Done.model_validate({"title": data.title, "assignee": data.assignee})
    return "Done", done, [Completed.model_validate({"assignee": data.assignee})]


_HAND_COMMANDS: dict[str, type[BaseModel]] = {"Start": Start, "Complete": Complete}
_HAND_ROUTES: dict[
    tuple[str, str], Callable[[Any, Any], tuple[str, BaseModel, list[BaseModel]]]
] = {
    ("Todo", "Start"): _hand_start,
    ("Doing", "Complete"): _hand_complete,
}


def hand_cycles(cycles: int) -> None:
    def dispatch(entity: tuple[str, BaseModel], command: dict[str, Any]) -> tuple[str, BaseModel]:
        state, data = entity
        payload = _HAND_COMMANDS[command["type"]].model_validate(command["payload"])
        new_state, new_data, _events = _HAND_ROUTES[(state, command["type"])](data, payload)
        return new_state, new_data

    for _ in range(cycles):
        entity: tuple[str, BaseModel] = ("Todo", Todo.model_validate({"title": "t"}))
        entity = dispatch(entity, START)
        entity = dispatch(entity, COMPLETE)
        assert entity[0] == "Done"


# -- transitions ---------------------------------------------------------------------------------


def transitions_setup() -> Callable[[int], None]:
    from transitions import Machine

    class Task:
        def __init__(self, title: str) -> None:
            self.title = title
            self.assignee = ""
            self.completed = 0

        def has_assignee(self, assignee: str) -> bool:
            return bool(assignee.strip())

        def set_assignee(self, assignee: str) -> None:
            self.assignee = assignee

        def record_completion(self) -> None:
            self.completed += 1

    machine = Machine(
        model=None,
        states=["Todo", "Doing", "Done"],
        initial="Todo",
        transitions=[
            {
                "trigger": "start",
                "source": "Todo",
                "dest": "Doing",
                "conditions": "has_assignee",
                "before": "set_assignee",
            },
            {
                "trigger": "complete",
                "source": "Doing",
                "dest": "Done",
                "after": "record_completion",
            },
        ],
        auto_transitions=False,
    )

    def run(cycles: int) -> None:
        for _ in range(cycles):
            task = Task("t")
            machine.add_model(task)
            task.start("ada")  # type: ignore[attr-defined]
            task.complete()  # type: ignore[attr-defined]
            assert task.state == "Done"  # type: ignore[attr-defined]
            machine.remove_model(task)

    return run


# -- python-statemachine ---------------------------------------------------------------------------


def statemachine_setup() -> Callable[[int], None]:
    from statemachine import State, StateMachine

    class TaskMachine(StateMachine):
        todo = State(initial=True)
        doing = State()
        done = State(final=True)

        start = todo.to(doing, cond="has_assignee")
        complete = doing.to(done)

        def __init__(self) -> None:
            self.assignee = ""
            self.completed = 0
            super().__init__()

        def has_assignee(self, assignee: str) -> bool:
            return bool(assignee.strip())

        def on_start(self, assignee: str) -> None:
            self.assignee = assignee

        def on_complete(self) -> None:
            self.completed += 1

    def run(cycles: int) -> None:
        for _ in range(cycles):
            machine = TaskMachine()
            machine.send("start", "ada")
            machine.send("complete")
            assert machine.done.is_active

    return run


# -- harness ------------------------------------------------------------------------------------


def measure(
    contenders: dict[str, Callable[[int], None]], cycles: int, rounds: int
) -> dict[str, list[float]]:
    """Dispatches per second of each contender, one figure per round."""
    for run in contenders.values():  # warm-up (imports, caches, validators)
        run(max(50, cycles // 10))
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            started = time.perf_counter()
            contenders[name](cycles)
            elapsed = time.perf_counter() - started
            rates[name].append(2 * cycles / elapsed)
    return rates


def count_instructions(name: str, cycles: int) -> float:
    """Instructions per dispatch of contender ``name``, counted by valgrind's callgrind.

    A count, not a time: the same whatever else the machine is doing. Two runs of the
    contender's own process, ``cycles // 10`` and ``cycles`` cycles after the same warm-up;
    their difference leaves out start-up, imports and warm-up.
    """

    def collected(n: int) -> int:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.bench_pure",
            "--only",
            name,
            "--cycles",
            str(n),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=_ROOT)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
        return int(found.group(1))

    few = cycles // 10
    return (collected(cycles) - collected(few)) / (2 * (cycles - few))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cycles", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per dispatch under valgrind (load-independent; ~3 min)",
    )
    parser.add_argument("--only", help=argparse.SUPPRESS)  # one contender, for --instructions
    args = parser.parse_args(argv)
    router = build_router()
    contenders: dict[str, Callable[[int], None]] = {
        "hand-written": hand_cycles,
        "temporal-router": lambda n: router_cycles(router, n),
        "transitions": transitions_setup(),
        "python-statemachine": statemachine_setup(),
    }
    if args.only:
        contenders[args.only](50)  # the same warm-up for both counted runs
        contenders[args.only](args.cycles)
        return
    rates = measure(contenders, args.cycles, args.rounds)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    ours = medians["temporal-router"]
    print(
        f"pure router, {args.cycles} cycles x {args.rounds} interleaved rounds, median dispatches/s"
    )
    print(f"{'contender':<22}{'dispatches/s':>14}{'us/dispatch':>13}{'router / it':>13}")
    for name, rate in medians.items():
        print(f"{name:<22}{rate:>14,.0f}{1e6 / rate:>13.1f}{ours / rate:>13.2f}")
    vs_transitions = ours / medians["transitions"]
    vs_hand = ours / medians["hand-written"]
    print(
        f"target router >= 2x transitions: {vs_transitions:.2f}x {'(met)' if vs_transitions >= 2 else '(MISSED)'}"
    )
    print(
        f"target router >= 0.5x hand-written: {vs_hand:.2f}x {'(met)' if vs_hand >= 0.5 else '(MISSED)'}"
    )
    notes = [
        "pure router: ratios are of the medians of interleaved rounds "
        "(router with 1 middleware + 3 hooks; create + 2 dispatches per cycle)"
    ]
    if args.instructions:
        counted = {
            name: count_instructions(name, 2000)
            for name in ("hand-written", "temporal-router", "transitions")
        }
        ours_ir = counted["temporal-router"]
        print("instructions per dispatch (valgrind callgrind; fewer is faster)")
        for name, count in counted.items():
            print(f"{name:<22}{count:>14,.0f}{count / ours_ir:>13.2f}")
        notes.append(
            "pure router, instructions per dispatch (callgrind, load-independent): "
            f"hand-written {counted['hand-written']:,.0f}, router {ours_ir:,.0f}, "
            f"transitions {counted['transitions']:,.0f}: router = "
            f"{counted['transitions'] / ours_ir:.2f}x transitions, "
            f"{counted['hand-written'] / ours_ir:.2f}x hand-written"
        )
    record(
        "bench_pure",
        [
            Row(
                "6",
                "pure router vs transitions (disp/s)",
                "disp/s",
                medians["transitions"],
                ours,
                vs_transitions,
                ">= 2.00",
                vs_transitions >= 2,
            ),
            Row(
                "6",
                "pure router vs hand-written dispatcher (disp/s)",
                "disp/s",
                medians["hand-written"],
                ours,
                vs_hand,
                ">= 0.50",
                vs_hand >= 0.5,
            ),
        ],
        notes,
    )


if __name__ == "__main__":
    main()
