"""temporal-router on Temporal: the plugin, the client, hooks, interceptors and a dev server."""

from ._client import EntityListing, RouterClient, Snapshot
from ._hooks import (
    HookConfig,
    HookLoopError,
    dispatch_to_host,
    exec_hook,
    exec_hook_batch,
    hook,
    host_snapshot,
    parse_duration,
    signal,
    wait_for,
)
from ._interceptor import RouterWorkerInterceptor
from ._plugin import PASSTHROUGH_MODULES, RouterPlugin

__all__ = [
    "PASSTHROUGH_MODULES",
    "EntityListing",
    "HookConfig",
    "HookLoopError",
    "RouterClient",
    "RouterPlugin",
    "RouterWorkerInterceptor",
    "Snapshot",
    "dispatch_to_host",
    "exec_hook",
    "exec_hook_batch",
    "hook",
    "host_snapshot",
    "parse_duration",
    "signal",
    "wait_for",
]
