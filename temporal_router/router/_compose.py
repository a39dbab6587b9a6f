"""Koa-style composition: ``(ctx, next)`` middleware around a terminal handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ._errors import NextCalledTwiceError

__all__ = ["compile_chain", "is_awaitable", "run_chain"]

C = TypeVar("C")


def is_awaitable(value: object) -> bool:
    """A cheap awaitable test for the hot path (``inspect.isawaitable`` is slower)."""
    return value is not None and hasattr(value, "__await__")


#: Awaiting a finished plain-``def`` step: an iterator that is already exhausted (so
#: one can be shared by every await).
_DONE = iter(())


class _Next:
    """The ``next`` one middleware call gets: calling it returns itself, awaiting it runs
    the rest of the chain. Both at most once (:class:`NextCalledTwiceError`).

    One object per layer and call, instead of a closure plus the awaitable it returns; and
    a plain-``def`` inner callable (the handler, usually) runs straight from ``__await__``,
    without a coroutine of its own.
    """

    __slots__ = ("_ctx", "_inner", "called", "started")

    def __init__(self, inner: Callable[[Any], Any], ctx: Any) -> None:
        self._inner = inner
        self._ctx = ctx
        self.called = False
        self.started = False

    def __call__(self) -> _Next:
        if self.called:
            raise NextCalledTwiceError()
        self.called = True
        return self

    def __await__(self) -> Any:
        if self.started:
            raise NextCalledTwiceError()
        self.started = True
        out = self._inner(self._ctx)
        if out is not None and hasattr(out, "__await__"):
            return out.__await__()
        return _DONE  # a plain-def inner callable is done already


def _terminal(terminal: Callable[[C], Any]) -> Callable[[C], Awaitable[None]]:
    async def run_terminal(ctx: C) -> None:
        out = terminal(ctx)
        if out is not None and hasattr(out, "__await__"):
            await out

    return run_terminal


def _layer(
    middleware: Callable[[C, Callable[[], _Next]], Any], inner: Callable[[C], Any]
) -> Callable[[C], Awaitable[None]]:
    async def layer(ctx: C) -> None:
        step = _Next(inner, ctx)
        out = middleware(ctx, step)
        if out is not None and hasattr(out, "__await__") and out is not step:
            await out
        # A plain-def middleware cannot await: `next()` without awaiting means "continue".
        if step.called and not step.started:
            await step

    return layer


def compile_chain(
    chain: Sequence[Callable[[C, Callable[[], _Next]], Any]], terminal: Callable[[C], Any]
) -> Callable[[C], Awaitable[None]]:
    """``chain`` (outermost first) around ``terminal``, nested once into one callable.

    Built once per route, so a dispatch pays only for the layers themselves.
    """
    if not chain:
        return _terminal(terminal)
    runner: Callable[[C], Any] = terminal  # sync or async: the innermost _Next handles both
    for middleware in reversed(chain):
        runner = _layer(middleware, runner)
    return runner


async def run_chain(
    chain: Sequence[Callable[[C, Callable[[], _Next]], Any]],
    terminal: Callable[[C], Any],
    ctx: C,
) -> None:
    """Run ``chain`` (outermost first) around ``terminal``; sync or async callables.

    A middleware that never calls ``next`` short-circuits the rest. Calling ``next`` twice
    (or awaiting what it returned twice) raises :class:`NextCalledTwiceError`. A plain
    ``def`` middleware cannot await, so a ``next()`` it calls (or returns) without awaiting
    runs when it returns.
    """
    await compile_chain(chain, terminal)(ctx)
