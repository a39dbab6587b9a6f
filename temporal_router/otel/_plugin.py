"""The OpenTelemetry router plugin: lifecycle hooks as spans, span events and metrics.

Install it on a router; it only observes, through the seven lifecycle hooks::

    from temporal_router.otel import otel_plugin

    router.use(otel_plugin())                       # global tracer and meter providers
    router.use(otel_plugin(tracer_provider=tp, meter_provider=mp))

One span per dispatch (names and keys in ``_attributes.py``)
    ``dispatch <Command>``: one per ``dispatch`` call, from ``dispatch:start`` to
    ``dispatch:end``, so early-return failures (unknown state, unknown command, invalid
    payload, no handler) are traced too. It is the *current* span while the dispatch runs, so
    spans that middleware and handlers start nest under it; it is a child of whatever span was
    current when ``dispatch`` was called (for an entity's command on Temporal, the client's
    ``StartWorkflowUpdate`` span: the dispatch span takes ``HandleUpdate``'s place, with its
    ``temporal*`` attributes and kind SERVER, see ``_entry.py``; or the dispatch span of an
    outer dispatch). Attributes: definition, workflow id, input state and command
    type, given at the start; at the end the result, the error attributes of a failure, and
    ``transition.from``/``to`` when the state changed, set in one call. An undeclared command
    type gives the bare name ``dispatch``. What happens inside the pipeline is recorded on the
    same span as span events: ``temporal_router.transition``, ``temporal_router.event`` (one
    per emitted event) and ``temporal_router.error``. (There is no separate pipeline span: a
    span costs far more than an event, above all inside Temporal workflows, where the
    sandbox slows down OpenTelemetry's attribute checks, and it told little the dispatch span
    and its events do not.)

Status rule: *faults* are ERROR, *refusals* are not
    A failure is a **fault** (span status ERROR with a ``"Type: message"`` description, plus
    ``error.type``) when something is wrong with the system rather than with the request:

    * ``unexpected`` (an exception from a handler or middleware) and ``dependency``: faults;
      the exception is added as a semantic-convention ``exception`` event on the span.
    * ``validation``: a fault when a handler produced data its schema refuses (source
      ``state``, ``transition``, ``event``, ``error``); a refusal when the *caller's* payload
      was invalid (source ``command``).
    * ``router``: ``UNKNOWN_STATE`` (the stored workflow is in a state the definition does not
      declare) is a fault; ``UNKNOWN_COMMAND`` and ``NO_HANDLER`` (the command does not exist,
      or is not accepted in the current state) are refusals.
    * ``domain`` (``ctx.error(code)``): a business outcome, always a refusal.

    This is the HTTP server rule (5xx is an error, 4xx is not) applied to commands, and it is
    what :func:`is_fault` computes. Refusals keep status UNSET but carry ``result=error`` and
    the ``temporal_router.error.*`` attributes. Success leaves the status UNSET too (the
    OpenTelemetry guidance for instrumentation libraries). A cancelled dispatch (``CancelledError``
    or any non-``Exception``) has ``result=cancelled`` and is never ERROR. ``error.type`` is
    set exactly when the status is ERROR.

Metrics
    * ``temporal_router.dispatches`` (counter, ``{dispatch}``) and
      ``temporal_router.dispatch.duration`` (histogram, seconds): definition, command type,
      input state, result, and on failure the error category (plus ``error.type`` for faults).
      Undeclared command types and states are recorded as ``_OTHER`` to bound cardinality; the
      workflow id is never a metric attribute.
    * ``temporal_router.transitions`` (counter, ``{transition}``): definition, from, to.

Observers never change control flow
    Every hook body guards itself: a failing tracer, meter or exporter is logged on the
    ``temporal_router.otel`` logger and the dispatch goes on with its result unchanged.

Context handling
    The span is attached as the current OpenTelemetry context in ``dispatch:start`` and
    detached in ``dispatch:end``; both run in the dispatching task, so the ``contextvars``
    tokens are valid. Each dispatch's bookkeeping lives in a frame on a
    ``ContextVar`` stack (tuples, copied on write; ``_frames.py``), found again at ``dispatch:end`` by the
    identity of the workflow and command objects. Nested dispatches therefore pair correctly,
    concurrent dispatches of the same workflow id in different tasks never see each other's
    frames (Ryte's map keyed by workflow id mixes them up), and a second otel plugin on the
    same router stays inert instead of duplicating spans.

Inside Temporal workflows
    The plugin reads no clock for control flow and keeps no module state besides the
    ``ContextVar``. Durations come from the dispatch span's own timestamps (the replay-safe
    provider stamps a span started during replay with workflow time); only spans without
    timestamps (a no-op tracer) fall back to ``time.monotonic_ns``, and where the sandbox
    forbids that, the duration is simply not recorded. Under ``temporalio.contrib.opentelemetry.OpenTelemetryPlugin`` with a
    ``ReplaySafeTracerProvider`` (see :func:`configure_tracing`), spans are not re-exported on
    replay. Exceptions are added as ``exception`` events rather than with
    ``span.record_exception``: the replay-safe span refuses to *end* after recording an
    exception that is not a workflow failure, which would lose the span of every dispatch that
    returned an ``unexpected`` result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from .. import __version__
from ..router import (
    DispatchResult,
    PipelineError,
    Plugin,
    ReadonlyContext,
    WorkflowDefinition,
    WorkflowRouter,
    define_plugin,
)
from ._attributes import (
    COMMAND_TYPE,
    DEFINITION,
    ERROR_MESSAGE,
    EVENT_EMITTED,
    EVENT_ERROR,
    EVENT_TRANSITION,
    EVENT_TYPE,
    INSTRUMENTATION_SCOPE,
    METRIC_DISPATCH_DURATION,
    METRIC_DISPATCHES,
    METRIC_TRANSITIONS,
    RESULT_OK,
    SPAN_DISPATCH,
    TRANSITION_FROM,
    TRANSITION_TO,
    WORKFLOW_ID,
    WORKFLOW_STATE,
)
from ._entry import UPDATE_ENTRY, UpdateEntry
from ._frames import Frame, Scope, active_frame, pop_frame, push_frame
from ._outcome import Outcome, error_attributes, exception_event

__all__ = ["otel_plugin"]

logger = logging.getLogger("temporal_router.otel")

#: Histogram buckets in seconds: in-memory dispatches take well under a millisecond, while
#: dispatches on Temporal that run activities or wait on hooks take seconds to minutes.
DURATION_BUCKETS: Final[tuple[float, ...]] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)


# --- helpers --------------------------------------------------------------------------------


class _Guard:
    """``with _Guard("what"):`` logs and swallows any ``Exception`` from telemetry code."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        logger.warning(
            "OpenTelemetry plugin: %s failed; dispatch unaffected", self._what, exc_info=exc
        )
        return True


