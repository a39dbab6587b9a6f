"""A terminal waterfall of traces: one line per span, indented by parent, with a time bar.

Example output (``render_waterfall(spans, width=20, name_width=24)``)::

    trace 5b8aa5a2d2c872e8321cf37308d69df2 · 3 spans · 10.00 ms · 2026-11-24 10:28:34 UTC
    dispatch Start             10.00 ms │████████████████████│ Todo → Doing
      charge payment            8.00 ms │  ████████████████  │
        dispatch Crash          2.00 ms │      ████          │ ✗ ValueError: boom

    trace 0c2d4cf0d8f5e1a7a3c1ad0b4b3e9f11 · 1 span · 500 µs · 2026-11-24 10:28:34 UTC
    dispatch Reject              500 µs │████████████████████│ refused: domain/NotAllowed

The note after the bar is the state transition, ``✗ <status description>`` for a span with
status ERROR, ``refused: <category>/<code>`` for a failure that is not a fault, or
``cancelled``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from opentelemetry.sdk.trace import ReadableSpan

from ._attributes import (
    ERROR_CATEGORY,
    ERROR_CODE,
    RESULT,
    RESULT_CANCELLED,
    RESULT_ERROR,
    TRANSITION_FROM,
    TRANSITION_TO,
)
from ._spanfile import SpanRecord, read_span_file, to_records

__all__ = ["format_duration", "render_waterfall"]


def format_duration(ns: int) -> str:
    """A short human duration: ``850 µs``, ``12.40 ms``, ``3.20 s``, ``2m05s``.

    Example::

        format_duration(12_400_000)  # "12.40 ms"
    """
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    seconds = ns / 1_000_000_000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _note(record: SpanRecord) -> str:
    """What to print after the bar: the transition, or the failure."""
    attributes = record.attributes
    if record.status_code == "ERROR":
        return f"✗ {record.status_description or 'error'}"
    result = attributes.get(RESULT)
    if result == RESULT_ERROR:
        what = "/".join(str(attributes[k]) for k in (ERROR_CATEGORY, ERROR_CODE) if k in attributes)
        return f"refused: {what}" if what else "refused"
    if result == RESULT_CANCELLED:
        return "cancelled"
    if TRANSITION_FROM in attributes and TRANSITION_TO in attributes:
        return f"{attributes[TRANSITION_FROM]} → {attributes[TRANSITION_TO]}"
    return ""


def _bar(record: SpanRecord, t0: int, total: int, width: int) -> str:
    offset = min(width - 1, (record.start_time_unix_nano - t0) * width // total)
    length = max(1, round(record.duration_ns * width / total))
    length = min(length, width - offset)
    return "│" + " " * offset + "█" * length + " " * (width - offset - length) + "│"


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: max(0, size - 1)] + "…"


def _render_trace(records: list[SpanRecord], width: int, name_width: int) -> list[str]:
    ids = {r.span_id for r in records}
    children: Mapping[str | None, list[SpanRecord]]
    children = defaultdict(list)
    for r in records:
        # A span whose parent is elsewhere (another process, or not finished yet) is a root.
        parent = r.parent_span_id if r.parent_span_id in ids else None
        children[parent].append(r)
    for group in children.values():
        group.sort(key=lambda r: (r.start_time_unix_nano, r.name))
    t0 = min(r.start_time_unix_nano for r in records)
    t1 = max(r.end_time_unix_nano for r in records)
    total = max(1, t1 - t0)
    started = datetime.fromtimestamp(t0 / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    count = f"{len(records)} span{'s' if len(records) != 1 else ''}"
    lines = [f"trace {records[0].trace_id} · {count} · {format_duration(total)} · {started}"]

    def walk(parent: str | None, depth: int, seen: set[str]) -> None:
        for r in children.get(parent, []):
            if r.span_id in seen:  # a malformed file could make a cycle
                continue
            seen.add(r.span_id)
            label = _clip("  " * depth + r.name, name_width).ljust(name_width)
            note = _note(r)
            line = f"{label} {format_duration(r.duration_ns):>10} {_bar(r, t0, total, width)}"
            lines.append(f"{line} {note}" if note else line)
            walk(r.span_id, depth + 1, seen)

    walk(None, 0, set())
    return lines


def render_waterfall(
    spans: str | os.PathLike[str] | Iterable[ReadableSpan | SpanRecord],
    *,
    workflow_id: str | None = None,
    limit: int | None = None,
    width: int = 40,
    name_width: int = 44,
) -> str:
    """Render traces as a text waterfall: a header per trace, then one line per span.

    Spans are indented under their parent and ordered by start time; each line shows the
    duration and a bar placed and scaled within its trace, then the transition or failure.
    Traces are printed oldest first.

    Args:
        spans: A trace file path (see ``read_span_file``), or finished spans: SDK
            ``ReadableSpan`` objects (e.g. ``InMemorySpanExporter.get_finished_spans()``)
            or :class:`SpanRecord` objects.
        workflow_id: Keep only traces with a span whose ``temporal_router.workflow.id`` or
            Temporal's ``temporalWorkflowID`` attribute equals this id.
        limit: Keep only the most recent ``limit`` traces.
        width: Width of the time bar, in characters.
        name_width: Width of the indented name column; longer names are clipped.

    Returns:
        The text, lines joined by ``"\\n"``; a one-line message when nothing matched.

    Raises:
        FileNotFoundError: ``spans`` is a path and there is no file there.

    Example::

        print(render_waterfall(".temporal-router/traces.jsonl", workflow_id="order-42"))
    """
    records = read_span_file(spans) if isinstance(spans, str | os.PathLike) else to_records(spans)
    width = max(1, width)
    traces: dict[str, list[SpanRecord]] = defaultdict(list)
    for r in records:
        traces[r.trace_id].append(r)
    selected = [
        group
        for group in traces.values()
        if workflow_id is None or any(r.workflow_id == workflow_id for r in group)
    ]
    if not selected:
        return "No spans." if workflow_id is None else f"No traces for workflow id {workflow_id!r}."
    selected.sort(key=lambda group: min(r.start_time_unix_nano for r in group))
    if limit is not None:
        selected = selected[-limit:] if limit > 0 else []
    blocks = ["\n".join(_render_trace(group, width, name_width)) for group in selected]
    return "\n\n".join(blocks)
