"""temporal-router on Temporal: the plugin, the client, hooks, interceptors and a dev server."""

from ._client import EntityListing, RouterClient, Snapshot
from ._codec import EncryptionCodec
from ._connect import connect_client
from ._dev import DevServer, DevServerError, find_temporal_cli
from ._extension import RouterExtension
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
from ._interceptor import CALLER_HEADER, RouterInterceptor
from ._plugin import PASSTHROUGH_MODULES, RouterPlugin
from ._search import ROUTER_DEFINITION, ROUTER_STATE, SEARCH_ATTRIBUTES

__all__ = [
    "CALLER_HEADER",
    "PASSTHROUGH_MODULES",
    "ROUTER_DEFINITION",
    "ROUTER_STATE",
    "SEARCH_ATTRIBUTES",
    "DevServer",
    "DevServerError",
    "EncryptionCodec",
    "EntityListing",
    "HookConfig",
    "HookLoopError",
    "RouterClient",
    "RouterExtension",
    "RouterInterceptor",
    "RouterPlugin",
    "Snapshot",
    "connect_client",
    "dispatch_to_host",
    "exec_hook",
    "exec_hook_batch",
    "find_temporal_cli",
    "hook",
    "host_snapshot",
    "parse_duration",
    "signal",
    "wait_for",
]
