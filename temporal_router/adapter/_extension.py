"""Extensions: one object that ships Temporal interceptors, router middleware and hooks."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import temporalio.client
import temporalio.worker

from ..router import HOOK_EVENTS, PLUGIN_BRAND, ConfigurationError, Middleware, WorkflowRouter

__all__ = ["RouterExtension"]

Interceptor = temporalio.client.Interceptor | temporalio.worker.Interceptor


class RouterExtension:
    """A third-party bundle of cross-cutting code, installed in one line.

    Pass it to ``RouterPlugin(router, extensions=[ext])``: its Temporal ``interceptors`` go
    on clients and workers (after temporal-router's own, so they see the caller context),
    and its router ``middleware`` and lifecycle ``hooks`` are added to every router the
    plugin hosts. It is also a router plugin: ``router.use(ext)`` adds the middleware and
    hooks alone (for plain in-memory use). Applying it twice to one router adds nothing twice.

    Order: Temporal interceptors wrap the whole update; router middleware runs inside it,
    as global middleware in the order given, after any global middleware the router had.

    Example::

        audit = RouterExtension(
            "audit",
            middleware=[audit_middleware],
            hooks={"transition": record_transition},
            interceptors=[AuditInterceptor()],
        )
        client = await Client.connect(address, plugins=[RouterPlugin(orders, extensions=[audit])])
    """

    def __init__(
        self,
        name: str,
        *,
        middleware: Sequence[Middleware] = (),
        hooks: Mapping[str, Callable[..., Any] | Sequence[Callable[..., Any]]] | None = None,
        interceptors: Sequence[Interceptor] = (),
    ) -> None:
        if not name:
            raise ConfigurationError("RouterExtension needs a name")
        for mw in middleware:
            if not callable(mw):
                raise ConfigurationError(f"extension {name!r}: middleware {mw!r} is not callable")
        normalized: dict[str, list[Callable[..., Any]]] = {}
        for event, callbacks in (hooks or {}).items():
            if event not in HOOK_EVENTS:
                raise ConfigurationError(
                    f"extension {name!r}: unknown hook event {event!r} (known: {', '.join(HOOK_EVENTS)})"
                )
            listed = [callbacks] if callable(callbacks) else list(callbacks)
            for cb in listed:
                if not callable(cb):
                    raise ConfigurationError(f"extension {name!r}: hook {cb!r} is not callable")
            normalized[event] = listed
        for interceptor in interceptors:
            if not isinstance(
                interceptor, (temporalio.client.Interceptor, temporalio.worker.Interceptor)
            ):
                raise ConfigurationError(
                    f"extension {name!r}: {interceptor!r} is not a temporalio client or worker Interceptor"
                )
        self.name = name
        self.middleware = tuple(middleware)
        self.hooks = normalized
        self.interceptors = tuple(interceptors)
        self._applied: weakref.WeakSet[WorkflowRouter] = weakref.WeakSet()
        setattr(self, PLUGIN_BRAND, True)

    def __repr__(self) -> str:
        return f"RouterExtension({self.name!r})"

    def __call__(self, router: WorkflowRouter) -> None:
        """Add the middleware and hooks to ``router`` (once)."""
        if router in self._applied:
            return
        self._applied.add(router)
        for mw in self.middleware:
            router.use(mw)
        for event, callbacks in self.hooks.items():
            for cb in callbacks:
                router.on(event, cb)  # type: ignore[call-overload]
