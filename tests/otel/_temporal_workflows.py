"""A hooked workflow for the OpenTelemetry-on-Temporal tests (imported in the sandbox)."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporal_router.workflows import signal


@workflow.defn(name="OtelEcho")
class OtelEcho:
    """Answers its caller with the value it was given."""

    @workflow.run
    async def run(self, value: str, reply: dict[str, Any]) -> None:
        await signal(reply["signal"], {"echo": value})
