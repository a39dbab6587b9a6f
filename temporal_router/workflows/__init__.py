"""Everything that runs inside a Temporal workflow: entities and durable hooks.

- The entity workflow: one long-running workflow per entity, commands as the ``dispatch``
  Update; ``RouterPlugin`` makes one workflow class per router.
- The durable hook primitives, after HotMesh: :func:`hook`, :func:`exec_hook`,
  :func:`exec_hook_batch`, :func:`wait_for`, :func:`signal`, with :class:`HookConfig` and
  the :class:`HookError` family; :func:`dispatch_to_host` and :func:`host_snapshot` for a
  hooked workflow that talks to its host entity; :func:`shared_state`,
  :func:`host_state` and :func:`update_host_state` for a small state any workflow shares
  with its hooks.
- The wire protocol for clients written without ``RouterClient``: the entity's Update and
  query names with their messages, and the hook signals with theirs.
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

from typing import Any as _Any

from .._compat import moved_attribute as _moved_attribute
from ._config import HookConfig
from ._errors import (
    HookError,
    HookFailed,
    HookLoopError,
    HookRequestError,
    HookTargetError,
    HookTimeoutError,
)
from ._hooks import (
    dispatch_to_host,
    exec_hook,
    exec_hook_batch,
    hook,
    host_snapshot,
    signal,
    wait_for,
)
from ._limits import LIMITS, Limits
from ._messages import (
    DISPATCH_UPDATE,
    HOOK_REQUEST_SIGNAL,
    HOOK_REQUEST_UPDATE,
    HOOK_SIGNAL,
    SHARED_QUERY,
    SHARED_SIGNAL,
    SNAPSHOT_QUERY,
    DispatchReply,
    DispatchRequest,
    HookAnswer,
    HookRequest,
    SharedChange,
)
from ._search import ROUTER_DEFINITION, ROUTER_STATE, SEARCH_ATTRIBUTES
from ._shared import host_state, shared_state, update_host_state

__all__ = [
    "DISPATCH_UPDATE",
    "HOOK_REQUEST_SIGNAL",
    "HOOK_REQUEST_UPDATE",
    "HOOK_SIGNAL",
    "LIMITS",
    "ROUTER_DEFINITION",
    "ROUTER_STATE",
    "SEARCH_ATTRIBUTES",
    "SHARED_QUERY",
    "SHARED_SIGNAL",
    "SNAPSHOT_QUERY",
    "DispatchReply",
    "DispatchRequest",
    "HookAnswer",
    "HookConfig",
    "HookError",
    "HookFailed",
    "HookLoopError",
    "HookRequest",
    "HookRequestError",
    "HookTargetError",
    "HookTimeoutError",
    "Limits",
    "SharedChange",
    "dispatch_to_host",
    "exec_hook",
    "exec_hook_batch",
    "hook",
    "host_snapshot",
    "host_state",
    "shared_state",
    "signal",
    "update_host_state",
    "wait_for",
]

#: Names this package exported before the Temporal half was split; they are internal now
#: (``RouterPlugin`` makes entity workflows, ``RouterClient`` speaks the messages).
_MOVED = {
    **dict.fromkeys(
        ["EntityOptions", "EntityWorkflow", "entity_workflow_class"],
        "temporal_router.workflows._entity",
    ),
    **dict.fromkeys(
        ["CreateSpec", "EntityInput", "WireError", "reply_to_result", "result_to_reply"],
        "temporal_router.workflows._messages",
    ),
    "REJECTION_TYPE": "temporal_router.workflows._messages",
    "parse_duration": "temporal_router.workflows._config",
    "signal_info": "temporal_router.workflows._hooks",
}


def __getattr__(name: str) -> _Any:
    return _moved_attribute(__name__, _MOVED, name)
