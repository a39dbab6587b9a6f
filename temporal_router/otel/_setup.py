"""Tracer and meter providers for Temporal workers, configured by the ``OTEL_*`` variables.

:func:`configure_tracing` builds a replay-safe tracer provider (what
``temporalio.contrib.opentelemetry.OpenTelemetryPlugin`` requires) and picks its exporters
from the standard environment variables:

* ``OTEL_TRACES_EXPORTER``: comma-separated ``otlp``, ``console``, ``none``, ``jsonl`` (the
  local trace file, an extension of this package) or any exporter registered under the
  ``opentelemetry_traces_exporter`` entry-point group. Unset: ``otlp`` when an OTLP endpoint
  is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``), else
  ``jsonl``, so that a new user sees traces without running a backend.
* ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``: ``http/protobuf``
  (default) or ``grpc``. The OTLP exporters read their own variables (endpoint, headers,
  timeout, compression, certificates); they come with the ``temporal-router[otlp]`` extra and
  are imported only when selected.
* ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``: the resource; service name
  ``temporal-router`` when neither sets one.
* ``TEMPORAL_ROUTER_TRACES_PATH``: the local trace file (default
  ``.temporal-router/traces.jsonl``), also settable with ``traces_path=``.

:func:`configure_metrics` does the same for metrics (``OTEL_METRICS_EXPORTER``), except that
without an exporter it configures nothing and returns None.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Final

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.util.types import Attributes
from temporalio.contrib.opentelemetry import (
    ReplaySafeMeterProvider,
    ReplaySafeTracerProvider,
    create_tracer_provider,
)

from ..router import ConfigurationError
from ._spanfile import JsonLinesSpanExporter

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "DEFAULT_TRACES_PATH",
    "TRACES_PATH_ENV",
    "configure_metrics",
    "configure_tracing",
    "resolve_traces_path",
]

logger = logging.getLogger("temporal_router.otel")

DEFAULT_TRACES_PATH: Final = Path(".temporal-router") / "traces.jsonl"
"""Where spans go when no exporter is configured (relative to the working directory)."""

TRACES_PATH_ENV: Final = "TEMPORAL_ROUTER_TRACES_PATH"
"""Environment variable that overrides :data:`DEFAULT_TRACES_PATH`."""

DEFAULT_SERVICE_NAME: Final = "temporal-router"
"""``service.name`` when neither the argument nor ``OTEL_SERVICE_NAME`` sets one."""

_JSONL: Final = "jsonl"
_PROTOCOLS: Final = ("http/protobuf", "grpc")
_OTLP_EXTRA_HINT: Final = "install the OTLP exporters with: pip install 'temporal-router[otlp]'"


def resolve_traces_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The local trace file: ``path``, else ``$TEMPORAL_ROUTER_TRACES_PATH``, else the default.

    Example::

        print(render_waterfall(resolve_traces_path()))
    """
    if path is None:
        path = os.environ.get(TRACES_PATH_ENV) or DEFAULT_TRACES_PATH
    return Path(path)


def _resource(service_name: str | None) -> Resource:
    # Resource.create reads OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME; an explicit
    # argument wins over both, and our default only fills in for "unknown_service".
    resource = Resource.create({SERVICE_NAME: service_name} if service_name else {})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def _names(variable: str) -> list[str] | None:
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    return [n.strip().lower() for n in value.split(",") if n.strip()]


def _protocol(signal: str) -> str:
    protocol = (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol not in _PROTOCOLS:
        raise ConfigurationError(
            f"Unsupported OTLP protocol {protocol!r}: use one of {', '.join(_PROTOCOLS)}"
        )
    return protocol


def _has_otlp_endpoint(signal: str) -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    )


def _from_entry_point(group: str, name: str, variable: str) -> Callable[[], object]:
    found = list(entry_points(group=group, name=name))
    if not found:
        raise ConfigurationError(
            f"{variable}={name!r}: no such exporter (built in: otlp, console, none"
            f"{', jsonl' if variable == 'OTEL_TRACES_EXPORTER' else ''}; others are found "
            f"through the {group!r} entry points)"
        )
    factory: Callable[[], object] = found[0].load()
    return factory


def _otlp_span_exporter() -> SpanExporter:
    try:
        if _protocol("TRACES") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            return GrpcSpanExporter()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HttpSpanExporter,
        )

        return HttpSpanExporter()
    except ImportError as exc:
        raise ConfigurationError(f"OTEL_TRACES_EXPORTER=otlp: {_OTLP_EXTRA_HINT} ({exc})") from exc


