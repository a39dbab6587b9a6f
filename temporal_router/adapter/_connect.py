"""One way to get a connected Temporal client: a configured server, else an embedded dev server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client, Plugin
from temporalio.envconfig import ClientConfig

from ..testing import DevServer

__all__ = ["connect_client"]


@asynccontextmanager
async def connect_client(
    *,
    plugins: Sequence[Plugin] = (),
    namespace: str | None = None,
    address: str | None = None,
    dev_server: DevServer | None = None,
    env: Mapping[str, str] | None = None,
    **connect_kwargs: Any,
) -> AsyncIterator[Client]:
    """Connect a ``temporalio.client.Client``; async context manager.

    **Configured server.** When ``TEMPORAL_ADDRESS`` is set (or ``address`` is given), the
    connection settings come from Temporal's standard environment configuration,
    :mod:`temporalio.envconfig`, the same one the ``temporal`` CLI reads:

    - ``TEMPORAL_ADDRESS``: ``host:port`` of the frontend (e.g. ``ns.acct.tmprl.cloud:7233``).
    - ``TEMPORAL_NAMESPACE``: namespace (default ``default``).
    - ``TEMPORAL_API_KEY``: API key (Temporal Cloud); sent as a bearer token, turns TLS on.
    - ``TEMPORAL_TLS``: ``true``/``false`` to force TLS on or off.
    - ``TEMPORAL_TLS_CLIENT_CERT_PATH`` / ``TEMPORAL_TLS_CLIENT_CERT_DATA``: mTLS client cert.
    - ``TEMPORAL_TLS_CLIENT_KEY_PATH`` / ``TEMPORAL_TLS_CLIENT_KEY_DATA``: its private key.
    - ``TEMPORAL_TLS_SERVER_CA_CERT_PATH`` / ``TEMPORAL_TLS_SERVER_CA_CERT_DATA``: server CA.
    - ``TEMPORAL_TLS_SERVER_NAME``: TLS server name (SNI) override.
    - ``TEMPORAL_GRPC_META_<NAME>``: extra gRPC metadata header ``<name>``.
    - ``TEMPORAL_PROFILE`` and ``TEMPORAL_CONFIG_FILE``: profile and path of the TOML config
      file (default ``~/.config/temporalio/temporal.toml``), which supplies whatever the
      variables above leave unset.

    Precedence: the arguments of this function, then the variables, then the file.

    **Embedded dev server.** Otherwise a :class:`DevServer` (in-memory, 127.0.0.1, free port,
    router search attributes registered) is started, or the ``dev_server`` you pass is used,
    started if needed. A server started here is stopped when the ``async with`` block exits.
    The namespace is ``namespace``, else ``TEMPORAL_NAMESPACE``, else ``default``; it is
    created on the server. No other variable is read in this mode.

    Args:
        plugins: Client plugins, e.g. ``[RouterPlugin(router)]``; workers built from the
            client inherit them.
        namespace: Namespace; overrides ``TEMPORAL_NAMESPACE``.
        address: ``host:port``; overrides ``TEMPORAL_ADDRESS`` and selects the configured-server
            mode.
        dev_server: The embedded server to use when no address is configured.
        env: Environment to read instead of ``os.environ``.
        **connect_kwargs: Passed on to ``Client.connect`` (``data_converter``, ``interceptors``,
            ``identity``, ``tls``, ``api_key``, ...); they override the environment.

    Example::

        async with connect_client(plugins=[RouterPlugin(router)]) as client:
            async with Worker(client, task_queue="orders"):
                ...
    """
    environ = os.environ if env is None else env
    if address is not None or environ.get("TEMPORAL_ADDRESS"):
        config: dict[str, Any] = dict(
            ClientConfig.load_client_connect_config(
                override_env_vars=None if env is None else dict(env)
            )
        )
        target = address or config.pop("target_host", None)
        config.pop("target_host", None)
        if not target:
            raise ValueError("TEMPORAL_ADDRESS is empty")
        if namespace is not None:
            config["namespace"] = namespace
        config.update(connect_kwargs)
        yield await Client.connect(target, plugins=list(plugins), **config)
        return

    namespace = namespace or environ.get("TEMPORAL_NAMESPACE") or "default"
    owned = dev_server is None or not dev_server.running
    if dev_server is None:
        dev_server = DevServer(namespaces=[namespace])
    elif namespace not in dev_server.namespaces:
        raise ValueError(
            f"namespace {namespace!r} is not created by {dev_server!r}; "
            f"pass DevServer(namespaces=[{namespace!r}])"
        )
    if owned:
        await dev_server.start()
    try:
        yield await Client.connect(
            dev_server.target, namespace=namespace, plugins=list(plugins), **connect_kwargs
        )
    finally:
        if owned:
            await dev_server.stop()
