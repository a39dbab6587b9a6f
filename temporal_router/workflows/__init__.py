"""Everything that runs inside a Temporal workflow: entities and durable hooks.

- The entity workflow: one long-running workflow per entity, commands as the ``dispatch``
  Update, made per router by :func:`entity_workflow_class` (``RouterPlugin`` does it).
- The durable hook primitives, after HotMesh: :func:`hook`, :func:`exec_hook`,
  :func:`exec_hook_batch`, :func:`wait_for`, :func:`signal`, with :class:`HookConfig` and
  the :class:`HookError` family; :func:`dispatch_to_host` and :func:`host_snapshot` for a
  hooked workflow that talks to its host entity.
- The wire protocol: the names and typed messages an entity and its hooks exchange, for
  clients written without :class:`~temporal_router.adapter.RouterClient`.
- The search attributes entities keep up to date.

This package imports :mod:`temporal_router.router` and ``temporalio`` only: never the
adapter, which is the client and worker side.

Example::

    from temporalio import workflow
    from temporal_router.workflows import exec_hook

    @workflow.defn
    class Checkout:
        @workflow.run
        async def run(self, order_id: str) -> str:
            answer = await exec_hook(task_queue="payments", workflow_name="Charge",
                                     args=[order_id], timeout="5m")
            return answer["receipt"]
"""

from ._config import HookConfig, parse_duration
from ._entity import EntityOptions, EntityWorkflow, entity_workflow_class
from ._errors import HookError, HookFailed, HookLoopError, HookTargetError, HookTimeoutError
from ._hooks import (
    dispatch_to_host,
    exec_hook,
    exec_hook_batch,
    hook,
    host_snapshot,
    signal,
    signal_info,
    wait_for,
)
from ._messages import (
    DISPATCH_UPDATE,
    HOOK_REQUEST_SIGNAL,
    HOOK_SIGNAL,
    REJECTION_TYPE,
    SNAPSHOT_QUERY,
    CreateSpec,
    DispatchReply,
    DispatchRequest,
    EntityInput,
    HookAnswer,
    HookRequest,
    WireError,
)
from ._search import ROUTER_DEFINITION, ROUTER_STATE, SEARCH_ATTRIBUTES

__all__ = [
    "DISPATCH_UPDATE",
    "HOOK_REQUEST_SIGNAL",
    "HOOK_SIGNAL",
    "REJECTION_TYPE",
    "ROUTER_DEFINITION",
    "ROUTER_STATE",
    "SEARCH_ATTRIBUTES",
    "SNAPSHOT_QUERY",
    "CreateSpec",
    "DispatchReply",
    "DispatchRequest",
    "EntityInput",
    "EntityOptions",
    "EntityWorkflow",
    "HookAnswer",
    "HookConfig",
    "HookError",
    "HookFailed",
    "HookLoopError",
    "HookRequest",
    "HookTargetError",
    "HookTimeoutError",
    "WireError",
    "dispatch_to_host",
    "entity_workflow_class",
    "exec_hook",
    "exec_hook_batch",
    "hook",
    "host_snapshot",
    "parse_duration",
    "signal",
    "signal_info",
    "wait_for",
]