def _otlp_metric_exporter() -> MetricExporter:
    try:
        if _protocol("METRICS") == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )

            return GrpcMetricExporter()
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        return HttpMetricExporter()
    except ImportError as exc:
        raise ConfigurationError(f"OTEL_METRICS_EXPORTER=otlp: {_OTLP_EXTRA_HINT} ({exc})") from exc


def _span_processors(path: Path) -> list[BatchSpanProcessor]:
    names = _names("OTEL_TRACES_EXPORTER")
    if names is None:
        names = ["otlp"] if _has_otlp_endpoint("TRACES") else [_JSONL]
    processors: list[BatchSpanProcessor] = []
    for name in dict.fromkeys(names):
        if name == "none":
            continue
        if name == _JSONL:
            # A short delay so that `temporal-router traces` sees spans soon; the variable
            # still wins when set.
            delay = None if os.environ.get("OTEL_BSP_SCHEDULE_DELAY") else 1000
            exporter: SpanExporter = JsonLinesSpanExporter(path)
            processors.append(BatchSpanProcessor(exporter, schedule_delay_millis=delay))
            logger.info("writing traces to %s (view them with: temporal-router traces)", path)
            continue
        if name == "otlp":
            exporter = _otlp_span_exporter()
        elif name == "console":
            exporter = ConsoleSpanExporter()
        else:
            made = _from_entry_point(
                "opentelemetry_traces_exporter", name, "OTEL_TRACES_EXPORTER"
            )()
            if not isinstance(made, SpanExporter):
                raise ConfigurationError(f"OTEL_TRACES_EXPORTER={name!r} is not a SpanExporter")
            exporter = made
        processors.append(BatchSpanProcessor(exporter))
    return processors