def _monotonic_ns() -> int | None:
    """A monotonic reading, or None where clocks are off limits (Temporal's sandbox, when
    this module is not passed through). Only used for durations, never for control flow."""
    try:
        return time.monotonic_ns()
    except Exception:
        return None


def _text(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def _command_type(command: object) -> object:
    if isinstance(command, Mapping):
        return command.get("type")
    return getattr(command, "type", None)


# --- the plugin -----------------------------------------------------------------------------


class _Telemetry:
    """The tracer, the instruments and the context key of one :func:`otel_plugin` call."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
    ) -> None:
        self.tracer = trace.get_tracer(
            INSTRUMENTATION_SCOPE, __version__, tracer_provider=tracer_provider
        )
        meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider=meter_provider)
        self.dispatches = meter.create_counter(
            METRIC_DISPATCHES, unit="{dispatch}", description="Finished dispatches."
        )
        self.duration = meter.create_histogram(
            METRIC_DISPATCH_DURATION,
            unit="s",
            description="Duration of dispatches.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )
        self.transitions = meter.create_counter(
            METRIC_TRANSITIONS, unit="{transition}", description="State transitions."
        )

    def install(self, router: WorkflowRouter) -> None:
        if any(
            isinstance(getattr(cb, "__self__", None), _RouterHooks)
            for cb in router.hooks("dispatch:start")
        ):
            logger.warning("%r already has an OpenTelemetry plugin; not installing another", router)
            return
        hooks = _RouterHooks(self, router.definition)
        router.on("dispatch:start", hooks.dispatch_start)
        router.on("transition", hooks.transition)
        router.on("event", hooks.event)
        router.on("error", hooks.error)
        router.on("dispatch:end", hooks.dispatch_end)


class _RouterHooks:
    """The hook callbacks for one router (they need its definition)."""

    __slots__ = ("_definition", "_telemetry")

    def __init__(self, telemetry: _Telemetry, definition: WorkflowDefinition) -> None:
        self._telemetry = telemetry
        self._definition = definition

    # -- dispatch ------------------------------------------------------------------------------

    def dispatch_start(self, workflow: Any, command: Any) -> None:
        with _Guard("dispatch:start"):
            frame = push_frame(self._telemetry, workflow, command)
            if not frame.passive:
                self._open_dispatch(frame, workflow, command)

    def _open_dispatch(self, frame: Frame, workflow: Any, command: Any) -> None:
        definition = self._definition
        frame.definition = definition.name
        command_type = _command_type(command)
        declared = isinstance(command_type, str) and definition.has_command(command_type)
        if declared:
            frame.command_label = str(command_type)
        state = getattr(workflow, "state", None)
        if isinstance(state, str) and definition.has_state(state):
            frame.state_label = state
        attributes: dict[str, AttributeValue] = {DEFINITION: definition.name}
        workflow_id = getattr(workflow, "id", None)
        if workflow_id is not None:
            attributes[WORKFLOW_ID] = _text(workflow_id)
        if state is not None:
            attributes[WORKFLOW_STATE] = _text(state)
        if command_type is not None:
            attributes[COMMAND_TYPE] = _text(command_type)
        name = f"{SPAN_DISPATCH} {command_type}" if declared else SPAN_DISPATCH
        kind = SpanKind.INTERNAL
        entry = otel_context.get_value(UPDATE_ENTRY)
        if type(entry) is UpdateEntry and not entry.taken:
            # The first dispatch of an entity's Update handler: the worker's span of that
            # Update (see _entry.py), in place of temporalio's HandleUpdate span.
            entry.taken = True
            attributes.update(entry.attributes)
            kind = SpanKind.SERVER
        span = self._telemetry.tracer.start_span(name, kind=kind, attributes=attributes)
        frame.dispatch = Scope.open(span)
        if not isinstance(getattr(span, "start_time", None), int):
            frame.started_ns = _monotonic_ns()

    def dispatch_end(self, workflow: Any, command: Any, result: DispatchResult) -> None:
        frame: Frame | None = None
        with _Guard("dispatch:end"):
            frame = pop_frame(self._telemetry, workflow, command)
        if frame is None or frame.passive:
            return
        outcome = Outcome(RESULT_OK)
        with _Guard("dispatch:end (result)"):
            outcome = Outcome.of(result)
        duration_s: float | None = None
        if frame.dispatch is not None:
            with _Guard("dispatch:end (dispatch span)"):
                self._close(frame.dispatch, outcome, frame.transition)
            with _Guard("dispatch:end (duration)"):
                duration_s = self._span_duration(frame.dispatch.span)
        with _Guard("dispatch:end (metrics)"):
            if duration_s is None and frame.started_ns is not None:
                now = _monotonic_ns()
                duration_s = None if now is None else (now - frame.started_ns) / 1e9
            attributes: dict[str, AttributeValue] = {
                DEFINITION: frame.definition,
                COMMAND_TYPE: frame.command_label,
                WORKFLOW_STATE: frame.state_label,
                **outcome.metric_attributes(),
            }
            self._telemetry.dispatches.add(1, attributes)
            if duration_s is not None:
                self._telemetry.duration.record(max(duration_s, 0.0), attributes)

    @staticmethod
    def _close(scope: Scope, outcome: Outcome, transition: tuple[str, str] | None) -> None:
        """Finish ``scope``'s span with ``outcome`` and detach it, whatever fails."""
        try:
            span = scope.span
            if span.is_recording():
                attributes = outcome.span_attributes()
                if transition is not None:
                    attributes[TRANSITION_FROM], attributes[TRANSITION_TO] = transition
                span.set_attributes(attributes)
                if outcome.error_type is not None:
                    span.set_status(Status(StatusCode.ERROR, outcome.description))
                if outcome.exception is not None:
                    span.add_event("exception", exception_event(outcome.exception))
        finally:
            try:
                scope.span.end()
            finally:
                scope.detach()

    @staticmethod
    def _span_duration(span: Span) -> float | None:
        # The span's own clock: under Temporal's replay-safe provider a span started during
        # replay is stamped with the workflow's time, which a monotonic reading would miss.
        start, end = getattr(span, "start_time", None), getattr(span, "end_time", None)
        if isinstance(start, int) and isinstance(end, int) and end >= start:
            return (end - start) / 1e9
        return None

    # -- pipeline events ----------------------------------------------------------------------

    def _event_span(self) -> Span | None:
        """The span of the active dispatch, if it records (events on others are dropped)."""
        frame = active_frame(self._telemetry)
        scope = None if frame is None else frame.dispatch
        if scope is None or not scope.span.is_recording():
            return None
        return scope.span

    def transition(self, from_state: str, to_state: str, workflow: Any) -> None:
        with _Guard("transition"):
            frame = active_frame(self._telemetry)
            if frame is None:
                return
            frame.transition = (from_state, to_state)
            with _Guard("transition (span event)"):
                span = self._event_span()
                if span is not None:
                    span.add_event(
                        EVENT_TRANSITION, {TRANSITION_FROM: from_state, TRANSITION_TO: to_state}
                    )
            self._telemetry.transitions.add(
                1,
                {
                    DEFINITION: frame.definition,
                    TRANSITION_FROM: from_state,
                    TRANSITION_TO: to_state,
                },
            )

    def event(self, event: Any, workflow: Any) -> None:
        with _Guard("event"):
            span = self._event_span()
            if span is not None:
                span.add_event(EVENT_EMITTED, {EVENT_TYPE: _text(event.type)})

    def error(self, error: PipelineError, ctx: ReadonlyContext) -> None:
        with _Guard("error"):
            span = self._event_span()
            if span is not None:
                span.add_event(
                    EVENT_ERROR, {**error_attributes(error), ERROR_MESSAGE: error.message}
                )


def otel_plugin(
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
) -> Plugin:
    """A router plugin that turns the lifecycle hooks into spans, span events and metrics.

    The span, status and metric rules are in this module's docstring; every name is a
    constant in :mod:`temporal_router.otel`. Install it once per router (a second install on
    the same router is ignored with a warning). One plugin object may serve many routers.

    Args:
        tracer_provider: Where spans go. Default: the global provider, resolved lazily, so it
            may be set after the plugin is created. Inside Temporal workflows it must be
            replay safe (:func:`configure_tracing`).
        meter_provider: Where metrics go. Default: the global provider, resolved lazily.

    Example::

        router = WorkflowRouter(tasks)
        router.use(otel_plugin())
        await router.dispatch(wf, {"type": "Start", "payload": {"assignee": "ada"}})
        # -> span "dispatch Start" (span event temporal_router.transition)
    """
    telemetry = _Telemetry(tracer_provider, meter_provider)

    def otel(router: WorkflowRouter) -> None:
        telemetry.install(router)

    otel.__qualname__ = otel.__name__ = "otel_plugin"
    return define_plugin(otel)
