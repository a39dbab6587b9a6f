"""A workflow module written the ordinary way: it imports the adapter and the hook
primitives at top level, with no ``imports_passed_through()``, and runs on a worker without
``RouterPlugin``, so the sandbox re-imports both for each run."""

from __future__ import annotations

from temporalio import workflow

import temporal_router.adapter as adapter
import temporal_router.workflows as workflows

__all__ = ["ImportsTheAdapter"]


@workflow.defn(name="ImportsTheAdapter")
class ImportsTheAdapter:
    @workflow.run
    async def run(self) -> str:
        return f"{workflows.exec_hook.__name__} {adapter.RouterClient.__name__}"
