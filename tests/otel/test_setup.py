"""configure_tracing / configure_metrics: exporters from OTEL_*, a real OTLP/HTTP round trip,
and the zero-configuration trace file (in a subprocess, since global providers are set once)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from temporalio.contrib.opentelemetry import ReplaySafeMeterProvider, ReplaySafeTracerProvider

from temporal_router import ConfigurationError
from temporal_router.otel import (
    COMMAND_TYPE,
    DEFAULT_TRACES_PATH,
    EVENT_ERROR,
    EVENT_TRANSITION,
    RESULT,
    TRACES_PATH_ENV,
    WORKFLOW_ID,
    JsonLinesSpanExporter,
    configure_metrics,
    configure_tracing,
    read_span_file,
    resolve_traces_path,
)
from temporal_router.otel._setup import _span_processors

from ._helpers import make_definition, make_router, todo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No OTEL_* from the outside world, and no proxy between us and 127.0.0.1."""
    for name in list(os.environ):
        if name.startswith("OTEL_") or name == TRACES_PATH_ENV or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def exporters(path: Path) -> list[Any]:
    processors = _span_processors(path)
    try:
        return [p.span_exporter for p in processors]
    finally:
        for p in processors:
            p.shutdown()  # type: ignore[no-untyped-call]


# --- exporter selection -----------------------------------------------------------------------


def test_no_configuration_means_the_local_trace_file(tmp_path: Path) -> None:
    (exporter,) = exporters(tmp_path / "t.jsonl")
    assert isinstance(exporter, JsonLinesSpanExporter)
    assert exporter.path == tmp_path / "t.jsonl"


def test_an_otlp_endpoint_alone_selects_otlp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert [type(e) for e in exporters(tmp_path / "t")] == [HttpSpanExporter]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    assert [type(e) for e in exporters(tmp_path / "t")] == [GrpcSpanExporter]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf")  # wins
    assert [type(e) for e in exporters(tmp_path / "t")] == [HttpSpanExporter]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("none", []),
        ("console", [ConsoleSpanExporter]),
        ("jsonl", [JsonLinesSpanExporter]),
        (" OTLP , jsonl,otlp", [HttpSpanExporter, JsonLinesSpanExporter]),
    ],
)
def test_otel_traces_exporter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: list[type]
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", value)
    assert [type(e) for e in exporters(tmp_path / "t")] == expected


def test_configuration_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkinish")
    with pytest.raises(ConfigurationError, match="OTEL_TRACES_EXPORTER='zipkinish'"):
        configure_tracing(set_global=False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
    with pytest.raises(ConfigurationError, match="Unsupported OTLP protocol 'http/json'"):
        configure_tracing(set_global=False)


def test_traces_path_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert resolve_traces_path() == DEFAULT_TRACES_PATH == Path(".temporal-router/traces.jsonl")
    monkeypatch.setenv(TRACES_PATH_ENV, str(tmp_path / "env.jsonl"))
    assert resolve_traces_path() == tmp_path / "env.jsonl"
    assert resolve_traces_path(tmp_path / "arg.jsonl") == tmp_path / "arg.jsonl"


def test_service_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")

    def service(**kwargs: Any) -> Any:
        provider = configure_tracing(set_global=False, **kwargs)
        provider.shutdown()
        return provider._tracer_provider.resource.attributes["service.name"]

    assert service() == "temporal-router"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    assert service() == "from-env"
    assert service(service_name="explicit") == "explicit"


async def test_configured_provider_writes_the_trace_file(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    provider = configure_tracing(traces_path=path, set_global=False)
    assert isinstance(provider, ReplaySafeTracerProvider)
    router = make_router(make_definition(), provider)
    await router.dispatch(todo(router.definition), {"type": "Start", "payload": {"assignee": "a"}})
    assert provider.force_flush()
    provider.shutdown()
    assert [r.name for r in read_span_file(path)] == ["dispatch Start"]


def test_configure_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configure_metrics(set_global=False) is None  # nothing configured: no metrics
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
    assert configure_metrics(set_global=False) is None
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "console")
    provider = configure_metrics(set_global=False)
    assert isinstance(provider, ReplaySafeMeterProvider)
    provider.shutdown()
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "nope")
    with pytest.raises(ConfigurationError, match="OTEL_METRICS_EXPORTER='nope'"):
        configure_metrics(set_global=False)


