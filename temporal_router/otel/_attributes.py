"""Every name the OpenTelemetry plugin emits: span names, attribute keys, events, metrics.

Values are dotted lowercase names under ``temporal_router.`` (OpenTelemetry semantic-convention
style); ``error.type`` and the ``exception.*`` event attributes are reused from the semantic
conventions rather than redefined. Tests and users should compare through these constants,
never through string literals.

Example::

    from temporal_router.otel import COMMAND_TYPE, RESULT

    for span in exporter.get_finished_spans():
        print(span.name, span.attributes[COMMAND_TYPE], span.attributes[RESULT])
"""

from __future__ import annotations

from typing import Final

from opentelemetry.semconv.attributes import error_attributes

__all__ = [
    "COMMAND_TYPE",
    "DEFINITION",
    "ERROR_CATEGORY",
    "ERROR_CODE",
    "ERROR_DEPENDENCY",
    "ERROR_MESSAGE",
    "ERROR_SOURCE",
    "ERROR_TYPE",
    "EVENT_EMITTED",
    "EVENT_ERROR",
    "EVENT_TRANSITION",
    "EVENT_TYPE",
    "INSTRUMENTATION_SCOPE",
    "METRIC_DISPATCHES",
    "METRIC_DISPATCH_DURATION",
    "METRIC_TRANSITIONS",
    "OTHER",
    "RESULT",
    "RESULT_CANCELLED",
    "RESULT_ERROR",
    "RESULT_OK",
    "SPAN_DISPATCH",
    "TEMPORAL_WORKFLOW_ID",
    "TRANSITION_FROM",
    "TRANSITION_TO",
    "WORKFLOW_ID",
    "WORKFLOW_STATE",
]

# --- instrumentation scope ------------------------------------------------------------------

INSTRUMENTATION_SCOPE: Final = "temporal_router"
"""Name of the tracer and meter the plugin obtains from its providers."""

# --- span names -----------------------------------------------------------------------------

SPAN_DISPATCH: Final = "dispatch"
"""Prefix of the dispatch span's name: ``dispatch <Command>``, e.g. ``dispatch Start``.

The span covers one ``router.dispatch`` call, early-return failures included; it is the only
span the plugin makes (what happens inside the pipeline becomes its span events). When the
command type is not declared by the definition, the name is the bare prefix so that span names
stay low-cardinality; the raw type is still recorded in :data:`COMMAND_TYPE`.
"""

# --- attributes: what was dispatched --------------------------------------------------------

DEFINITION: Final = "temporal_router.definition"
"""Name of the workflow definition (``define_workflow(name, ...)``), e.g. ``"Task"``."""

WORKFLOW_ID: Final = "temporal_router.workflow.id"
"""Id of the workflow instance the command was dispatched to. Spans only, never metrics."""

WORKFLOW_STATE: Final = "temporal_router.workflow.state"
"""State of the workflow when the dispatch started (the input state)."""

COMMAND_TYPE: Final = "temporal_router.command.type"
"""Type of the dispatched command, e.g. ``"Start"``."""

TEMPORAL_WORKFLOW_ID: Final = "temporalWorkflowID"
"""Temporal's own span attribute for the workflow id (set by ``temporalio.contrib.opentelemetry``).

Not emitted by this package; listed so that readers (the waterfall filter) match it too.
"""

# --- attributes: outcome --------------------------------------------------------------------

RESULT: Final = "temporal_router.result"
"""Outcome of a dispatch: :data:`RESULT_OK`, :data:`RESULT_ERROR` or :data:`RESULT_CANCELLED`."""

RESULT_OK: Final = "ok"
"""Value of :data:`RESULT`: the dispatch succeeded."""

RESULT_ERROR: Final = "error"
"""Value of :data:`RESULT`: the dispatch returned a failure (see :data:`ERROR_CATEGORY`)."""

RESULT_CANCELLED: Final = "cancelled"
"""Value of :data:`RESULT`: the dispatch was cancelled (``CancelledError`` and other
``BaseException``); never a span status ERROR."""

