"""The demo (``bash scripts/demo.sh`` = ``python -m examples.orders``) runs as a newcomer runs
it: with no tracing configured (the waterfall from the local file), and with an OTLP endpoint
set (spans exported there over OTLP/HTTP, and the waterfall still printed): to a receiver in
the test, and to a real one, Arize Phoenix, which serves the spans back (``_phoenix.py``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from temporal_router.otel import read_span_file
from temporal_router.otel._attributes import WORKFLOW_ID

from ._phoenix import PROJECT_ATTRIBUTE, Phoenix, install_phoenix, run_phoenix

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


SKIP_PHOENIX = "TEMPORAL_ROUTER_SKIP_PHOENIX"


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phoenix]:
    """``phoenix serve`` from ``.venv-phoenix`` (``scripts/phoenix.sh`` creates it on first
    use), on free ports of 127.0.0.1 with a temporary working directory.

    ``TEMPORAL_ROUTER_SKIP_PHOENIX=1`` skips the tests that use it, saying so (for a machine
    that should not download Phoenix: about 860 MB installed); CI runs them."""
    if os.environ.get(SKIP_PHOENIX, "") not in ("", "0"):
        pytest.skip(
            f"{SKIP_PHOENIX} is set: not exporting the demo to Arize Phoenix "
            "(unset it to install Phoenix into .venv-phoenix and run this test)"
        )
    with run_phoenix(install_phoenix(), tmp_path_factory.mktemp("phoenix")) as server:
        yield server


def test_the_demo_exports_to_arize_phoenix_which_serves_the_spans_back(
    tmp_path: Path, phoenix: Phoenix
) -> None:
    """The demo exports over OTLP/HTTP to Arize Phoenix (``arize-phoenix`` from PyPI, in its
    own ``.venv-phoenix``: the first run installs it, about 1.5 min here, see
    ``scripts/phoenix.sh``; skipped, saying so, when ``TEMPORAL_ROUTER_SKIP_PHOENIX=1``), and
    Phoenix's REST API serves back every span the demo also wrote to its local file, with the same
    trace, span and parent ids: each order's ``dispatch <Command>`` spans under the client's
    ``StartWorkflowUpdate:dispatch`` span, and the payment hook's workflow run."""
    project = f"orders-demo-{uuid.uuid4().hex[:8]}"
    done = run_demo(
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_RESOURCE_ATTRIBUTES=f"{PROJECT_ATTRIBUTE}={project}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_the_story(done.stdout)
    local = read_span_file(tmp_path / ".temporal-router" / "demo-traces.jsonl")
    assert len(local) > 20, local

    stored = phoenix.wait_for_spans(project, len(local))

    served = sorted((s.trace_id, s.span_id, s.parent_span_id, s.name) for s in stored)
    written = sorted((s.trace_id, s.span_id, s.parent_span_id, s.name) for s in local)
    assert served == written, (
        f"only in Phoenix: {sorted(set(served) - set(written))}\n"
        f"only in the file: {sorted(set(written) - set(served))}\n{phoenix.log_tail()}"
    )
    by_id = {span.span_id: span for span in stored}
    order, declined = re.findall(r"^order (\S+):", done.stdout, re.MULTILINE)
    for workflow_id, commands in ((order, ("Pay", "Ship")), (declined, ("Pay", "Cancel"))):
        for command in commands:
            parents = [
                by_id[span.parent_span_id]
                for span in stored
                if span.name == f"dispatch {command}"
                and span.attributes.get(WORKFLOW_ID) == workflow_id
                and span.parent_span_id in by_id
            ]
            names = [parent.name for parent in parents]
            assert "StartWorkflowUpdate:dispatch" in names, (workflow_id, command, names)
    assert "RunWorkflow:ChargeCard" in {span.name for span in stored}
