"""OpenTelemetry for temporal-router: lifecycle hooks as spans, span events and metrics.

:func:`otel_plugin` is a router plugin; :func:`configure_tracing` and
:func:`configure_metrics` build replay-safe providers from the ``OTEL_*`` variables (with a
local trace file when no backend is configured); :func:`render_waterfall` prints traces in a
terminal. The constants are every span name, attribute, event and metric the plugin emits.

Example::

    from temporal_router.otel import configure_tracing, otel_plugin, render_waterfall

    configure_tracing()          # OTLP if OTEL_* says so, else .temporal-router/traces.jsonl
    router.use(otel_plugin())
    ...
    print(render_waterfall(resolve_traces_path(), workflow_id="order-42"))
"""

from ._attributes import (
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
    INSTRUMENTATION_SCOPE,
    METRIC_DISPATCH_DURATION,
    METRIC_DISPATCHES,
    METRIC_TRANSITIONS,
    OTHER,
    RESULT,
    RESULT_CANCELLED,
    RESULT_ERROR,
    RESULT_OK,
    SPAN_DISPATCH,
    TEMPORAL_WORKFLOW_ID,
    TRANSITION_FROM,
    TRANSITION_TO,
    WORKFLOW_ID,
    WORKFLOW_STATE,
)
from ._outcome import is_fault
from ._plugin import otel_plugin
from ._setup import (
    DEFAULT_SERVICE_NAME,
    DEFAULT_TRACES_PATH,
    TRACES_PATH_ENV,
    configure_metrics,
    configure_tracing,
    resolve_traces_path,
)
from ._spanfile import JsonLinesSpanExporter, SpanRecord, read_span_file
from ._waterfall import format_duration, render_waterfall

__all__ = [
    "COMMAND_TYPE",
    "DEFAULT_SERVICE_NAME",
    "DEFAULT_TRACES_PATH",
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
    "TRACES_PATH_ENV",
    "TRANSITION_FROM",
    "TRANSITION_TO",
    "WORKFLOW_ID",
    "WORKFLOW_STATE",
    "JsonLinesSpanExporter",
    "SpanRecord",
    "configure_metrics",
    "configure_tracing",
    "format_duration",
    "is_fault",
    "otel_plugin",
    "read_span_file",
    "render_waterfall",
    "resolve_traces_path",
]
