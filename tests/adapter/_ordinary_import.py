"""A workflow module written the ordinary way: it imports the adapter at top level, with
no ``imports_passed_through()``, and runs on a worker without ``RouterPlugin``, so the
sandbox re-imports the whole adapter for each run."""

from __future__ import annotations

from temporalio import workflow

import temporal_router.adapter as adapter

__all__ = ["ImportsTheAdapter"]


@workflow.defn(name="ImportsTheAdapter")
class ImportsTheAdapter:
    @workflow.run
    async def run(self) -> str:
        return adapter.exec_hook.__name__
