"""temporal-router on Temporal, client and worker side: the plugin, the client, interceptors.

What runs inside workflows (the entity workflow, the durable hook primitives) is
:mod:`temporal_router.workflows`; the embedded dev server is in :mod:`temporal_router.testing`.

Example::

    client = await Client.connect("127.0.0.1:7233", plugins=[RouterPlugin(order_router)])
    async with Worker(client, task_queue="orders"):
        orders = RouterClient(client, order_router, task_queue="orders")
        await orders.create("o-1", initial_state="Placed", data={"total": 30})
"""

from typing import Any as _Any

from .._compat import moved_attribute as _moved_attribute
from ._client import EntityListing, RouterClient, Snapshot
from ._codec import EncryptionCodec
from ._connect import connect_client
from ._credentials import (
    CREDENTIAL_HEADER,
    CallerVerifier,
    CredentialError,
    CredentialSource,
    JwtVerifier,
    SharedSecretSigner,
    SharedSecretVerifier,
    StaticToken,
)
from ._extension import RouterExtension
from ._hook_client import HookClient
from ._interceptor import CALLER_HEADER, RouterInterceptor
from ._plugin import PASSTHROUGH_MODULES, RouterPlugin
from ._trust import KeyRing, TrustPolicy

__all__ = [
    "CALLER_HEADER",
    "CREDENTIAL_HEADER",
    "PASSTHROUGH_MODULES",
    "CallerVerifier",
    "CredentialError",
    "CredentialSource",
    "EncryptionCodec",
    "EntityListing",
    "HookClient",
    "JwtVerifier",
    "KeyRing",
    "RouterClient",
    "RouterExtension",
    "RouterInterceptor",
    "RouterPlugin",
    "SharedSecretSigner",
    "SharedSecretVerifier",
    "Snapshot",
    "StaticToken",
    "TrustPolicy",
    "connect_client",
]

#: Names that moved to the subpackage where they run; importing them from here still works,
#: with a DeprecationWarning naming the new place.
_MOVED = {
    **dict.fromkeys(
        [
            "HookConfig",
            "HookLoopError",
            "ROUTER_DEFINITION",
            "ROUTER_STATE",
            "SEARCH_ATTRIBUTES",
            "dispatch_to_host",
            "exec_hook",
            "exec_hook_batch",
            "hook",
            "host_snapshot",
            "parse_duration",
            "signal",
            "wait_for",
        ],
        "temporal_router.workflows",
    ),
    **dict.fromkeys(
        ["DevServer", "DevServerError", "find_temporal_cli"], "temporal_router.testing"
    ),
}


def __getattr__(name: str) -> _Any:
    return _moved_attribute(__name__, _MOVED, name)
