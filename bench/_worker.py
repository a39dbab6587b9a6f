"""A benchmark worker in a process of its own, so that its CPU time and memory can be read
from ``/proc`` alone: ``python -m bench._worker --target HOST:PORT --task-queue Q --variant V``.

Variants (all on benchmark 1's models, same worker settings):

* ``ours``: the router entity on ``RouterPlugin(router)`` (its sandbox pass-through:
  ``PASSTHROUGH_MODULES``), plus :mod:`bench._user_workflow`;
* ``minimal``: the same, but a sandbox that passes through only what is strictly needed,
  :data:`STRICTLY_NEEDED`; everything else not in temporalio's default pass-through list
  (the rest of the library, OpenTelemetry) is re-imported by every sandbox that imports it;
* ``raw``: benchmark 1's hand-written workflow (:mod:`bench._raw_entity`).

Prints ``ready <pid>`` once the worker polls, and runs until its stdin is closed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_router.adapter import PASSTHROUGH_MODULES, RouterPlugin

from ._raw_entity import RawEntity
from ._user_workflow import BenchUserWorkflow
from .bench_entity import WORKER_SETTINGS, build_router

VARIANTS = ("ours", "minimal", "raw")
#: What the entity workflow cannot do without. Its classes are created at run time in
#: ``temporal_router.workflows._entity``, which the sandbox imports to find them, so that
#: module must be the worker's own. ``_entity`` alone is not enough: the sandbox's
#: pydantic converter resolves the annotations of the message dataclasses
#: (``temporal_router.workflows._messages``) through the sandbox's ``sys.modules``, and
#: decoding ``EntityInput`` fails ("not fully defined") unless that module is there too.
STRICTLY_NEEDED = ("temporal_router.workflows",)


class MinimalPassthroughPlugin(RouterPlugin):
    """``RouterPlugin`` whose sandbox passes through only :data:`STRICTLY_NEEDED`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        def runner(existing: WorkflowRunner | None) -> WorkflowRunner:
            return SandboxedWorkflowRunner(
                restrictions=SandboxRestrictions.default.with_passthrough_modules(*STRICTLY_NEEDED)
            )

        self.workflow_runner = runner


async def serve(args: argparse.Namespace) -> None:
    settings = {**WORKER_SETTINGS, "max_cached_workflows": args.max_cached}
    if args.variant == "raw":
        client = await Client.connect(args.target, data_converter=pydantic_data_converter)
        runner = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        )
        worker = Worker(
            client,
            task_queue=args.task_queue,
            workflows=[RawEntity],
            workflow_runner=runner,
            **settings,
        )
    else:
        router, _ = build_router()
        kind = RouterPlugin if args.variant == "ours" else MinimalPassthroughPlugin
        plugin = kind(
            router,
            search_attributes=args.search_attributes,
            max_history_events=args.max_history_events,
            workflows=[BenchUserWorkflow],
        )
        client = await Client.connect(args.target, plugins=[plugin])
        worker = Worker(client, task_queue=args.task_queue, **settings)
    async with worker:
        print(f"ready {os.getpid()}", flush=True)
        # Until the parent closes our stdin (or exits).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--target", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--max-cached", type=int, default=1000)
    parser.add_argument(
        "--max-history-events", type=int, default=2_000, help="continue-as-new bound (ours)"
    )
    parser.add_argument("--search-attributes", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args))
    # Skip interpreter finalization: temporalio's runtime threads can abort it (exit 134,
    # sdk-python#300), which would only add noise to the parent's output.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
