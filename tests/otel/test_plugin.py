"""otel_plugin: span trees, status rules, early returns, context handling, metrics, guards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv.attributes import exception_attributes
from opentelemetry.trace import StatusCode

from temporal_router import (
    Context,
    DependencyFailure,
    DomainFailure,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
    WorkflowRouter,
)
from temporal_router.otel import (
    COMMAND_TYPE,
    DEFINITION,
    ERROR_CATEGORY,
    ERROR_CODE,
    ERROR_DEPENDENCY,
    ERROR_MESSAGE,
    ERROR_SOURCE,
    ERROR_TYPE,
    EVENT_EMITTED,
    EVENT_ERROR,
    EVENT_TRANSITION,
    EVENT_TYPE,
    METRIC_DISPATCH_DURATION,
    METRIC_DISPATCHES,
    METRIC_TRANSITIONS,
    OTHER,
    RESULT,
    RESULT_CANCELLED,
    RESULT_ERROR,
    RESULT_OK,
    TRANSITION_FROM,
    TRANSITION_TO,
    WORKFLOW_ID,
    WORKFLOW_STATE,
    configure_tracing,
    is_fault,
    otel_plugin,
)
from temporal_router.otel import _plugin as _plugin_module

from ._helpers import (
    counts,
    dump_spans,
    event_attributes,
    in_state,
    key,
    make_definition,
    make_router,
    metric_points,
    span_named,
    todo,
)


@pytest.fixture
def router(
    otel_tracer_provider: TracerProvider, otel_meter_provider: MeterProvider
) -> WorkflowRouter:
    return make_router(make_definition(), otel_tracer_provider, otel_meter_provider)


def finished(exporter: InMemorySpanExporter) -> Sequence[Any]:
    return exporter.get_finished_spans()


# --- success ----------------------------------------------------------------------------------


async def test_success_is_one_dispatch_span_with_pipeline_events(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    wf = todo(router.definition)
    result = await router.dispatch(wf, {"type": "Start", "payload": {"assignee": "ada"}})
    assert result.ok

    spans = finished(otel_spans)
    assert dump_spans(spans) == [f"dispatch Start events=[{EVENT_TRANSITION}, {EVENT_EMITTED}]"]
    dispatch = span_named(spans, "dispatch Start")
    assert dict(dispatch.attributes or {}) == {
        DEFINITION: "Task",
        WORKFLOW_ID: "t-1",
        WORKFLOW_STATE: "Todo",
        COMMAND_TYPE: "Start",
        RESULT: RESULT_OK,
        TRANSITION_FROM: "Todo",
        TRANSITION_TO: "Doing",
    }
    assert dispatch.status.status_code is StatusCode.UNSET
    assert dispatch.kind is trace.SpanKind.INTERNAL
    assert dispatch.instrumentation_scope is not None
    assert dispatch.instrumentation_scope.name == "temporal_router"

    assert event_attributes(dispatch, EVENT_TRANSITION) == [
        {TRANSITION_FROM: "Todo", TRANSITION_TO: "Doing"}
    ]
    assert event_attributes(dispatch, EVENT_EMITTED) == [{EVENT_TYPE: "Started"}]


async def test_update_only_dispatch_has_no_transition(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    assert (await router.dispatch(todo(router.definition), {"type": "Rename"})).ok
    spans = finished(otel_spans)
    assert dump_spans(spans) == ["dispatch Rename"]
    assert TRANSITION_TO not in (span_named(spans, "dispatch Rename").attributes or {})


async def test_dispatch_span_is_current_in_handlers_and_context_is_restored(
    otel_tracer_provider: TracerProvider, otel_spans: InMemorySpanExporter
) -> None:
    definition = make_definition()
    router = WorkflowRouter(definition)
    seen: list[trace.Span] = []
    tracer = otel_tracer_provider.get_tracer("test")

    @router.state("Todo").on("Start")
    def start(ctx: Context) -> None:
        seen.append(trace.get_current_span())
        with tracer.start_as_current_span("send email"):
            pass

    router.use(otel_plugin(otel_tracer_provider))
    before = trace.get_current_span()
    await router.dispatch(todo(definition), {"type": "Start", "payload": {"assignee": "ada"}})
    assert trace.get_current_span() is before

    spans = finished(otel_spans)
    assert dump_spans(spans) == ["dispatch Start", "  send email"]
    dispatch = span_named(spans, "dispatch Start")
    assert dispatch.context is not None
    assert seen[0].get_span_context().span_id == dispatch.context.span_id


async def test_dispatch_nests_under_the_callers_span(
    router: WorkflowRouter,
    otel_tracer_provider: TracerProvider,
    otel_spans: InMemorySpanExporter,
) -> None:
    tracer = otel_tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("HandleUpdate:dispatch"):
        await router.dispatch(todo(router.definition), {"type": "Rename"})
    assert dump_spans(finished(otel_spans)) == [
        "HandleUpdate:dispatch",
        "  dispatch Rename",
    ]


# --- failures inside the pipeline -------------------------------------------------------------


async def test_domain_error_is_recorded_but_not_an_error_status(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    result = await router.dispatch(todo(router.definition), {"type": "Reject"})
    assert isinstance(result.error, DomainFailure)

    spans = finished(otel_spans)
    assert dump_spans(spans) == [f"dispatch Reject events=[{EVENT_ERROR}]"]
    dispatch = span_named(spans, "dispatch Reject")
    assert dispatch.status.status_code is StatusCode.UNSET
    attributes = dict(dispatch.attributes or {})
    assert attributes[RESULT] == RESULT_ERROR
    assert attributes[ERROR_CATEGORY] == "domain"
    assert attributes[ERROR_CODE] == "NotAllowed"
    assert ERROR_TYPE not in attributes
    assert event_attributes(dispatch, "exception") == []  # not for a business outcome
    assert event_attributes(dispatch, EVENT_ERROR) == [
        {ERROR_CATEGORY: "domain", ERROR_CODE: "NotAllowed", ERROR_MESSAGE: result.error.message}
    ]


async def test_unexpected_error_is_an_error_status_with_the_exception(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    result = await router.dispatch(todo(router.definition), {"type": "Crash"})
    assert isinstance(result.error, UnexpectedFailure)

    spans = finished(otel_spans)
    assert dump_spans(spans) == [f"dispatch Crash [ERROR] events=[{EVENT_ERROR}, exception]"]
    dispatch = span_named(spans, "dispatch Crash")
    assert dispatch.status.description == "ValueError: boom"
    attributes = dict(dispatch.attributes or {})
    assert attributes[ERROR_TYPE] == "ValueError"
    assert attributes[ERROR_CATEGORY] == "unexpected"
    (exception,) = event_attributes(dispatch, "exception")
    assert exception[exception_attributes.EXCEPTION_TYPE] == "ValueError"
    assert exception[exception_attributes.EXCEPTION_MESSAGE] == "boom"
    assert 'raise ValueError("boom")' in exception[exception_attributes.EXCEPTION_STACKTRACE]
    assert event_attributes(dispatch, EVENT_ERROR)[0][ERROR_CATEGORY] == "unexpected"


async def test_dependency_error_is_a_fault_naming_the_dependency(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    result = await router.dispatch(todo(router.definition), {"type": "CallDep"})
    assert isinstance(result.error, DependencyFailure)

    dispatch = span_named(finished(otel_spans), "dispatch CallDep")
    assert dispatch.status.status_code is StatusCode.ERROR
    attributes = dict(dispatch.attributes or {})
    assert attributes[ERROR_CATEGORY] == "dependency"
    assert attributes[ERROR_DEPENDENCY] == "mailer"
    assert attributes[ERROR_TYPE] == "ConnectionError"
    (exception,) = event_attributes(dispatch, "exception")
    assert exception[exception_attributes.EXCEPTION_MESSAGE] == "smtp down"


async def test_invalid_handler_data_is_a_validation_fault(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    result = await router.dispatch(todo(router.definition), {"type": "BadTransition"})
    assert isinstance(result.error, ValidationFailure)
    assert result.error.source == "transition"

    dispatch = span_named(finished(otel_spans), "dispatch BadTransition")
    assert dispatch.status.status_code is StatusCode.ERROR
    attributes = dict(dispatch.attributes or {})
    assert attributes[ERROR_SOURCE] == "transition"
    assert attributes[ERROR_TYPE] == "validation"
    assert event_attributes(dispatch, "exception") == []  # no exception to record


# --- early returns: only dispatch:start/end fire ----------------------------------------------


@pytest.mark.parametrize(
    ("state", "command", "name", "category", "detail", "fault"),
    [
        pytest.param(
            "Archived", {"type": "Start"}, "dispatch Start", "router",
            {ERROR_CODE: "UNKNOWN_STATE"}, True, id="unknown-state",
        ),
        pytest.param(
            "Todo", {"type": "Nope", "payload": {}}, "dispatch", "router",
            {ERROR_CODE: "UNKNOWN_COMMAND"}, False, id="unknown-command",
        ),
        pytest.param(
            "Todo", {"type": "Start", "payload": {}}, "dispatch Start", "validation",
            {ERROR_SOURCE: "command"}, False, id="invalid-payload",
        ),
        pytest.param(
            "Todo", {"type": "Finish"}, "dispatch Finish", "router",
            {ERROR_CODE: "NO_HANDLER"}, False, id="no-handler",
        ),
    ],
)  # fmt: skip
async def test_early_returns_are_traced(
    router: WorkflowRouter,
    otel_spans: InMemorySpanExporter,
    otel_metrics: InMemoryMetricReader,
    state: str,
    command: dict[str, Any],
    name: str,
    category: str,
    detail: dict[str, str],
    fault: bool,
) -> None:
    before = trace.get_current_span()
    result = await router.dispatch(in_state(todo(router.definition), state), command)
    assert result.error is not None
    assert result.error.category == category
    assert trace.get_current_span() is before

    spans = finished(otel_spans)
    assert dump_spans(spans) == [name + (" [ERROR]" if fault else "")]
    attributes = dict(spans[0].attributes or {})
    assert attributes[RESULT] == RESULT_ERROR
    assert attributes[ERROR_CATEGORY] == category
    assert attributes[COMMAND_TYPE] == command["type"]
    assert attributes[WORKFLOW_STATE] == state
    for k, v in detail.items():
        assert attributes[k] == v
    assert (ERROR_TYPE in attributes) is fault
    assert is_fault(result.error) is fault

    (count,) = counts(otel_metrics, METRIC_DISPATCHES).items()
    labels = dict(count[0])
    assert labels[COMMAND_TYPE] == (command["type"] if command["type"] != "Nope" else OTHER)
    assert labels[WORKFLOW_STATE] == (state if state != "Archived" else OTHER)


async def test_undeclared_command_type_keeps_span_names_low_cardinality(
    router: WorkflowRouter, otel_spans: InMemorySpanExporter
) -> None:
    wf = todo(router.definition)
    for i in range(3):
        await router.dispatch(wf, {"type": f"Random{i}"})
    await router.dispatch(wf, {"payload": {}})  # no type at all
    spans = finished(otel_spans)
    assert {s.name for s in spans} == {"dispatch"}
    assert [(s.attributes or {}).get(COMMAND_TYPE) for s in spans] == [
        "Random0",
        "Random1",
        "Random2",
        None,
    ]


# --- nesting, concurrency, cancellation -------------------------------------------------------


async def test_nested_dispatches_parent_correctly(
    otel_tracer_provider: TracerProvider, otel_spans: InMemorySpanExporter
) -> None:
    definition = make_definition()
    inner = make_router(make_definition("Audit"), otel_tracer_provider)
    outer = WorkflowRouter(definition)
    audit_wf = todo(inner.definition, "audit-1")

    @outer.state("Todo").on("Start")
    async def start(ctx: Context) -> None:
        await inner.dispatch(audit_wf, {"type": "Rename"})
        # The same router, recursively, on the same workflow.
        await outer.dispatch(ctx.workflow, {"type": "Rename"})
        await inner.dispatch(audit_wf, {"type": "Reject"})
        ctx.transition("Doing", {"title": "x", "assignee": ctx.command.payload.assignee})

    @outer.state("Todo").on("Rename")
    def rename(ctx: Context) -> None:
        ctx.update(title="y")

    outer.use(otel_plugin(otel_tracer_provider))
    result = await outer.dispatch(todo(definition), {"type": "Start", "payload": {"assignee": "a"}})
    assert result.ok

    spans = finished(otel_spans)
    assert dump_spans(spans, attributes=[WORKFLOW_ID]) == [
        f"dispatch Start events=[{EVENT_TRANSITION}] {WORKFLOW_ID}=t-1",
        f"  dispatch Rename {WORKFLOW_ID}=audit-1",
        f"  dispatch Rename {WORKFLOW_ID}=t-1",
        f"  dispatch Reject events=[{EVENT_ERROR}] {WORKFLOW_ID}=audit-1",
    ]
    assert len({s.context.trace_id for s in spans}) == 1


async def test_concurrent_dispatches_of_the_same_workflow_stay_apart(
    otel_tracer_provider: TracerProvider, otel_spans: InMemorySpanExporter
) -> None:
    definition = make_definition()
    router = WorkflowRouter(definition)
    gate = asyncio.Event()
    entered = 0

    @router.state("Todo").on("Rename")
    async def rename(ctx: Context) -> None:
        nonlocal entered
        entered += 1
        if entered == 2:
            gate.set()
        await gate.wait()  # both dispatches are inside their pipelines at once
        ctx.update(title="y")

    @router.state("Todo").on("Start")
    async def start(ctx: Context) -> None:
        await gate.wait()
        ctx.error("NotAllowed", {"reason": "busy"})

    router.use(otel_plugin(otel_tracer_provider))
    wf = todo(definition)  # one workflow object, one id, for all three
    tracer = otel_tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("request"):
        results = await asyncio.gather(
            router.dispatch(wf, {"type": "Rename"}),
            router.dispatch(wf, {"type": "Rename"}),
            router.dispatch(wf, {"type": "Start", "payload": {"assignee": "a"}}),
        )
    assert [r.ok for r in results] == [True, True, False]
    assert dump_spans(finished(otel_spans)) == [
        "request",
        "  dispatch Rename",
        "  dispatch Rename",
        f"  dispatch Start events=[{EVENT_ERROR}]",
    ]
    spans = finished(otel_spans)
    assert [(s.attributes or {})[RESULT] for s in spans if s.name == "dispatch Rename"] == [
        RESULT_OK,
        RESULT_OK,
    ]


async def test_concurrent_nested_dispatches_from_one_handler(
    otel_tracer_provider: TracerProvider, otel_spans: InMemorySpanExporter
) -> None:
    definition = make_definition()
    inner = make_router(make_definition("Audit"), otel_tracer_provider)
    outer = WorkflowRouter(definition)

    @outer.state("Todo").on("Rename")
    async def rename(ctx: Context) -> None:
        await asyncio.gather(
            *(
                inner.dispatch(todo(inner.definition, f"a-{i}"), {"type": "Rename"})
                for i in range(3)
            )
        )

    outer.use(otel_plugin(otel_tracer_provider))
    await outer.dispatch(todo(definition), {"type": "Rename"})
    assert dump_spans(finished(otel_spans)) == [
        "dispatch Rename",
        *["  dispatch Rename"] * 3,
    ]


async def test_cancelled_dispatch_ends_its_spans_without_error_status(
    otel_tracer_provider: TracerProvider,
    otel_spans: InMemorySpanExporter,
    otel_meter_provider: MeterProvider,
    otel_metrics: InMemoryMetricReader,
) -> None:
    definition = make_definition()
    router = WorkflowRouter(definition)
    entered = asyncio.Event()

    @router.state("Todo").on("Rename")
    async def rename(ctx: Context) -> None:
        entered.set()
        await asyncio.Event().wait()

    router.use(otel_plugin(otel_tracer_provider, otel_meter_provider))

    current: list[trace.Span] = []

    async def run() -> None:
        before = trace.get_current_span()
        try:
            await router.dispatch(todo(definition), {"type": "Rename"})
        except asyncio.CancelledError:
            current.append(trace.get_current_span())
            assert current[0] is before
            raise

    task = asyncio.create_task(run())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(current) == 1

    spans = finished(otel_spans)
    assert dump_spans(spans) == ["dispatch Rename"]
    for span in spans:
        assert span.status.status_code is StatusCode.UNSET
        assert (span.attributes or {})[RESULT] == RESULT_CANCELLED
    (labels,) = counts(otel_metrics, METRIC_DISPATCHES)
    assert dict(labels)[RESULT] == RESULT_CANCELLED
    assert ERROR_CATEGORY not in dict(labels)


# --- metrics ----------------------------------------------------------------------------------


async def test_metrics(router: WorkflowRouter, otel_metrics: InMemoryMetricReader) -> None:
    wf = todo(router.definition)
    start = {"type": "Start", "payload": {"assignee": "ada"}}
    await router.dispatch(wf, start)
    await router.dispatch(wf, start)
    await router.dispatch(wf, {"type": "Reject"})
    await router.dispatch(wf, {"type": "Crash"})
    await router.dispatch(in_state(wf, "Doing"), start)  # NO_HANDLER

    base = {DEFINITION: "Task", WORKFLOW_STATE: "Todo"}
    expected = {
        key({**base, COMMAND_TYPE: "Start", RESULT: RESULT_OK}): 2,
        key({**base, COMMAND_TYPE: "Reject", RESULT: RESULT_ERROR, ERROR_CATEGORY: "domain"}): 1,
        key(
            {
                **base,
                COMMAND_TYPE: "Crash",
                RESULT: RESULT_ERROR,
                ERROR_CATEGORY: "unexpected",
                ERROR_TYPE: "ValueError",
            }
        ): 1,
        key(
            {
                **base,
                WORKFLOW_STATE: "Doing",
                COMMAND_TYPE: "Start",
                RESULT: RESULT_ERROR,
                ERROR_CATEGORY: "router",
            }
        ): 1,
    }
    assert counts(otel_metrics, METRIC_DISPATCHES) == expected
    assert counts(otel_metrics, METRIC_DISPATCH_DURATION) == expected
    assert counts(otel_metrics, METRIC_TRANSITIONS) == {
        key({DEFINITION: "Task", TRANSITION_FROM: "Todo", TRANSITION_TO: "Doing"}): 2
    }
    for point in metric_points(otel_metrics, METRIC_DISPATCH_DURATION):
        assert 0 < point.sum < 5  # seconds, not milliseconds or nanoseconds
    assert all(WORKFLOW_ID not in dict(k) for k in expected)


async def test_metrics_without_a_tracer(
    otel_meter_provider: MeterProvider, otel_metrics: InMemoryMetricReader
) -> None:
    router = make_router(
        make_definition(), trace.NoOpTracerProvider(), meter_provider=otel_meter_provider
    )
    await router.dispatch(todo(router.definition), {"type": "Rename"})
    ((_, count),) = counts(otel_metrics, METRIC_DISPATCH_DURATION).items()
    assert count == 1
    (point,) = metric_points(otel_metrics, METRIC_DISPATCH_DURATION)
    assert 0 < point.sum < 5


async def test_duration_uses_the_replay_safe_span_clock(
    otel_meter_provider: MeterProvider,
    otel_metrics: InMemoryMetricReader,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    provider = configure_tracing(set_global=False)  # a ReplaySafeTracerProvider
    # No clock reads of our own when the span has timestamps (Temporal's sandbox restricts
    # time.monotonic_ns for modules that are not passed through).
    monkeypatch.setattr(_plugin_module, "time", _NoClock())
    router = make_router(make_definition(), provider, otel_meter_provider)
    await router.dispatch(todo(router.definition), {"type": "Rename"})
    provider.shutdown()
    (point,) = metric_points(otel_metrics, METRIC_DISPATCH_DURATION)
    assert point.count == 1
    assert 0 < point.sum < 5


async def test_without_timestamps_or_clock_the_duration_is_skipped(
    otel_meter_provider: MeterProvider,
    otel_metrics: InMemoryMetricReader,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(_plugin_module, "time", _NoClock())
    router = make_router(make_definition(), trace.NoOpTracerProvider(), otel_meter_provider)
    with caplog.at_level(logging.WARNING, logger="temporal_router.otel"):
        assert (await router.dispatch(todo(router.definition), {"type": "Rename"})).ok
    assert caplog.text == ""  # a restricted clock is expected, not a failure
    assert sum(counts(otel_metrics, METRIC_DISPATCHES).values()) == 1
    assert metric_points(otel_metrics, METRIC_DISPATCH_DURATION) == []


class _NoClock:
    """Stands in for the ``time`` module inside Temporal's sandbox."""

    def monotonic_ns(self) -> int:
        raise RuntimeError("Cannot access time.monotonic_ns from inside a workflow")


