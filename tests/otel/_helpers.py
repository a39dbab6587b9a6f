"""Models, a router and span-tree helpers shared by the OpenTelemetry tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode, TracerProvider
from pydantic import BaseModel

from temporal_router import (
    Context,
    Workflow,
    WorkflowDefinition,
    WorkflowRouter,
    define_workflow,
)
from temporal_router.otel import otel_plugin


class Todo(BaseModel):
    title: str


class Doing(BaseModel):
    title: str
    assignee: str


class Done(BaseModel):
    title: str


class Start(BaseModel):
    assignee: str


class Empty(BaseModel):
    pass


class Started(BaseModel):
    assignee: str


class NotAllowed(BaseModel):
    reason: str


def make_definition(name: str = "Task") -> WorkflowDefinition:
    """Todo -> Doing -> Done; ``Finish`` has no handler in ``Todo``."""
    return define_workflow(
        name,
        states={"Todo": Todo, "Doing": Doing, "Done": Done},
        commands={
            "Start": Start,
            "Finish": Empty,
            "Reject": Empty,
            "Crash": Empty,
            "CallDep": Empty,
            "BadTransition": Empty,
            "Rename": Empty,
        },
        events={"Started": Started},
        errors={"NotAllowed": NotAllowed},
    )


class Mailer:
    def send(self) -> None:
        raise ConnectionError("smtp down")


def make_router(
    definition: WorkflowDefinition,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    **kwargs: Any,
) -> WorkflowRouter:
    """A router for :func:`make_definition` with the otel plugin installed."""
    router = WorkflowRouter(definition, deps={"mailer": Mailer()}, **kwargs)
    todo = router.state("Todo")

    @todo.on("Start")
    def start(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
        ctx.emit("Started", {"assignee": ctx.command.payload.assignee})

    @todo.on("Reject")
    def reject(ctx: Context) -> None:
        ctx.error("NotAllowed", {"reason": "nope"})

    @todo.on("Crash")
    def crash(ctx: Context) -> None:
        raise ValueError("boom")

    @todo.on("CallDep")
    def call_dep(ctx: Context) -> None:
        ctx.deps.mailer.send()

    @todo.on("BadTransition")
    def bad_transition(ctx: Context) -> None:
        ctx.transition("Doing", {"title": ctx.data.title})  # no assignee

    @todo.on("Rename")
    def rename(ctx: Context) -> None:
        ctx.update(title="renamed")

    router.use(otel_plugin(tracer_provider=tracer_provider, meter_provider=meter_provider))
    return router


def todo(definition: WorkflowDefinition, id: str = "t-1") -> Workflow:
    return definition.create_workflow(id, initial_state="Todo", data={"title": "x"})


def in_state(workflow: Workflow, state: str) -> Workflow:
    """``workflow`` pretending to be in ``state`` (which may be undeclared)."""
    return dataclasses.replace(workflow, state=state)


# --- spans ------------------------------------------------------------------------------------


def dump_spans(
    spans: Sequence[ReadableSpan],
    *,
    with_status: bool = True,
    with_events: bool = True,
    attributes: Iterable[str] = (),
    parent_id: int | None = None,
    depth: int = 0,
) -> list[str]:
    """The span tree as indented lines (after temporalio's OTel tests), in start order.

    Each line is ``<indent><name>``, then `` [ERROR]`` for an ERROR status, then
    `` events=[...]`` when the span has events, then ``key=value`` for each requested attribute
    the span has.
    """
    keys = tuple(attributes)
    lines: list[str] = []
    children = [
        s
        for s in spans
        if (s.parent.span_id if s.parent is not None else None) == parent_id
        or (parent_id is None and s.parent is not None and not _has_span(spans, s.parent.span_id))
    ]
    for span in sorted(children, key=lambda s: s.start_time or 0):
        line = "  " * depth + span.name
        if with_status and span.status.status_code is StatusCode.ERROR:
            line += " [ERROR]"
        if with_events and span.events:
            line += " events=[" + ", ".join(e.name for e in span.events) + "]"
        span_attributes = span.attributes or {}
        for key in keys:
            if key in span_attributes:
                line += f" {key}={span_attributes[key]!s}"
        lines.append(line)
        assert span.context is not None
        lines.extend(
            dump_spans(
                spans,
                with_status=with_status,
                with_events=with_events,
                attributes=keys,
                parent_id=span.context.span_id,
                depth=depth + 1,
            )
        )
    return lines


def _has_span(spans: Sequence[ReadableSpan], span_id: int) -> bool:
    return any(s.context is not None and s.context.span_id == span_id for s in spans)


def span_named(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    """The only span called ``name``."""
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"expected one span {name!r}, got {[s.name for s in spans]}"
    return found[0]


def event_attributes(span: ReadableSpan, name: str) -> list[dict[str, Any]]:
    """The attributes of each event called ``name`` on ``span``."""
    return [dict(e.attributes or {}) for e in span.events if e.name == name]


# --- metrics ----------------------------------------------------------------------------------


def metric_points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    """The data points of metric ``name`` (all scopes), or [] if it was never recorded."""
    data = reader.get_metrics_data()
    if data is None:
        return []
    return [
        point
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def counts(reader: InMemoryMetricReader, name: str) -> dict[frozenset[tuple[str, Any]], Any]:
    """Counter values (or histogram counts) of metric ``name`` by attribute set."""
    result: dict[frozenset[tuple[str, Any]], Any] = {}
    for point in metric_points(reader, name):
        value = point.count if isinstance(point, HistogramDataPoint) else point.value
        result[frozenset(dict(point.attributes or {}).items())] = value
    return result


def key(mapping: Mapping[str, Any]) -> frozenset[tuple[str, Any]]:
    """An attribute set for :func:`counts` lookups."""
    return frozenset(mapping.items())
