"""Benchmark 4's user workflow: a module written the ordinary way, importing the library
(and OpenTelemetry, as a traced application does) and the user's own pydantic models at top
level, with no ``imports_passed_through()``. Under a sandbox each run re-imports whatever of
that is not passed through; what the worker passes through is the worker's own.

It imports the router core (``temporal_router``), what a module that defines routers
needs, and benchmark 1's models (``bench._entity_models``), which it validates."""

from __future__ import annotations

from opentelemetry import trace
from temporalio import workflow

from bench._entity_models import Started
from temporal_router import current_caller

__all__ = ["BenchUserWorkflow"]

_tracer = trace.get_tracer("bench.user_workflow")


@workflow.defn(name="BenchUserWorkflow")
class BenchUserWorkflow:
    """Records who started it, then waits for ``release`` (or returns at once)."""

    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self, wait: bool) -> str:
        caller = current_caller()
        started = Started(by="anonymous" if caller is None else caller.identity)
        if wait:
            await workflow.wait_condition(lambda: self._released)
        return started.by

    @workflow.signal
    def release(self) -> None:
        self._released = True

    @workflow.query
    def started(self) -> bool:
        """Answered once the first workflow task ran (so the run is in the worker's cache)."""
        return True
