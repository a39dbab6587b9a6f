"""Lifecycle spans on Temporal: nested under Temporal's spans, never duplicated by replay."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.client import Client
from temporalio.worker import Replayer, Worker

from temporal_router import Context, WorkflowRouter
from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.otel import TEMPORAL_WORKFLOW_ID, WORKFLOW_ID
from temporal_router.testing import DevServer
from temporal_router.workflows import exec_hook

from ._helpers import dump_spans, make_definition
from ._temporal_workflows import OtelEcho


def _router(task_queue: str) -> WorkflowRouter:
    router = WorkflowRouter(make_definition(f"OtelTask{uuid.uuid4().hex[:8]}"))

    @router.state("Todo").on("Start")
    async def start(ctx: Context) -> None:
        answer = await exec_hook(task_queue=task_queue, workflow_name="OtelEcho", args=["hi"])
        ctx.transition("Doing", {"title": answer["echo"], "assignee": ctx.command.payload.assignee})

    @router.state("Doing").on("Finish")
    def finish(ctx: Context) -> None:
        ctx.transition("Done", {"title": ctx.data.title})

    return router


@asynccontextmanager
async def _entity(
    server: DevServer, task_queue: str, entity: str
) -> AsyncIterator[tuple[Client, RouterClient]]:
    """A traced worker for a fresh ``_router`` and its entity ``entity``, created in Todo."""
    router = _router(task_queue)
    client = await Client.connect(
        server.target, plugins=[RouterPlugin(router, otel=True, workflows=[OtelEcho])]
    )
    async with Worker(client, task_queue=task_queue):
        orders = RouterClient(client, router, task_queue=task_queue)
        await orders.create(entity, initial_state="Todo", data={"title": "t"})
        yield client, orders


def _trace_of(spans: Sequence[ReadableSpan], root_name: str) -> list[ReadableSpan]:
    roots = [s for s in spans if s.name == root_name and s.parent is None]
    assert len(roots) == 1, [s.name for s in spans]
    trace_id = roots[0].context.trace_id
    return [s for s in spans if s.context is not None and s.context.trace_id == trace_id]


def _count(spans: Sequence[ReadableSpan], name: str) -> int:
    return sum(1 for s in spans if s.name == name)


async def test_dispatch_spans_nest_under_temporal_spans_down_to_the_hook_and_its_signal(
    temporal_dev_server: DevServer, task_queue: str, otel_global_spans: InMemorySpanExporter
) -> None:
    async with _entity(temporal_dev_server, task_queue, "e-1") as (client, orders):
        otel_global_spans.clear()
        result = await orders.dispatch("e-1", {"type": "Start", "payload": {"assignee": "ada"}})
        assert result.ok
    spans = _trace_of(otel_global_spans.get_finished_spans(), "StartWorkflowUpdate:dispatch")
    # No ValidateUpdate span for an accepted command, and the dispatch span is the worker's
    # span of the Update, in place of HandleUpdate (RouterTracingInterceptor).
    assert dump_spans(spans) == [
        "StartWorkflowUpdate:dispatch",
        "  dispatch Start events=[temporal_router.transition]",
        "    StartChildWorkflow:OtelEcho",
        "      RunWorkflow:OtelEcho",
        "        SignalExternalWorkflow:__temporal_router_signal",
        "          HandleSignal:__temporal_router_signal",
    ]
    (dispatch,) = [s for s in spans if s.name == "dispatch Start"]
    handle = await client.get_workflow_handle("e-1").describe()
    assert dispatch.kind is SpanKind.SERVER
    assert dispatch.attributes is not None
    assert dispatch.attributes[TEMPORAL_WORKFLOW_ID] == "e-1"
    assert dispatch.attributes["temporalRunID"] == handle.run_id
    assert isinstance(dispatch.attributes["temporalUpdateID"], str)
    assert dispatch.attributes[WORKFLOW_ID] == "e-1"
    # The signal's handler in the entity is traced as temporalio traces it.
    (signal,) = [s for s in spans if s.name == "HandleSignal:__temporal_router_signal"]
    assert signal.kind is SpanKind.SERVER


async def test_an_update_handler_without_a_dispatch_keeps_its_handle_update_span(
    temporal_dev_server: DevServer, task_queue: str, otel_global_spans: InMemorySpanExporter
) -> None:
    async with _entity(temporal_dev_server, task_queue, "e-5") as (_, orders):
        otel_global_spans.clear()
        # A version ahead of the entity passes the validator; the handler answers a conflict
        # without running the router.
        result = await orders.dispatch("e-5", {"type": "Finish", "payload": {}}, expected_version=9)
        assert not result.ok
    spans = _trace_of(otel_global_spans.get_finished_spans(), "StartWorkflowUpdate:dispatch")
    assert dump_spans(spans) == ["StartWorkflowUpdate:dispatch", "  HandleUpdate:dispatch"]
    (handle_update,) = [s for s in spans if s.name == "HandleUpdate:dispatch"]
    assert handle_update.kind is SpanKind.SERVER
    assert handle_update.attributes is not None
    assert handle_update.attributes[TEMPORAL_WORKFLOW_ID] == "e-5"
    assert handle_update.start_time is not None
    assert handle_update.end_time is not None
    assert 0 < handle_update.end_time - handle_update.start_time < 5_000_000_000


async def test_a_rejected_command_keeps_its_validate_update_span(
    temporal_dev_server: DevServer, task_queue: str, otel_global_spans: InMemorySpanExporter
) -> None:
    async with _entity(temporal_dev_server, task_queue, "e-4") as (_, orders):
        otel_global_spans.clear()
        result = await orders.dispatch("e-4", {"type": "Start", "payload": {}})  # no assignee
        assert not result.ok
    spans = _trace_of(otel_global_spans.get_finished_spans(), "StartWorkflowUpdate:dispatch")
    # A refusal, not a fault: the rejection is a BENIGN ApplicationError, which Temporal's
    # interceptor (and ours, for the span it makes only on rejection) leaves unmarked.
    assert dump_spans(spans) == ["StartWorkflowUpdate:dispatch", "  ValidateUpdate:dispatch"]


async def test_replay_with_no_workflow_cache_and_a_worker_restart_duplicates_no_span(
    temporal_dev_server: DevServer, task_queue: str, otel_global_spans: InMemorySpanExporter
) -> None:
    router = _router(task_queue)
    plugin = RouterPlugin(router, otel=True, workflows=[OtelEcho])
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    orders = RouterClient(client, router, task_queue=task_queue)
    otel_global_spans.clear()
    # No cache: every workflow task replays the entity's whole history from the start.
    async with Worker(client, task_queue=task_queue, max_cached_workflows=0):
        await orders.create("e-2", initial_state="Todo", data={"title": "t"})
        assert (await orders.dispatch("e-2", {"type": "Start", "payload": {"assignee": "ada"}})).ok
    # A new worker picks the entity up mid-life and replays it before the next command.
    async with Worker(client, task_queue=task_queue, max_cached_workflows=0):
        assert (await orders.dispatch("e-2", {"type": "Finish", "payload": {}})).ok
        assert (await orders.get("e-2")).state == "Done"
    spans = otel_global_spans.get_finished_spans()
    assert _count(spans, "dispatch Start") == 1
    assert _count(spans, "dispatch Finish") == 1
    assert _count(spans, "HandleUpdate:dispatch") == 0
    assert _count(spans, "StartWorkflowUpdate:dispatch") == 2
    assert _count(spans, "RunWorkflow:OtelEcho") == 1


async def test_replayer_emits_no_spans(
    temporal_dev_server: DevServer, task_queue: str, otel_global_spans: InMemorySpanExporter
) -> None:
    router = _router(task_queue)
    plugin = RouterPlugin(router, otel=True, workflows=[OtelEcho])
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    async with Worker(client, task_queue=task_queue):
        orders = RouterClient(client, router, task_queue=task_queue)
        await orders.create("e-3", initial_state="Todo", data={"title": "t"})
        assert (await orders.dispatch("e-3", {"type": "Start", "payload": {"assignee": "ada"}})).ok
    history = await client.get_workflow_handle("e-3").fetch_history()
    gc.collect()  # let the stopped worker's cached entity go first (sdk-python#1849)
    otel_global_spans.clear()
    await Replayer(workflows=[], plugins=[plugin]).replay_workflow(history)
    assert [s.name for s in otel_global_spans.get_finished_spans()] == []
