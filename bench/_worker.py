"""A benchmark worker in a process of its own, so that its CPU time and memory can be read
from ``/proc`` alone: ``python -m bench._worker --target HOST:PORT --task-queue Q --variant V``.

Variants (all on benchmark 1's models, same worker settings):

* ``ours``: the router entity on ``RouterPlugin(router)`` (its sandbox pass-through:
  ``PASSTHROUGH_MODULES``, plus the user's models module, :data:`USER_MODULES`, through
  ``passthrough_modules=``), plus :mod:`bench._user_workflow`;
* ``hand``: the same, but with the sandbox a competent user configures by hand,
  :data:`HAND_CONFIGURED`: pydantic, their models module and the part of the library the
  entity cannot run without; everything else not in temporalio's default pass-through list
  (the rest of the library, OpenTelemetry) is re-imported by every sandbox that imports it;
* ``raw``: benchmark 1's hand-written workflow (:mod:`bench._raw_entity`);
* ``floor``: benchmark 1's floor, a workflow whose Update does nothing;
* ``hook-floor``, ``hook-hand`` (:mod:`bench._hook_raw`, the library never imported) and
  ``hook-ours`` (:mod:`bench._hook_ours` on ``RouterPlugin``): benchmark 2's parents and
  children.

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

from ._harness import WORKER_SETTINGS

VARIANTS = ("ours", "hand", "raw", "floor", "hook-floor", "hook-hand", "hook-ours")
#: What the entity workflow cannot do without. Its classes are created at run time in
#: ``temporal_router.workflows._entity``, which the sandbox imports to find them, so that
#: module must be the worker's own. ``_entity`` alone is not enough: the sandbox's
#: pydantic converter resolves the annotations of the message dataclasses
#: (``temporal_router.workflows._messages``) through the sandbox's ``sys.modules``, and
#: decoding ``EntityInput`` fails ("not fully defined") unless that module is there too.
STRICTLY_NEEDED = ("temporal_router.workflows",)
#: The user's own models (benchmark 1's), which :mod:`bench._user_workflow` imports.
USER_MODULES = ("bench._entity_models",)
#: The sandbox a competent user sets up by hand for a worker that hosts these workflows:
#: pydantic (temporalio's defaults pass it through already; named here as a user would),
#: their models module, and the strict minimum of the library.
HAND_CONFIGURED = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    *USER_MODULES,
    *STRICTLY_NEEDED,
)
#: What a user writing the entity without the library passes through: pydantic and their
#: models.
RAW_PASSTHROUGH = ("pydantic", "pydantic_core", "annotated_types", *USER_MODULES)


async def hand_worker(args: argparse.Namespace, settings: dict[str, Any]) -> Worker:
    """The hand-written entity or the floor; the library is never imported here, so that
    the worker's memory is what a user's own worker would hold."""
    from ._raw_entity import FloorEntity, RawEntity

    client = await Client.connect(args.target, data_converter=pydantic_data_converter)
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*RAW_PASSTHROUGH)
    )
    return Worker(
        client,
        task_queue=args.task_queue,
        workflows=[RawEntity if args.variant == "raw" else FloorEntity],
        workflow_runner=runner,
        **settings,
    )


async def hook_hand_worker(args: argparse.Namespace, settings: dict[str, Any]) -> Worker:
    """Benchmark 2's floor or hand-written hook; the library is never imported here."""
    from ._hook_raw import FloorHookChild, FloorHookParent, RawHookChild, RawHookParent

    client = await Client.connect(args.target, data_converter=pydantic_data_converter)
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*RAW_PASSTHROUGH)
    )
    pair = (
        [FloorHookParent, FloorHookChild]
        if args.variant == "hook-floor"
        else [RawHookParent, RawHookChild]
    )
    return Worker(
        client,
        task_queue=args.task_queue,
        workflows=pair,
        workflow_runner=runner,
        **settings,
    )


async def hook_ours_worker(args: argparse.Namespace, settings: dict[str, Any]) -> Worker:
    """Benchmark 2's ``exec_hook`` parent and ``signal`` child on ``RouterPlugin``."""
    from temporal_router.adapter import RouterPlugin

    from ._hook_ours import OursHookChild, OursHookParent
    from .bench_entity import build_router

    router, _ = build_router()
    plugin = RouterPlugin(
        router, search_attributes=False, workflows=[OursHookParent, OursHookChild]
    )
    client = await Client.connect(args.target, plugins=[plugin])
    return Worker(client, task_queue=args.task_queue, **settings)


async def router_worker(args: argparse.Namespace, settings: dict[str, Any]) -> Worker:
    """The router entity on ``RouterPlugin`` (``ours``) or on a hand-configured sandbox."""
    from temporal_router.adapter import RouterPlugin

    from ._user_workflow import BenchUserWorkflow
    from .bench_entity import build_router

    class HandConfiguredPlugin(RouterPlugin):
        """``RouterPlugin`` whose sandbox passes through :data:`HAND_CONFIGURED` (on top of
        temporalio's defaults) in place of ``PASSTHROUGH_MODULES``."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)

            def runner(existing: WorkflowRunner | None) -> WorkflowRunner:
                return SandboxedWorkflowRunner(
                    restrictions=SandboxRestrictions.default.with_passthrough_modules(
                        *HAND_CONFIGURED
                    )
                )

            self.workflow_runner = runner

    router, _ = build_router()
    kind = RouterPlugin if args.variant == "ours" else HandConfiguredPlugin
    plugin = kind(
        router,
        search_attributes=args.search_attributes,
        max_history_events=args.max_history_events,
        workflows=[BenchUserWorkflow],
        passthrough_modules=USER_MODULES,
    )
    client = await Client.connect(args.target, plugins=[plugin])
    return Worker(client, task_queue=args.task_queue, **settings)


async def serve(args: argparse.Namespace) -> None:
    settings = {**WORKER_SETTINGS, "max_cached_workflows": args.max_cached}
    if args.variant in ("raw", "floor"):
        worker = await hand_worker(args, settings)
    elif args.variant in ("hook-floor", "hook-hand"):
        worker = await hook_hand_worker(args, settings)
    elif args.variant == "hook-ours":
        worker = await hook_ours_worker(args, settings)
    else:
        worker = await router_worker(args, settings)
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