TRANSITION_FROM: Final = "temporal_router.transition.from"
"""State before a transition; on the transition span event, and on the dispatch span when the
dispatch changed the state."""

TRANSITION_TO: Final = "temporal_router.transition.to"
"""State after a transition; see :data:`TRANSITION_FROM`."""

EVENT_TYPE: Final = "temporal_router.event.type"
"""Type of an event a handler emitted with ``ctx.emit``; on the :data:`EVENT_EMITTED` span event."""

ERROR_CATEGORY: Final = "temporal_router.error.category"
"""Category of a failed dispatch: ``validation``, ``domain``, ``router``, ``dependency`` or
``unexpected``."""

ERROR_CODE: Final = "temporal_router.error.code"
"""Code of a ``domain`` failure (``ctx.error(code)``) or of a ``router`` failure
(``UNKNOWN_STATE``, ``UNKNOWN_COMMAND``, ``NO_HANDLER``)."""

ERROR_SOURCE: Final = "temporal_router.error.source"
"""Which data a ``validation`` failure refused: ``command``, ``state``, ``transition``,
``event`` or ``error``."""

ERROR_DEPENDENCY: Final = "temporal_router.error.dependency"
"""Top-level name of the dependency whose call failed (category ``dependency``)."""

ERROR_MESSAGE: Final = "temporal_router.error.message"
"""Human-readable message of a failure; on the :data:`EVENT_ERROR` span event only.

.. warning:: may contain data from the command or the workflow.
"""

ERROR_TYPE: Final = error_attributes.ERROR_TYPE
"""``error.type`` from the OpenTelemetry semantic conventions.

Set exactly when the span status is ERROR (see ``temporal_router.otel._plugin``): the fully
qualified exception class for ``unexpected`` and ``dependency`` failures, the router code
(``UNKNOWN_STATE``) or ``validation`` otherwise. Low-cardinality, so metrics carry it too.
"""

OTHER: Final = "_OTHER"
"""Metric attribute value for a command type or state that the definition does not declare.

Keeps metric cardinality bounded whatever callers send (the semantic conventions use the same
value for unknown HTTP methods). Span attributes keep the raw value.
"""

# --- span events ----------------------------------------------------------------------------

EVENT_TRANSITION: Final = "temporal_router.transition"
"""Span event on the dispatch span when a successful dispatch changed the state.

Attributes: :data:`TRANSITION_FROM`, :data:`TRANSITION_TO`.
"""

EVENT_EMITTED: Final = "temporal_router.event"
"""Span event on the dispatch span, once per event a successful dispatch emitted.

Attributes: :data:`EVENT_TYPE`.
"""

EVENT_ERROR: Final = "temporal_router.error"
"""Span event on the dispatch span when the middleware/handler chain failed (the ``error`` hook).

Attributes: :data:`ERROR_CATEGORY`, :data:`ERROR_MESSAGE` and, as applicable,
:data:`ERROR_CODE`, :data:`ERROR_SOURCE`, :data:`ERROR_DEPENDENCY`.
"""

# --- metrics --------------------------------------------------------------------------------

METRIC_DISPATCHES: Final = "temporal_router.dispatches"
"""Counter of finished dispatches, unit ``{dispatch}``.

Attributes: :data:`DEFINITION`, :data:`COMMAND_TYPE`, :data:`WORKFLOW_STATE` (input state),
:data:`RESULT`, and on failure :data:`ERROR_CATEGORY` (plus :data:`ERROR_TYPE` for faults).
Undeclared command types and states are reported as :data:`OTHER`.
"""

METRIC_DISPATCH_DURATION: Final = "temporal_router.dispatch.duration"
"""Histogram of dispatch durations, unit ``s``; same attributes as :data:`METRIC_DISPATCHES`."""

METRIC_TRANSITIONS: Final = "temporal_router.transitions"
"""Counter of state transitions, unit ``{transition}``.

Attributes: :data:`DEFINITION`, :data:`TRANSITION_FROM`, :data:`TRANSITION_TO`.
"""
