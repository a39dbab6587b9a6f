"""The Temporal workflow classes the adapter registers: entity hosts (and hook machinery)."""

from ._entity import (
    DISPATCH_UPDATE,
    SNAPSHOT_QUERY,
    EntityOptions,
    EntityWorkflow,
    entity_workflow_class,
)
from ._messages import (
    CreateSpec,
    DispatchReply,
    DispatchRequest,
    EntityInput,
    reply_to_result,
    result_to_reply,
)

__all__ = [
    "DISPATCH_UPDATE",
    "SNAPSHOT_QUERY",
    "CreateSpec",
    "DispatchReply",
    "DispatchRequest",
    "EntityInput",
    "EntityOptions",
    "EntityWorkflow",
    "entity_workflow_class",
    "reply_to_result",
    "result_to_reply",
]
