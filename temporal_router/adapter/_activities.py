"""The activities entity and hook workflows schedule, run by every worker ``RouterPlugin`` sets up.

Workflow code cannot call Temporal's client; these activities do it on its behalf, each by
the name the workflow side schedules it under (``temporal_router.workflows``):

- ``deliver_command``: a reactor's follow-up command, to its target entity;
- ``host_dispatch``: a hooked workflow's command to its host entity (``dispatch_to_host``);
- ``host_snapshot``: the host entity's snapshot (``host_snapshot``);
- ``stop_hook``: terminate a hooked workflow whose waiter gave up (``exec_hook``).
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ..workflows import SNAPSHOT_QUERY, DispatchReply, DispatchRequest

# Worker-side plumbing of the workflows package (activity names and the messages only these
# activities and the entity exchange): internal, so not exported there.
from ..workflows._messages import (
    DELIVER_ACTIVITY,
    HOST_DISPATCH_ACTIVITY,
    HOST_SNAPSHOT_ACTIVITY,
    SHARED_QUERY,
    STOP_HOOK_ACTIVITY,
    HostCommand,
    ReactorDelivery,
)
from ..workflows._trust import current_keys
from ._send import send_command

__all__ = ["ACTIVITIES", "deliver_command", "host_dispatch", "host_snapshot", "stop_hook"]


@activity.defn(name=DELIVER_ACTIVITY)
async def deliver_command(item: ReactorDelivery) -> None:
    """Deliver one reactor command to its target entity, exactly once (by command id)."""
    request = DispatchRequest(item.type, item.payload)
    try:
        reply = await send_command(
            activity.client(), item.workflow_id, request, command_id=item.command_id
        )
    except WorkflowUpdateFailedError as exc:
        activity.logger.warning("reactor command %s failed: %s", item.command_id, exc.cause)
        return
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise ApplicationError(
                f"reactor target {item.workflow_id!r} does not exist", non_retryable=True
            ) from exc
        raise
    if not reply.ok and reply.error is not None:
        # A business outcome, final: retrying would not change it.
        activity.logger.warning(
            "reactor command %s refused: %s", item.command_id, reply.error.message
        )


@activity.defn(name=HOST_DISPATCH_ACTIVITY)
async def host_dispatch(item: HostCommand) -> DispatchReply:
    """Dispatch a hook's command to its host entity (exactly once, by command id)."""
    keys = current_keys()  # the worker's, set by its interceptor
    # Vouch for the lock bypass only for the hooked workflow that scheduled this activity:
    # not for a standalone activity a client started, nor for another workflow's name.
    scheduled_by = activity.info().workflow_id
    seal = (
        keys.seal("via_hook", item.workflow_id, item.command_id, item.via_hook)
        if keys is not None and item.via_hook is not None and item.via_hook == scheduled_by
        else None
    )
    request = DispatchRequest(item.type, item.payload, via_hook=item.via_hook, seal=seal)
    return await send_command(
        activity.client(), item.workflow_id, request, command_id=item.command_id
    )


@activity.defn(name=HOST_SNAPSHOT_ACTIVITY)
async def host_snapshot(workflow_id: str, query: str = SNAPSHOT_QUERY) -> dict[str, Any]:
    """Query a host's snapshot (an entity's) or its shared state (any workflow's)."""
    if query not in (SNAPSHOT_QUERY, SHARED_QUERY):
        raise ApplicationError(f"not a host query: {query!r}", non_retryable=True)
    result: dict[str, Any] = (
        await activity.client().get_workflow_handle(workflow_id).query(query, result_type=dict)
    )
    return result


@activity.defn(name=STOP_HOOK_ACTIVITY)
async def stop_hook(hook_id: str, reason: str) -> None:
    """Terminate a hooked workflow nobody waits for; one that already ended is left alone."""
    try:
        await activity.client().get_workflow_handle(hook_id).terminate(reason=reason)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


#: Every activity the plugin registers on its workers.
ACTIVITIES = (deliver_command, host_dispatch, host_snapshot, stop_hook)
