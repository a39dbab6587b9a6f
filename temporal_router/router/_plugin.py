"""Plugins: functions that configure a router, told apart from middleware by a brand."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._router import WorkflowRouter

__all__ = ["PLUGIN_BRAND", "Plugin", "define_plugin", "is_plugin"]

#: The attribute that marks a plugin. A string, not an object identity, so that plugins
#: branded by another copy of the library (a vendored one, or one re-imported by the
#: Temporal sandbox) are still recognised.
PLUGIN_BRAND = "__temporal_router_plugin__"

Plugin = Callable[["WorkflowRouter"], Any]
P = TypeVar("P", bound=Callable[..., Any])


def define_plugin(fn: P) -> P:
    """Brand ``fn`` as a plugin so that ``router.use(fn)`` calls it with the router.

    Returns the same function object. Plugins run synchronously, once, at ``use()`` time.

    Example::

        @define_plugin
        def logging_plugin(router: WorkflowRouter) -> None:
            router.on("transition", lambda frm, to, wf: print(f"{frm} -> {to}"))

        router.use(logging_plugin)
    """
    if not callable(fn):
        raise TypeError(f"define_plugin() needs a callable, got {fn!r}")
    setattr(fn, PLUGIN_BRAND, True)
    return fn


def is_plugin(value: object) -> bool:
    """True if ``value`` is a callable branded by :func:`define_plugin`."""
    return callable(value) and getattr(value, PLUGIN_BRAND, False) is True
