"""temporal-router on Temporal: the plugin, the client, hooks, interceptors and a dev server."""

from ._client import EntityListing, RouterClient, Snapshot
from ._plugin import PASSTHROUGH_MODULES, RouterPlugin

__all__ = [
    "PASSTHROUGH_MODULES",
    "EntityListing",
    "RouterClient",
    "RouterPlugin",
    "Snapshot",
]
