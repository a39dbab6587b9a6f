"""The one path that sends a command to an entity and reads its reply.

``RouterClient.dispatch``, a hook's ``dispatch_to_host`` (through its activity) and the
reactor's delivery activity all send commands with :func:`send_command`, so a command
travels one way whoever sends it: the ``dispatch`` Update with the command id as update id
(exactly once), optionally with the entity's start (update-with-start), and a refusal by
the entity's validator read back as a failed reply.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from ..workflows import DISPATCH_UPDATE, DispatchReply, DispatchRequest

# How the entity's validator words a refusal, and what its replies leave out for the
# sender to put back: internal to the workflows package and the sending side, not public.
from ..workflows._messages import REJECTION_TYPE, WireError, complete_reply

__all__ = ["rejection_of", "send_command"]


async def send_command(
    client: Client,
    workflow_id: str,
    request: DispatchRequest | RawValue,
    *,
    command_id: str,
    start: WithStartWorkflowOperation[Any, Any] | None = None,
) -> DispatchReply:
    """Send ``request`` to entity ``workflow_id`` as command ``command_id``; its reply.

    With ``start``, the entity is started first if it does not exist (update-with-start).
    A command the entity refused before applying it (unknown command, invalid payload,
    stale version) comes back as a failed reply, like a business failure.

    Raises:
        temporalio.service.RPCError: the server refused the call (``NOT_FOUND``: no such
            entity; ``RESOURCE_EXHAUSTED``: too many commands in flight), or is unreachable.
        temporalio.client.WorkflowUpdateFailedError: the Update failed for another reason
            than a refusal (the entity's workflow task failed).
    """
    try:
        if start is not None:
            reply: DispatchReply = await client.execute_update_with_start_workflow(
                DISPATCH_UPDATE,
                request,
                start_workflow_operation=start,
                id=command_id,
                result_type=DispatchReply,
            )
        else:
            reply = await client.get_workflow_handle(workflow_id).execute_update(
                DISPATCH_UPDATE, request, id=command_id, result_type=DispatchReply
            )
    except WorkflowUpdateFailedError as exc:
        wire = rejection_of(exc)
        if wire is None:
            raise
        return DispatchReply(ok=False, error=wire)
    except BaseException:
        if start is not None:
            await _settle(start)
        raise
    return complete_reply(reply, workflow_id)


async def _settle(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """Read the outcome of a start that failed with its update, so that asyncio does not
    log "Future exception was never retrieved" with the server's error a second time."""
    reader = asyncio.ensure_future(start.workflow_handle())
    # Awaiting a finished future does not yield: one turn of the loop settles the reader.
    await asyncio.sleep(0)
    if reader.done():
        if not reader.cancelled():
            reader.exception()
    else:  # the start never ran (the call failed before reaching the server)
        reader.cancel()


def rejection_of(exc: WorkflowUpdateFailedError) -> WireError | None:
    """The error of a command the entity's validator refused, or None for another failure."""
    cause = exc.cause
    if isinstance(cause, ApplicationError) and cause.type == REJECTION_TYPE and cause.details:
        detail = cause.details[0]
        if isinstance(detail, WireError):
            return detail
        if isinstance(detail, dict):
            return WireError(**detail)
    return None