# --- guards: telemetry never changes a dispatch -----------------------------------------------


class _Broken:
    """Raises on every attribute access, whatever it is used as."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"broken telemetry: {name}")


class _BrokenTracerProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _Broken()  # type: ignore[return-value]


class _FailingSpan(trace.NonRecordingSpan):
    def is_recording(self) -> bool:
        return True

    def set_attribute(self, key: str, value: Any) -> None:
        raise RuntimeError("set_attribute failed")

    def set_attributes(self, attributes: Any) -> None:
        raise RuntimeError("set_attributes failed")

    def add_event(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("add_event failed")


class _FailingSpanTracer(trace.NoOpTracer):
    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return _FailingSpan(trace.INVALID_SPAN_CONTEXT)


class _FailingSpanProvider(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _FailingSpanTracer()


@pytest.mark.parametrize("provider", [_BrokenTracerProvider, _FailingSpanProvider])
@pytest.mark.parametrize(
    "command",
    [
        {"type": "Start", "payload": {"assignee": "ada"}},
        {"type": "Reject"},
        {"type": "Crash"},
        {"type": "Nope"},
    ],
)
async def test_a_broken_tracer_never_breaks_a_dispatch(
    provider: type[trace.TracerProvider],
    command: dict[str, Any],
    otel_meter_provider: MeterProvider,
    otel_metrics: InMemoryMetricReader,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook_errors: list[BaseException] = []
    definition = make_definition()
    plain = make_router(definition, trace.NoOpTracerProvider())
    broken = make_router(
        definition, provider(), otel_meter_provider, on_hook_error=hook_errors.append
    )
    wf = todo(definition)
    before = trace.get_current_span()
    with caplog.at_level(logging.WARNING, logger="temporal_router.otel"):
        expected = await plain.dispatch(wf, command)
        got = await broken.dispatch(wf, command)
    assert got.ok == expected.ok
    assert type(got.error) is type(expected.error)
    if got.ok:
        assert got.workflow is not None
        assert expected.workflow is not None
        assert got.workflow.data == expected.workflow.data
    assert hook_errors == []  # our own guard caught everything
    assert trace.get_current_span() is before
    assert "OpenTelemetry plugin" in caplog.text
    assert sum(counts(otel_metrics, METRIC_DISPATCHES).values()) == 1  # metrics still work


async def test_a_broken_meter_never_breaks_a_dispatch(
    otel_tracer_provider: TracerProvider,
    otel_spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class BrokenMeterProvider(MeterProvider):
        def get_meter(self, *args: Any, **kwargs: Any) -> Any:
            return _Broken()

    with pytest.raises(RuntimeError, match="broken telemetry"):
        # Instruments are created up front: a provider that cannot make them fails at setup,
        # not during a dispatch.
        otel_plugin(meter_provider=BrokenMeterProvider())

    class FailingCounter:
        def add(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("add failed")

        def record(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("record failed")

    class FailingMeter:
        def __getattr__(self, name: str) -> Any:
            return lambda *args, **kwargs: FailingCounter()

    class FailingMeterProvider(MeterProvider):
        def get_meter(self, *args: Any, **kwargs: Any) -> Any:
            return FailingMeter()

    router = make_router(make_definition(), otel_tracer_provider, FailingMeterProvider())
    with caplog.at_level(logging.WARNING, logger="temporal_router.otel"):
        result = await router.dispatch(
            todo(router.definition), {"type": "Start", "payload": {"assignee": "a"}}
        )
    assert result.ok
    assert "add failed" in caplog.text
    assert dump_spans(finished(otel_spans), with_events=False) == ["dispatch Start"]


# --- installation -----------------------------------------------------------------------------


async def test_installing_twice_is_ignored(
    otel_tracer_provider: TracerProvider,
    otel_spans: InMemorySpanExporter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = make_router(make_definition(), otel_tracer_provider)
    with caplog.at_level(logging.WARNING, logger="temporal_router.otel"):
        router.use(otel_plugin(otel_tracer_provider))
    assert "already has an OpenTelemetry plugin" in caplog.text
    assert len(router.hooks("dispatch:start")) == 1
    await router.dispatch(todo(router.definition), {"type": "Rename"})
    assert dump_spans(finished(otel_spans)) == ["dispatch Rename"]


async def test_a_second_plugin_merged_in_stays_inert(
    otel_tracer_provider: TracerProvider, otel_spans: InMemorySpanExporter
) -> None:
    definition = make_definition()
    parent = make_router(definition, otel_tracer_provider)
    child = WorkflowRouter(definition)
    child.use(otel_plugin(otel_tracer_provider))
    parent.use(child)  # merging copies the child's hooks: two plugins now
    assert len(parent.hooks("dispatch:start")) == 2

    before = trace.get_current_span()
    await parent.dispatch(todo(definition), {"type": "Start", "payload": {"assignee": "a"}})
    assert trace.get_current_span() is before
    assert dump_spans(finished(otel_spans)) == [
        f"dispatch Start events=[{EVENT_TRANSITION}, {EVENT_EMITTED}]"
    ]


async def test_one_plugin_serves_several_routers(
    otel_tracer_provider: TracerProvider, otel_spans: InMemorySpanExporter
) -> None:
    plugin = otel_plugin(otel_tracer_provider)
    routers = [WorkflowRouter(make_definition(name)) for name in ("A", "B")]
    for r in routers:
        r.state("Todo").on("Rename", lambda ctx: ctx.update(title="y"))
        r.use(plugin)
    for r in routers:
        await r.dispatch(todo(r.definition), {"type": "Rename"})
    dispatches = [s for s in finished(otel_spans) if s.name == "dispatch Rename"]
    assert [(s.attributes or {})[DEFINITION] for s in dispatches] == ["A", "B"]


def test_is_fault_table() -> None:
    exc = ValueError("x")
    assert not is_fault(DomainFailure("C", None, "m"))
    assert not is_fault(ValidationFailure("command", [], "m"))
    assert is_fault(ValidationFailure("state", [], "m"))
    assert is_fault(ValidationFailure("event", [], "m"))
    assert not is_fault(RouterFailure("NO_HANDLER", "m"))
    assert not is_fault(RouterFailure("UNKNOWN_COMMAND", "m"))
    assert is_fault(RouterFailure("UNKNOWN_STATE", "m"))
    assert is_fault(DependencyFailure("db", exc, "m"))
    assert is_fault(UnexpectedFailure(exc, "m"))
    assert not is_fault(UnexpectedFailure(asyncio.CancelledError(), "m"))
