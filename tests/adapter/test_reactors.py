"""Reactors on Temporal: an event in one entity becomes a command delivered to another.

Orders (``AdapterOrder``) emit ``OrderPaid``; the reactor sends ``Prepare`` to the shipment
``ship-<order id>`` (``AdapterShipment``). The entity that emitted the event delivers the
command with an activity, under a command id derived from its own, so it applies once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer
from temporal_router.workflows._messages import DELIVER_ACTIVITY

from ._routers import Preparing, build_reactor_routers, hosted


async def _eventually(check: Callable[[], Awaitable[bool]], *, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def _event_types(client: Client, workflow_id: str) -> list[int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [event.event_type for event in history.events]


def _activity_types(history_events: list[Any]) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history_events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


async def test_event_in_one_entity_is_a_command_in_another(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    orders, shipping, reactors = build_reactor_routers()
    async with hosted(
        temporal_dev_server.target, task_queue, orders, shipping, reactors=reactors
    ) as client:
        order_client = RouterClient(client, orders, task_queue=task_queue)
        ship_client = RouterClient(client, shipping, task_queue=task_queue)
        order = f"{task_queue}-o"
        shipment = f"ship-{order}"
        await ship_client.create(shipment, initial_state="Waiting", data={})
        await order_client.create(order, initial_state="Open", data={"total": 30})

        paid = await order_client.dispatch(
            order, {"type": "Pay", "payload": {"amount": 30}}, command_id="pay-1"
        )
        assert paid.ok, paid.error

        async def prepared() -> bool:
            return (await ship_client.get(shipment)).state == "Preparing"

        await _eventually(prepared)
        snapshot = await ship_client.get(shipment)
        assert snapshot.data == Preparing(order_id=order, amount=30)
        assert snapshot.version == 2

        # A retried Pay (same command id) emits nothing new and delivers nothing again.
        assert (
            await order_client.dispatch(
                order, {"type": "Pay", "payload": {"amount": 30}}, command_id="pay-1"
            )
        ) == paid
        history = await client.get_workflow_handle(order).fetch_history()
        assert _activity_types(list(history.events)) == [DELIVER_ACTIVITY]
        await asyncio.sleep(0.5)
        assert (await ship_client.get(shipment)).version == 2
        # The delivered command carried the order's derived command id.
        shipment_history = await client.get_workflow_handle(shipment).fetch_history()
        update_ids = [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            for e in shipment_history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]
        assert update_ids == [f"{order}/pay-1/0"]


async def test_delivery_waits_for_the_targets_worker(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    """Durable: the target's worker is down when the event happens; the command arrives
    once a worker (a new one, replaying the target) is back."""
    orders, shipping, reactors = build_reactor_routers()
    order_queue, ship_queue = f"{task_queue}-orders", f"{task_queue}-shipping"
    ship_client_raw = await Client.connect(
        temporal_dev_server.target, plugins=[RouterPlugin(shipping)]
    )
    ship_client = RouterClient(ship_client_raw, shipping, task_queue=ship_queue)
    order = f"{task_queue}-o"
    shipment = f"ship-{order}"
    async with Worker(ship_client_raw, task_queue=ship_queue):
        await ship_client.create(shipment, initial_state="Waiting", data={})

    async with hosted(
        temporal_dev_server.target, order_queue, orders, reactors=reactors
    ) as order_client_raw:
        order_client = RouterClient(order_client_raw, orders, task_queue=order_queue)
        await order_client.create(order, initial_state="Open", data={"total": 12})
        assert (await order_client.dispatch(order, {"type": "Pay", "payload": {"amount": 12}})).ok

        async def delivery_started() -> bool:
            types = await _event_types(order_client_raw, order)
            return EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED in types or (
                EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED in types
            )

        await _eventually(delivery_started)
        await asyncio.sleep(1.0)
        # Nobody hosts the shipment: the delivery cannot have completed.
        types = await _event_types(order_client_raw, order)
        assert EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED not in types

        async with Worker(ship_client_raw, task_queue=ship_queue):

            async def prepared() -> bool:
                return (await ship_client.get(shipment)).state == "Preparing"

            await _eventually(prepared)

            async def delivered() -> bool:
                return EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED in await _event_types(
                    order_client_raw, order
                )

            await _eventually(delivered)
            assert (await ship_client.get(shipment)).data == Preparing(order_id=order, amount=12)


async def test_undeliverable_command_does_not_fail_the_emitting_entity(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    orders, shipping, reactors = build_reactor_routers()
    async with hosted(
        temporal_dev_server.target, task_queue, orders, shipping, reactors=reactors
    ) as client:
        order_client = RouterClient(client, orders, task_queue=task_queue)
        order = f"{task_queue}-lonely"  # no ship-<order> entity exists
        await order_client.create(order, initial_state="Open", data={"total": 5})
        assert (await order_client.dispatch(order, {"type": "Pay", "payload": {"amount": 5}})).ok

        async def delivery_failed() -> bool:
            return EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED in await _event_types(client, order)

        await _eventually(delivery_failed)
        await asyncio.sleep(0.5)  # let the entity handle the failure
        description = await client.get_workflow_handle(order).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        # Still serving commands.
        later = await order_client.dispatch(order, {"type": "Pay", "payload": {"amount": 5}})
        assert later.error is not None
        assert getattr(later.error, "code", None) == "NO_HANDLER"
        assert (await order_client.get(order)).state == "Paid"
