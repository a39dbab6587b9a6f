"""An OTLP/HTTP receiver in a process of its own, for benchmark 3:
``python -m bench._otlp_receiver``.

It stands in for a collector: it accepts ``POST /v1/traces`` and ``POST /v1/metrics``
(protobuf, gzip or not), decodes every request (``ExportTraceServiceRequest``,
``ExportMetricsServiceRequest``) and counts what arrived: spans by name, and for every
metric the number of data points received and the latest cumulative value of each sum
series. ``GET /counts`` returns those counts as JSON. It runs in its own process so that
its CPU time is not charged to the worker's process (the benchmark reads it from
``/proc/<pid>`` and reports it apart).

Prints ``ready <port>`` once it listens, and runs until its stdin is closed.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = ["Counts", "main"]


class Counts:
    """What the receiver has decoded so far (shared by its handler threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: Counter[str] = Counter()
        self.points: Counter[str] = Counter()
        #: data points by the exporting resource's ``service.name``
        self.points_by_service: Counter[str] = Counter()
        #: metric name -> {series key: latest cumulative value} (sums only)
        self.sums: dict[str, dict[str, float]] = {}
        self.requests: Counter[str] = Counter()
        self.bytes = 0

    def traces(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            self.requests["traces"] += 1
            self.bytes += len(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        self.spans[span.name] += 1

    def metrics(self, body: bytes) -> None:
        request = ExportMetricsServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            self.requests["metrics"] += 1
            self.bytes += len(body)
            for resource in request.resource_metrics:
                service = next(
                    (
                        a.value.string_value
                        for a in resource.resource.attributes
                        if a.key == "service.name"
                    ),
                    "?",
                )
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        kind = metric.WhichOneof("data")
                        if kind is None:
                            continue
                        data: Any = getattr(metric, kind)
                        self.points[metric.name] += len(data.data_points)
                        self.points_by_service[service] += len(data.data_points)
                        if kind != "sum":
                            continue
                        series = self.sums.setdefault(metric.name, {})
                        for point in data.data_points:
                            key = ",".join(
                                sorted(f"{a.key}={a.value.string_value}" for a in point.attributes)
                            )
                            value = point.as_int if point.HasField("as_int") else point.as_double
                            if data.aggregation_temporality == 1:  # delta: accumulate
                                series[key] = series.get(key, 0) + value
                            else:
                                series[key] = value

    def as_json(self) -> bytes:
        with self.lock:
            return json.dumps(
                {
                    "spans": dict(self.spans),
                    "points": dict(self.points),
                    "sums": {name: sum(s.values()) for name, s in self.sums.items()},
                    "requests": dict(self.requests),
                    "bytes": self.bytes,
                    "points_by_service": dict(self.points_by_service),
                }
            ).encode()


def handler(counts: Counts) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a collector offers

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path.endswith("/v1/traces"):
                counts.traces(body)
                reply = ExportTraceServiceResponse().SerializeToString()
            elif self.path.endswith("/v1/metrics"):
                counts.metrics(body)
                reply = ExportMetricsServiceResponse().SerializeToString()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            reply = counts.as_json()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(Counts()))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"ready {server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or exits)
    server.shutdown()


if __name__ == "__main__":
    main()
