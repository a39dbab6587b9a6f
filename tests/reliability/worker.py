"""A worker process for the crash tests: ``python -m tests.reliability.worker``.

Hosts the ``RelLedger`` router and the ``RelEcho`` hook with ``RouterPlugin`` on the server at
``TEMPORAL_ADDRESS``, task queue ``RELIABILITY_TASK_QUEUE``; ``RELIABILITY_MAX_HISTORY`` sets
``max_history_events`` (to make entities continue-as-new); ``RELIABILITY_REACTORS=1`` adds
the mirror reactors (each ``Added`` of ``X`` is delivered to ``X-mirror``). Prints ``ready`` once it polls;
SIGTERM stops it gracefully, SIGKILL is what the tests use to crash it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from temporalio.client import Client
from temporalio.worker import Worker

from temporal_router.adapter import RouterPlugin

from ._app import Echo, build_ledger_router, build_mirror_reactors


async def main() -> int:
    address = os.environ["TEMPORAL_ADDRESS"]
    task_queue = os.environ["RELIABILITY_TASK_QUEUE"]
    max_history = int(os.environ.get("RELIABILITY_MAX_HISTORY", "2000"))
    router = build_ledger_router()
    reactors = build_mirror_reactors(router) if os.environ.get("RELIABILITY_REACTORS") else None
    plugin = RouterPlugin(
        router, workflows=[Echo], max_history_events=max_history, reactors=reactors
    )
    client = await Client.connect(address, plugins=[plugin])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue):
        print("ready", flush=True)
        await stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