class _BenignDetachFilter(logging.Filter):
    """Drops OpenTelemetry's "Failed to detach context" for coroutines closed by GC.

    Long-running workflows (every entity) are still cached when a worker shuts down; Python
    later closes their coroutines with ``GeneratorExit`` in another ``contextvars.Context``,
    and detaching the span context there fails harmlessly (temporalio/sdk-python#441, #1849).
    Only that exact case is dropped; every other detach failure is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage() == "Failed to detach context"
            and isinstance(exc, ValueError)
            and "was created in a different Context" in str(exc)
            and isinstance(exc.__context__, GeneratorExit)
        )


class _TracerCachingProvider(ReplaySafeTracerProvider):
    """A :class:`ReplaySafeTracerProvider` that hands out one tracer per instrumentation scope.

    temporalio's interceptor asks the global provider for its tracer on every span it starts
    (``get_tracer(__name__)``), and the SDK's ``get_tracer`` then rebuilds the scope objects
    and re-installs a warnings filter before it finds its cached tracer: about a fifth of
    the tracing overhead of a traced dispatch on a worker. Tracers are stateless views of the
    provider (the SDK returns the same tracer for the same scope anyway), so caching them
    changes nothing else. Scopes with attributes (unhashable) are not cached.
    """

    def __init__(self, provider: ReplaySafeTracerProvider) -> None:
        super().__init__(provider._tracer_provider, provider.id_generator())
        self._tracers: dict[tuple[str, str | None, str | None], trace.Tracer] = {}

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes | None = None,
    ) -> trace.Tracer:
        if attributes:
            return super().get_tracer(
                instrumenting_module_name, instrumenting_library_version, schema_url, attributes
            )
        key = (instrumenting_module_name, instrumenting_library_version, schema_url)
        tracer = self._tracers.get(key)
        if tracer is None:
            tracer = super().get_tracer(
                instrumenting_module_name, instrumenting_library_version, schema_url
            )
            self._tracers[key] = tracer
        return tracer


def _quiet_benign_detach_errors() -> None:
    context_logger = logging.getLogger("opentelemetry.context")
    if not any(isinstance(f, _BenignDetachFilter) for f in context_logger.filters):
        context_logger.addFilter(_BenignDetachFilter())


def configure_tracing(
    *,
    service_name: str | None = None,
    traces_path: str | os.PathLike[str] | None = None,
    set_global: bool = True,
) -> ReplaySafeTracerProvider:
    """Build a replay-safe tracer provider with exporters chosen by the ``OTEL_*`` variables.

    The provider comes from ``temporalio.contrib.opentelemetry.create_tracer_provider``: span
    ids are deterministic inside workflows and spans are not re-exported on replay. Exporters
    sit behind batch processors and are flushed at process exit. See the module docstring for
    the variables; with none set, spans go to ``.temporal-router/traces.jsonl``.

    Args:
        service_name: ``service.name``; default ``OTEL_SERVICE_NAME``, else
            ``"temporal-router"``.
        traces_path: The local trace file, used when the ``jsonl`` exporter is selected
            (default: :func:`resolve_traces_path`). Resolved against the current directory now.
        set_global: Also make it OpenTelemetry's global tracer provider, which Temporal's
            ``OpenTelemetryPlugin`` and ``otel_plugin()`` without arguments use. Do this once,
            before creating the Worker. If a replay-safe global provider is already set, it is
            returned unchanged (the global can be set only once per process).

    Returns:
        The provider (pass it to ``otel_plugin(tracer_provider=...)`` when not global).

    Raises:
        ConfigurationError: an unknown exporter or protocol, missing OTLP packages, or
            ``set_global`` while a provider that is not replay safe is already global.

    Example::

        from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

        configure_tracing(service_name="orders-worker")
        client = await Client.connect("localhost:7233", plugins=[OpenTelemetryPlugin()])
    """
    if set_global:
        current = trace.get_tracer_provider()
        if isinstance(current, ReplaySafeTracerProvider):
            logger.info("a replay-safe global tracer provider is already set; reusing it")
            return current
        if not isinstance(current, trace.ProxyTracerProvider):
            raise ConfigurationError(
                f"a global tracer provider is already set ({type(current).__qualname__}) and "
                "OpenTelemetry allows one per process; Temporal workflows need it replay safe: "
                "call configure_tracing() first, or pass set_global=False"
            )
    path = resolve_traces_path(traces_path).resolve()
    processors = _span_processors(path)
    provider = _TracerCachingProvider(create_tracer_provider(resource=_resource(service_name)))
    for processor in processors:
        provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
        _quiet_benign_detach_errors()
    return provider


def configure_metrics(
    *,
    service_name: str | None = None,
    set_global: bool = True,
) -> ReplaySafeMeterProvider | None:
    """Build a replay-safe meter provider from ``OTEL_METRICS_EXPORTER``, or None.

    ``OTEL_METRICS_EXPORTER`` takes ``otlp``, ``console``, ``none`` or an
    ``opentelemetry_metrics_exporter`` entry point; unset, it is ``otlp`` when an OTLP endpoint
    is set, and otherwise nothing is configured (None: metrics stay no-ops). The protocol comes
    from ``OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`` / ``OTEL_EXPORTER_OTLP_PROTOCOL``, the export
    interval from ``OTEL_METRIC_EXPORT_INTERVAL``. Recordings made by workflow code while it
    replays history are dropped (``temporalio``'s ``ReplaySafeMeterProvider``).

    Args:
        service_name: As for :func:`configure_tracing`.
        set_global: Also make it the global meter provider (once per process; if a replay-safe
            one is already global, that one is returned).

    Raises:
        ConfigurationError: as for :func:`configure_tracing`.

    Example::

        router.use(otel_plugin(meter_provider=configure_metrics(set_global=False)))
    """
    if set_global:
        current = metrics.get_meter_provider()
        if isinstance(current, ReplaySafeMeterProvider):
            return current
    names = _names("OTEL_METRICS_EXPORTER")
    if names is None:
        names = ["otlp"] if _has_otlp_endpoint("METRICS") else []
    readers: list[PeriodicExportingMetricReader] = []
    for name in dict.fromkeys(names):
        if name == "none":
            continue
        exporter: MetricExporter
        if name == "otlp":
            exporter = _otlp_metric_exporter()
        elif name == "console":
            exporter = ConsoleMetricExporter()
        else:
            made = _from_entry_point(
                "opentelemetry_metrics_exporter", name, "OTEL_METRICS_EXPORTER"
            )()
            if not isinstance(made, MetricExporter):
                raise ConfigurationError(f"OTEL_METRICS_EXPORTER={name!r} is not a MetricExporter")
            exporter = made
        readers.append(PeriodicExportingMetricReader(exporter))
    if not readers:
        return None
    provider = ReplaySafeMeterProvider(
        MeterProvider(resource=_resource(service_name), metric_readers=readers)
    )
    if set_global:
        metrics.set_meter_provider(provider)
        if metrics.get_meter_provider() is not provider:
            provider.shutdown()
            raise ConfigurationError(
                "a global meter provider is already set and OpenTelemetry allows one per "
                "process: call configure_metrics() first, or pass set_global=False"
            )
    return provider