# --- a real OTLP/HTTP collector ---------------------------------------------------------------


class _Collector(BaseHTTPRequestHandler):
    requests: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.server.requests.append(request)  # type: ignore[attr-defined]
            payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
        else:
            payload = b""
            self.send_response(404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value") or "string_value")


async def test_otlp_http_export(
    collector: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = collector.server_address[1]
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "otlp-test")

    provider = configure_tracing(set_global=False)
    router = make_router(make_definition(), provider)
    wf = todo(router.definition, "order-7")
    assert (await router.dispatch(wf, {"type": "Start", "payload": {"assignee": "a"}})).ok
    assert not (await router.dispatch(wf, {"type": "Crash"})).ok
    assert provider.force_flush(10_000)
    provider.shutdown()

    requests: list[ExportTraceServiceRequest] = collector.requests  # type: ignore[attr-defined]
    assert requests
    spans = {}
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            assert resource["service.name"] == "otlp-test"
            for scope_spans in resource_spans.scope_spans:
                assert scope_spans.scope.name == "temporal_router"
                for span in scope_spans.spans:
                    spans[span.name] = span
    assert sorted(spans) == ["dispatch Crash", "dispatch Start"]
    for command in ("Start", "Crash"):
        dispatch = spans[f"dispatch {command}"]
        assert dispatch.parent_span_id == b""
        attributes = {a.key: _value(a.value) for a in dispatch.attributes}
        assert attributes[WORKFLOW_ID] == "order-7"
        assert attributes[COMMAND_TYPE] == command
    assert {a.key: _value(a.value) for a in spans["dispatch Start"].attributes}[RESULT] == "ok"
    assert spans["dispatch Start"].events[0].name == EVENT_TRANSITION
    crash = spans["dispatch Crash"]
    assert crash.status.code == crash.status.STATUS_CODE_ERROR
    assert crash.status.message == "ValueError: boom"
    assert [e.name for e in crash.events] == [EVENT_ERROR, "exception"]


# --- the global provider, in fresh processes ------------------------------------------------


def _run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop(TRACES_PATH_ENV, None)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_zero_configuration_writes_traces_a_new_user_can_see(tmp_path: Path) -> None:
    done = _run(
        """
        import asyncio
        from opentelemetry import trace
        from temporal_router.otel import configure_tracing
        from tests.otel._helpers import make_definition, make_router, todo

        provider = configure_tracing()
        assert trace.get_tracer_provider() is provider
        assert configure_tracing() is provider  # once per process, then reused
        router = make_router(make_definition())  # global providers
        wf = todo(router.definition, "order-1")
        asyncio.run(router.dispatch(wf, {"type": "Start", "payload": {"assignee": "ada"}}))
        # no flush: spans reach the file at exit
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    from temporal_router.otel import render_waterfall

    text = render_waterfall(tmp_path / ".temporal-router" / "traces.jsonl", workflow_id="order-1")
    assert "dispatch Start" in text
    assert "Todo → Doing" in text


def test_a_global_provider_that_is_not_replay_safe_is_refused(tmp_path: Path) -> None:
    done = _run(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from temporal_router import ConfigurationError
        from temporal_router.otel import configure_tracing

        trace.set_tracer_provider(TracerProvider())
        try:
            configure_tracing()
        except ConfigurationError as exc:
            print("refused:", exc)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "refused: a global tracer provider is already set (TracerProvider)" in done.stdout
    assert not (tmp_path / ".temporal-router").exists()
