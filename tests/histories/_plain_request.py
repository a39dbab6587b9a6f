"""A plain workflow that a hook request reaches with its start (``start_signal``), as a
workflow's ``hook(workflow_id=X)`` does to an X it has just started.

``plain_hook_request_at_start.json`` was recorded before the hook-request Update handler
moved to the interceptor's ``init()`` (commit a447b6d), with ``Sleeper`` started by
``client.start_workflow(Sleeper.run, start_signal=HOOK_REQUEST_SIGNAL,
start_signal_args=[HookRequest(id + "-kid", queue, "Kid", [])])`` on a worker with
``RouterPlugin(build_task_router(), workflows=[Sleeper, Kid])``: the timer comes before the
child's start in its history. Code that installs the signal handler before the workflow
function starts issues them the other way round and does not replay it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(timedelta(milliseconds=300))
        return "done"


@workflow.defn
class Kid:
    @workflow.run
    async def run(self) -> str:
        return "kid"
