"""Determinism: the example app's recorded entity histories replay through today's code.

``tests/histories/orders_*.json`` were recorded by ``tests/histories/record_example.py``.
They must replay cleanly through ``examples.orders.plugin``; a copy of the order router
that differs only in its ``Pay`` handler (an extra timer, or a different hook) must not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from temporal_router import Context, WorkflowRouter
from temporal_router.adapter import RouterPlugin
from temporal_router.workflows import exec_hook

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
IDS: dict[str, str] = json.loads((HISTORIES / "orders_ids.json").read_text())


def _histories() -> list[WorkflowHistory]:
    return [
        WorkflowHistory.from_json(workflow_id, (HISTORIES / name).read_text())
        for name, workflow_id in IDS.items()
    ]


async def _replay_failures(plugin: RouterPlugin) -> dict[str, BaseException]:
    """Replay every recorded history; the failures by workflow id."""
    replayer = Replayer(workflows=[], plugins=[plugin])
    failures: dict[str, BaseException] = {}
    for history in _histories():
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[history.workflow_id] = result.replay_failure
    return failures


def _orders_plugin(pay: Callable[[Context], Any]) -> RouterPlugin:
    """The example app's plugin around a copy of its router whose Pay handler is ``pay``.

    The copy takes every route and creation guard of ``examples.orders.router`` as they are
    (middleware chain and handler), and the app's trust policy, so it follows the example
    app as that changes.
    """
    from examples.orders import router as original
    from examples.orders import trust
    from examples.orders.hooks import ChargeCard, SendNotification, charge_card, send_email

    router = WorkflowRouter(original.definition)
    for route in original.routes():
        handler = pay if (route.state, route.command) == ("Placed", "Pay") else route.handler
        router.state(route.state).on(route.command, *route.chain, handler)
    for guard in original.creation_guards():
        router.guard_create(guard)
    return RouterPlugin(
        router,
        workflows=[ChargeCard, SendNotification],
        activities=[charge_card, send_email],
        otel=True,
        trust=trust,
    )


async def _pay_after_a_timer(ctx: Context) -> None:
    from examples.orders.app import pay

    await workflow.sleep(timedelta(milliseconds=10))
    await pay(ctx)


async def _pay_with_another_hook(ctx: Context) -> None:
    from examples.orders.app import TASK_QUEUE

    await exec_hook(
        task_queue=TASK_QUEUE,
        workflow_name="SendNotification",
        args=[ctx.data.customer, "paying"],
        timeout="2m",
    )


def test_recorded_histories_cover_the_scenario() -> None:
    """The recordings hold what the replay test is meant to check: hooks, updates, refusals."""
    histories = _histories()
    assert len(histories) == 2
    for history in histories:
        kinds = [e.event_type for e in history.events]
        assert kinds.count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) >= 1
        assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) >= 1
        assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) >= 2


async def test_recorded_histories_replay_through_the_example_plugin(
    otel_global_spans: InMemorySpanExporter,
) -> None:
    from examples.orders import plugin

    assert await _replay_failures(plugin) == {}


async def test_a_faithful_copy_of_the_router_replays_too(
    otel_global_spans: InMemorySpanExporter,
) -> None:
    """The control for the next test: rebuilding the router is not what breaks replay."""
    from examples.orders.app import pay

    assert await _replay_failures(_orders_plugin(pay)) == {}


@pytest.mark.parametrize(
    "pay", [_pay_after_a_timer, _pay_with_another_hook], ids=["extra-timer", "another-hook"]
)
async def test_a_non_deterministic_change_to_pay_is_caught(
    otel_global_spans: InMemorySpanExporter, pay: Callable[[Context], Any]
) -> None:
    failures = await _replay_failures(_orders_plugin(pay))
    # Both orders were paid through the hook, so both histories must fail to replay.
    assert set(failures) == set(IDS.values())
    for failure in failures.values():
        assert isinstance(failure, NondeterminismError), repr(failure)
