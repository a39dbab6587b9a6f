"""The local trace file: finished spans as JSON lines, and reading them back.

Without a tracing backend, :func:`~temporal_router.otel.configure_tracing` writes spans to
``.temporal-router/traces.jsonl``; ``render_waterfall`` (and ``temporal-router traces``) reads
them. One line per finished span::

    {"trace_id": "<32 hex>", "span_id": "<16 hex>", "parent_span_id": "<16 hex>" | null,
     "name": "dispatch Start", "kind": "INTERNAL",
     "start_time_unix_nano": 1700000000000000000, "end_time_unix_nano": 1700000000001000000,
     "status": {"code": "UNSET" | "OK" | "ERROR", "description": null},
     "attributes": {...}, "events": [{"name": ..., "time_unix_nano": ..., "attributes": {...}}],
     "resource": {"service.name": ...}, "scope": {"name": ..., "version": ...}}

The file is only appended to; delete it to start afresh.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ._attributes import TEMPORAL_WORKFLOW_ID, WORKFLOW_ID

__all__ = ["JsonLinesSpanExporter", "SpanRecord", "read_span_file"]

logger = logging.getLogger("temporal_router.otel")


def _json_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (attributes or {}).items()}


#: One encoder for every line: ``json.dumps`` with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """A finished span, as read from the trace file or converted from an SDK span.

    Example::

        records = read_span_file(".temporal-router/traces.jsonl")
        roots = [r for r in records if r.parent_span_id is None]
    """

    name: str
    trace_id: str
    """32 lowercase hex digits."""
    span_id: str
    """16 lowercase hex digits."""
    parent_span_id: str | None
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: str = "UNSET"
    """``UNSET``, ``OK`` or ``ERROR``."""
    status_description: str | None = None
    kind: str = "INTERNAL"
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[Mapping[str, Any]] = ()
    """Each ``{"name": str, "time_unix_nano": int, "attributes": {...}}``."""
    resource: Mapping[str, Any] = field(default_factory=dict)
    scope: str | None = None

    @property
    def workflow_id(self) -> str | None:
        """The workflow the span belongs to: the router's attribute, else Temporal's."""
        value = self.attributes.get(WORKFLOW_ID) or self.attributes.get(TEMPORAL_WORKFLOW_ID)
        return str(value) if value is not None else None

    @property
    def duration_ns(self) -> int:
        """End minus start, never negative."""
        return max(0, self.end_time_unix_nano - self.start_time_unix_nano)

    @classmethod
    def from_span(cls, span: ReadableSpan) -> SpanRecord:
        """Convert a finished SDK span (from an exporter or ``InMemorySpanExporter``)."""
        ctx = span.context
        if ctx is None:
            raise ValueError(f"span {span.name!r} has no span context")
        start = span.start_time or 0
        return cls(
            name=span.name,
            trace_id=f"{ctx.trace_id:032x}",
            span_id=f"{ctx.span_id:016x}",
            parent_span_id=None if span.parent is None else f"{span.parent.span_id:016x}",
            start_time_unix_nano=start,
            end_time_unix_nano=span.end_time or start,
            status_code=span.status.status_code.name,
            status_description=span.status.description,
            kind=span.kind.name,
            attributes=_json_attributes(span.attributes),
            events=tuple(
                {
                    "name": e.name,
                    "time_unix_nano": e.timestamp,
                    "attributes": _json_attributes(e.attributes),
                }
                for e in span.events
            ),
            resource=_json_attributes(span.resource.attributes),
            scope=None if span.instrumentation_scope is None else span.instrumentation_scope.name,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpanRecord:
        """Parse one line's object (see the module docstring).

        Raises:
            KeyError, TypeError, ValueError: the object is not a span record.
        """
        status = data.get("status") or {}
        scope = data.get("scope") or {}
        parent = data.get("parent_span_id")
        return cls(
            name=str(data["name"]),
            trace_id=str(data["trace_id"]),
            span_id=str(data["span_id"]),
            parent_span_id=None if parent is None else str(parent),
            start_time_unix_nano=int(data["start_time_unix_nano"]),
            end_time_unix_nano=int(data["end_time_unix_nano"]),
            status_code=str(status.get("code", "UNSET")),
            status_description=status.get("description"),
            kind=str(data.get("kind", "INTERNAL")),
            attributes=dict(data.get("attributes") or {}),
            events=tuple(data.get("events") or ()),
            resource=dict(data.get("resource") or {}),
            scope=scope.get("name"),
        )

    def to_json(self) -> dict[str, Any]:
        """The object written as one line of the trace file."""
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "kind": self.kind,
            "start_time_unix_nano": self.start_time_unix_nano,
            "end_time_unix_nano": self.end_time_unix_nano,
            "status": {"code": self.status_code, "description": self.status_description},
            "attributes": dict(self.attributes),
            "events": [dict(e) for e in self.events],
            "resource": dict(self.resource),
            "scope": {"name": self.scope},
        }


class JsonLinesSpanExporter(SpanExporter):
    """A span exporter that appends each finished span to ``path`` as one JSON line.

    Creates the parent directory on first export. Thread safe; use it behind a
    ``BatchSpanProcessor`` (``configure_tracing`` does).

    Example::

        provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter("traces.jsonl")))
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stopped = False
        #: The encoded tail of each line (resource and scope), by the objects' identities:
        #: a provider has one resource and few scopes, and every span repeats them.
        self._tails: dict[tuple[int, int], tuple[object, object, str]] = {}

    def _tail(self, span: ReadableSpan) -> str:
        resource, scope = span.resource, span.instrumentation_scope
        key = (id(resource), id(scope))
        cached = self._tails.get(key)
        if cached is not None and cached[0] is resource and cached[1] is scope:
            return cached[2]
        tail = (
            ',"resource":'
            + _ENCODER.encode(_json_attributes(resource.attributes))
            + ',"scope":'
            + _ENCODER.encode({"name": None if scope is None else scope.name})
            + "}\n"
        )
        if len(self._tails) > 64:  # providers come and go in tests; keep it bounded
            self._tails.clear()
        self._tails[key] = (resource, scope, tail)
        return tail

    def _line(self, span: ReadableSpan) -> str:
        """One line of the file: ``SpanRecord.from_span(span).to_json()``, encoded, without
        building the record (the export runs beside the workers, on the same GIL)."""
        ctx = span.context
        if ctx is None:
            raise ValueError(f"span {span.name!r} has no span context")
        parent = span.parent
        start = span.start_time or 0
        status = span.status
        head = _ENCODER.encode(
            {
                "trace_id": f"{ctx.trace_id:032x}",
                "span_id": f"{ctx.span_id:016x}",
                "parent_span_id": None if parent is None else f"{parent.span_id:016x}",
                "name": span.name,
                "kind": span.kind.name,
                "start_time_unix_nano": start,
                "end_time_unix_nano": span.end_time or start,
                "status": {"code": status.status_code.name, "description": status.description},
                "attributes": _json_attributes(span.attributes),
                "events": [
                    {
                        "name": e.name,
                        "time_unix_nano": e.timestamp,
                        "attributes": _json_attributes(e.attributes),
                    }
                    for e in span.events
                ],
            }
        )
        return head[:-1] + self._tail(span)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append ``spans``; FAILURE (logged) if the file cannot be written."""
        if self._stopped:
            return SpanExportResult.FAILURE
        try:
            lines = [self._line(s) for s in spans]
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.writelines(lines)
        except (OSError, ValueError):
            logger.warning("could not write spans to %s", self.path, exc_info=True)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Refuse further exports."""
        self._stopped = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: every export is written before it returns."""
        return True


def read_span_file(path: str | os.PathLike[str]) -> list[SpanRecord]:
    """The spans in a trace file, in file order; lines that are not span records are skipped.

    A process killed mid-write can leave a truncated last line, so a bad line is not an error.

    Raises:
        FileNotFoundError: no file at ``path``.

    Example::

        print(render_waterfall(read_span_file(".temporal-router/traces.jsonl")))
    """
    records: list[SpanRecord] = []
    skipped = 0
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                records.append(SpanRecord.from_json(json.loads(line)))
            except (KeyError, TypeError, ValueError, AttributeError):
                skipped += 1
    if skipped:
        logger.debug("skipped %d malformed line(s) in %s", skipped, path)
    return records


def to_records(spans: Iterable[ReadableSpan | SpanRecord]) -> list[SpanRecord]:
    """``spans`` as records (records pass through unchanged)."""
    return [s if isinstance(s, SpanRecord) else SpanRecord.from_span(s) for s in spans]
