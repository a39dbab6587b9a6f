"""The demo (``bash scripts/demo.sh`` = ``python -m examples.orders``) runs as a newcomer runs
it: with no tracing configured (the waterfall from the local file), and with an OTLP endpoint
set (spans exported there over OTLP/HTTP, and the waterfall still printed)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

REPO = Path(__file__).resolve().parents[2]


def run_demo(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OTEL_"))}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "examples.orders"],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_the_story(out: str) -> None:
    orders = [line for line in out.splitlines() if line.startswith("order ")]
    assert len(orders) == 2, out  # each order's rows under a label
    assert "refused domain/PaymentDeclined" in out
    assert "Ship (forged caller)" in out
    assert "refused domain/Forbidden" in out
    assert "final state of" in out
    assert "Shipped" in out
    assert "trace tree of" in out
    assert "dispatch Pay" in out


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: keeps the span names of every export."""

    spans: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(span.name for span in scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()
        self.wfile.write(b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    spans: list[str] = []
    handler = type("Receiver", (_Receiver,), {"spans": spans})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", spans
    finally:
        server.shutdown()
        server.server_close()


def test_the_demo_tells_the_story_and_draws_the_trace(tmp_path: Path) -> None:
    done = run_demo(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_the_story(done.stdout)


def test_the_demo_exports_over_otlp_and_still_draws_the_trace(
    tmp_path: Path, receiver: tuple[str, list[str]]
) -> None:
    endpoint, spans = receiver
    done = run_demo(tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint)
    assert done.returncode == 0, done.stderr[-3000:]
    assert_the_story(done.stdout)
    assert "dispatch Pay" in spans
    assert "RunWorkflow:ChargeCard" in spans
