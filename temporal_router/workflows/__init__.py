"""The Temporal workflow classes the adapter registers: entity hosts (and hook machinery)."""

# The entity module uses the adapter's hook and search-attribute modules, and the adapter's
# package imports the entity module back. Starting from the adapter is the one order in which
# each side finds the other complete, so ``import temporal_router.workflows`` first (or a
# sandbox re-importing ``_entity``) goes through the adapter too.
from .. import adapter as _adapter  # noqa: F401  (import order, see above)
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
