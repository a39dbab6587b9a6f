"""Lifecycle hooks: the events, their registered callbacks, and emitting them.

:class:`HookEmitter` is the router's hook half (``WorkflowRouter`` inherits it): it keeps
each event's callbacks with how many arguments each takes, and emits an event by calling
them in order. Plain-``def`` callbacks cost no coroutine; the first callback that returns an
awaitable hands the rest of the emit to a coroutine. A failing callback is reported to
``on_hook_error`` (default: logged) and never stops the others, nor the dispatch.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final, Literal, TypeAlias

from ._compose import is_awaitable

__all__ = ["HOOK_EVENTS", "Callbacks", "HookEmitter", "HookEvent"]

logger = logging.getLogger("temporal_router")

HookEvent: TypeAlias = Literal[
    "dispatch:start",
    "dispatch:end",
    "pipeline:start",
    "pipeline:end",
    "transition",
    "error",
    "event",
]

#: Each hook event and the arguments its callbacks receive, in order. A callback may accept
#: fewer positional arguments; it gets the leading ones.
HOOK_EVENTS: Final[dict[str, tuple[str, ...]]] = {
    "dispatch:start": ("workflow", "command"),
    "dispatch:end": ("workflow", "command", "result"),
    "pipeline:start": ("ctx",),
    "pipeline:end": ("ctx", "result"),
    "transition": ("from_state", "to_state", "workflow"),
    "error": ("error", "ctx"),
    "event": ("event", "workflow"),
}

#: The callbacks of one hook event, with how many arguments each takes (None: all).
Callbacks: TypeAlias = tuple[tuple[Callable[..., Any], int | None], ...]


def _after(callbacks: Callbacks, entry: tuple[Callable[..., Any], int | None]) -> int:
    """The position after ``entry`` in ``callbacks`` (by identity: equal entries repeat)."""
    return next(i for i, item in enumerate(callbacks) if item is entry) + 1


def _positional_capacity(fn: Callable[..., Any]) -> int | None:
    """How many positional arguments ``fn`` accepts (None: any number, or unknowable)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class HookEmitter:
    """The registered lifecycle hooks and their emission (a base of ``WorkflowRouter``)."""

    def __init__(self, on_hook_error: Callable[[BaseException], Any] | None) -> None:
        self.on_hook_error = on_hook_error
        self._hooks: dict[str, list[tuple[Callable[..., Any], int]]] = {e: [] for e in HOOK_EVENTS}
        #: ``_hooks`` as tuples, what dispatch iterates; replaced (never mutated) on change.
        self._emits: dict[str, Callbacks] = {e: () for e in HOOK_EVENTS}
        #: ``_emits`` in ``HOOK_EVENTS`` order, for dispatch to unpack in one go.
        self._emit_table: tuple[Callbacks, ...] = tuple(self._emits.values())
        #: Whether a pipeline hook is registered (only then is a ReadonlyContext built).
        self._pipeline_hooks = False

    def _add_hook(self, event: str, callback: Callable[..., Any]) -> None:
        wanted = len(HOOK_EVENTS[event])
        capacity = _positional_capacity(callback)
        self._hooks[event].append((callback, wanted if capacity is None else min(capacity, wanted)))
        self._hooks_changed()

    def _extend_hooks(self, other: HookEmitter) -> None:
        """Append ``other``'s callbacks after ours, event by event."""
        for event, callbacks in other._hooks.items():
            self._hooks[event].extend(callbacks)
        self._hooks_changed()

    def _hooks_changed(self) -> None:
        # Callbacks that take every argument get None: called with the args tuple itself.
        self._emits = {
            event: tuple(
                (callback, None if arity == len(HOOK_EVENTS[event]) else arity)
                for callback, arity in callbacks
            )
            for event, callbacks in self._hooks.items()
        }
        self._emit_table = tuple(self._emits[event] for event in HOOK_EVENTS)
        self._pipeline_hooks = any(
            self._emits[event] for event in ("pipeline:start", "pipeline:end", "error")
        )

    async def _emit(self, event: str, args: tuple[Any, ...]) -> None:
        pending = self._emit_sync(self._emits[event], args)
        if pending is not None:
            await pending

    def _emit_sync(self, callbacks: Callbacks, args: tuple[Any, ...]) -> Awaitable[None] | None:
        """Call ``callbacks`` (an event's, from ``_emits``) until one returns an awaitable;
        hand back the rest.

        Plain-``def`` hooks (the usual telemetry hooks) then cost no coroutine at all. The
        callbacks are the tuple of when the emit starts: a hook registering another hook
        does not change this emit.
        """
        for entry in callbacks:  # no enumerate: the position is needed only off the hot path
            callback, arity = entry
            try:
                out = callback(*args) if arity is None else callback(*args[:arity])
            except Exception as exc:
                return self._finish_emit(callbacks, _after(callbacks, entry), args, None, exc)
            if out is not None and hasattr(out, "__await__"):
                return self._finish_emit(callbacks, _after(callbacks, entry), args, out, None)
        return None

    async def _finish_emit(
        self,
        callbacks: Callbacks,
        start: int,
        args: tuple[Any, ...],
        pending: Any,
        error: Exception | None,
    ) -> None:
        if error is not None:
            await self._report_hook_error(error)
        if pending is not None:
            try:
                await pending
            except Exception as exc:
                await self._report_hook_error(exc)
        for callback, arity in callbacks[start:]:
            try:
                out = callback(*args) if arity is None else callback(*args[:arity])
                if is_awaitable(out):
                    await out
            except Exception as exc:
                await self._report_hook_error(exc)

    async def _report_hook_error(self, exc: Exception) -> None:
        if self.on_hook_error is None:
            logger.error("lifecycle hook failed", exc_info=exc)
            return
        try:
            out = self.on_hook_error(exc)
            if is_awaitable(out):
                await out
        except Exception:
            # The error reporter itself failed: dispatch must still never raise.
            logger.exception("on_hook_error raised while reporting a hook failure")
