"""The JSON-lines trace file and the terminal waterfall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from temporal_router.otel import (
    ERROR_CATEGORY,
    ERROR_CODE,
    RESULT,
    RESULT_ERROR,
    TEMPORAL_WORKFLOW_ID,
    TRANSITION_FROM,
    TRANSITION_TO,
    WORKFLOW_ID,
    JsonLinesSpanExporter,
    SpanRecord,
    format_duration,
    read_span_file,
    render_waterfall,
)

from ._helpers import make_definition, make_router, todo

MS = 1_000_000
T0 = 1_795_516_114_000_000_000  # 2026-11-24 10:28:34 UTC


def record(
    name: str,
    span_id: str,
    parent: str | None,
    start_ms: float,
    end_ms: float,
    *,
    trace_id: str = "a" * 32,
    status: str = "UNSET",
    description: str | None = None,
    **attributes: Any,
) -> SpanRecord:
    return SpanRecord(
        name=name,
        trace_id=trace_id,
        span_id=span_id.rjust(16, "0"),
        parent_span_id=None if parent is None else parent.rjust(16, "0"),
        start_time_unix_nano=T0 + int(start_ms * MS),
        end_time_unix_nano=T0 + int(end_ms * MS),
        status_code=status,
        status_description=description,
        attributes={k.replace("__", "."): v for k, v in attributes.items()},
    )


def sample() -> list[SpanRecord]:
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    return [
        # Trace a: a dispatch with a nested failing dispatch (recorded out of order).
        record("charge payment", "2", "1", 1, 9, trace_id=a),
        record(
            "dispatch Start",
            "1",
            None,
            0,
            10,
            trace_id=a,
            **{WORKFLOW_ID: "order-1", TRANSITION_FROM: "Todo", TRANSITION_TO: "Doing"},
        ),
        record(
            "dispatch Crash",
            "3",
            "2",
            3,
            5,
            trace_id=a,
            status="ERROR",
            description="ValueError: boom",
        ),
        # Trace b: a refusal, later.
        record(
            "dispatch Reject",
            "4",
            None,
            20,
            20.5,
            trace_id=b,
            **{
                WORKFLOW_ID: "order-2",
                RESULT: RESULT_ERROR,
                ERROR_CATEGORY: "domain",
                ERROR_CODE: "NotAllowed",
            },
        ),
        # Trace c: Temporal's spans (its own workflow id attribute), parent from elsewhere.
        record(
            "RunWorkflow:Order", "5", "ffff", 30, 1030, trace_id=c, **{TEMPORAL_WORKFLOW_ID: "o-3"}
        ),
        record("dispatch Start", "6", "5", 530, 1030, trace_id=c),
    ]


def test_render_waterfall_golden() -> None:
    assert render_waterfall(sample(), width=20, name_width=24) == "\n".join(
        [
            f"trace {'a' * 32} · 3 spans · 10.00 ms · 2026-11-24 10:28:34 UTC",
            "dispatch Start             10.00 ms │████████████████████│ Todo → Doing",
            "  charge payment            8.00 ms │  ████████████████  │",
            "    dispatch Crash          2.00 ms │      ████          │ ✗ ValueError: boom",
            "",
            f"trace {'b' * 32} · 1 span · 500 µs · 2026-11-24 10:28:34 UTC",
            "dispatch Reject              500 µs │████████████████████│ refused: domain/NotAllowed",
            "",
            f"trace {'c' * 32} · 2 spans · 1.00 s · 2026-11-24 10:28:34 UTC",
            "RunWorkflow:Order            1.00 s │████████████████████│",
            "  dispatch Start          500.00 ms │          ██████████│",
        ]
    )


def test_filter_by_workflow_id_and_limit() -> None:
    spans = sample()
    assert (
        render_waterfall(spans, workflow_id="order-2").splitlines()[1].startswith("dispatch Reject")
    )
    assert "RunWorkflow:Order" in render_waterfall(spans, workflow_id="o-3")
    only_a = render_waterfall(spans, workflow_id="order-1")
    assert only_a.count("trace ") == 1
    assert "dispatch Crash" in only_a  # the whole trace, not only the matching span
    assert render_waterfall(spans, workflow_id="nope") == "No traces for workflow id 'nope'."
    assert render_waterfall([]) == "No spans."
    latest = render_waterfall(spans, limit=1)
    assert latest.count("trace ") == 1
    assert "RunWorkflow:Order" in latest
    assert render_waterfall(spans, limit=0) == ""


def test_long_names_are_clipped() -> None:
    text = render_waterfall([record("x" * 80, "1", None, 0, 1)], name_width=10, width=4)
    assert text.splitlines()[1].startswith("xxxxxxxxx… ")


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0 µs"),
        (850_000, "850 µs"),
        (12_400_000, "12.40 ms"),
        (3_200_000_000, "3.20 s"),
        (125_000_000_000, "2m05s"),
        (3 * 3600 * 10**9 + 60 * 10**9, "3h01m"),
    ],
)
def test_format_duration(ns: int, text: str) -> None:
    assert format_duration(ns) == text


async def test_jsonl_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "traces.jsonl"
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    router = make_router(make_definition(), provider)
    wf = todo(router.definition, "order-9")
    await router.dispatch(wf, {"type": "Start", "payload": {"assignee": "ada"}})
    await router.dispatch(wf, {"type": "Crash"})
    await router.dispatch(todo(router.definition, "other"), {"type": "Reject"})
    provider.shutdown()

    spans = memory.get_finished_spans()
    records = read_span_file(path)
    assert records == [SpanRecord.from_span(s) for s in spans]
    assert len(path.read_text().splitlines()) == len(spans) == 3
    # The exporter encodes lines itself (cached resource and scope): the same text as the records.
    assert path.read_text().splitlines() == [
        json.dumps(SpanRecord.from_span(s).to_json(), separators=(",", ":"), default=str)
        for s in spans
    ]
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) >= {"trace_id", "span_id", "parent_span_id", "start_time_unix_nano"}
    assert len(first["trace_id"]) == 32
    assert len(first["span_id"]) == 16

    from_file = render_waterfall(path, workflow_id="order-9")
    assert from_file == render_waterfall(spans, workflow_id="order-9")
    lines = from_file.splitlines()
    assert [line[:44].rstrip() for line in lines if line and not line.startswith("trace ")] == [
        "dispatch Start",
        "dispatch Crash",
    ]
    assert "Todo → Doing" in lines[1]
    assert "✗ ValueError: boom" in lines[4]

    # A truncated last line (a killed process) and junk are skipped.
    with path.open("a") as f:
        f.write('{"not": "a span"}\n\n{"trace_id": "abc", "na')
    assert read_span_file(path) == records
    assert render_waterfall(str(path), workflow_id="order-9") == from_file


def test_exporter_after_shutdown_and_unwritable_path(tmp_path: Path) -> None:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("t").start_span("s").end()
    (span,) = memory.get_finished_spans()

    blocked = tmp_path / "file"
    blocked.write_text("")
    bad = JsonLinesSpanExporter(blocked / "traces.jsonl")  # parent is a file
    assert bad.export([span]).name == "FAILURE"
    good = JsonLinesSpanExporter(tmp_path / "t.jsonl")
    assert good.force_flush()
    good.shutdown()
    assert good.export([span]).name == "FAILURE"
    with pytest.raises(FileNotFoundError):
        read_span_file(tmp_path / "missing.jsonl")
