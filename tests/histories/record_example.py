"""Record the example app's entity histories for the replay test (run by hand, then commit).

    .venv/bin/python -m tests.histories.record_example

Runs the orders scenario of ``python -m examples.orders`` (an order paid through the
``ChargeCard`` exec_hook and shipped with a ``SendNotification`` hook; a second order whose
card is declined, then cancelled) on an in-memory dev server, and writes each order's
history to ``tests/histories/orders_<role>.json`` and their workflow ids (replay needs them:
hook ids derive from them) to ``tests/histories/orders_ids.json``. ``tests/reliability/test_determinism.py``
replays them through ``Replayer(workflows=[], plugins=[examples.orders.plugin])``: re-record
only on purpose (a deliberate, versioned change of the example app's workflow code).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from temporal_router.otel import configure_tracing
from temporal_router.testing import DevServer

HERE = Path(__file__).resolve().parent
#: role -> file; the scenario's two orders.
FILES = {"shipped": HERE / "orders_shipped.json", "declined": HERE / "orders_declined.json"}
IDS = HERE / "orders_ids.json"


async def record() -> dict[str, Path]:
    # examples.orders.plugin traces (otel=True): a replay-safe global provider must exist
    # before the Worker is built. Its spans go to a throw-away file.
    traces = Path(tempfile.mkdtemp(prefix="record-example-")) / "traces.jsonl"
    configure_tracing(traces_path=traces, service_name="record-example")
    from examples.orders import TASK_QUEUE, plugin
    from examples.orders.__main__ import scenario

    async with DevServer() as server:
        client = await Client.connect(server.target, plugins=[plugin])
        async with Worker(client, task_queue=TASK_QUEUE):
            order_id = await scenario(client)
        ids = {"shipped": order_id, "declined": f"{order_id}-b"}
        for role, workflow_id in ids.items():
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            text = json.dumps(json.loads(history.to_json()), indent=1) + "\n"
            FILES[role].write_text(text)
        IDS.write_text(json.dumps({FILES[r].name: i for r, i in ids.items()}, indent=1) + "\n")
    return {**FILES, "ids": IDS}


def main() -> int:
    for role, path in asyncio.run(record()).items():
        print(f"{role}: {path.relative_to(HERE.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
