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


class _Step:
    """The awaitable ``next()`` returns; runs the rest of the chain at most once."""

    __slots__ = ("_ctx", "_inner", "started")

    def __init__(self, inner: Callable[[Any], Awaitable[None]], ctx: Any) -> None:
        self._inner = inner
        self._ctx = ctx
        self.started = False

    def __await__(self) -> Any:
        if self.started:
            raise NextCalledTwiceError()
        self.started = True
        return self._inner(self._ctx).__await__()


def _terminal(terminal: Callable[[C], Any]) -> Callable[[C], Awaitable[None]]:
    async def run_terminal(ctx: C) -> None:
        out = terminal(ctx)
        if out is not None and hasattr(out, "__await__"):
            await out

    return run_terminal


def _layer(
    middleware: Callable[[C, Callable[[], _Step]], Any], inner: Callable[[C], Awaitable[None]]
) -> Callable[[C], Awaitable[None]]:
    async def layer(ctx: C) -> None:
        step: _Step | None = None

        def next_() -> _Step:
            nonlocal step
            if step is not None:
                raise NextCalledTwiceError()
            step = _Step(inner, ctx)
            return step

        out = middleware(ctx, next_)
        if out is not None and hasattr(out, "__await__") and out is not step:
            await out
        # A plain-def middleware cannot await: `next()` without awaiting means "continue".
        if step is not None and not step.started:
            await step

    return layer


def compile_chain(
    chain: Sequence[Callable[[C, Callable[[], _Step]], Any]], terminal: Callable[[C], Any]
) -> Callable[[C], Awaitable[None]]:
    """``chain`` (outermost first) around ``terminal``, nested once into one callable.

    Built once per route, so a dispatch pays only for the layers themselves.
    """
    runner = _terminal(terminal)
    for middleware in reversed(chain):
        runner = _layer(middleware, runner)
    return runner


async def run_chain(
    chain: Sequence[Callable[[C, Callable[[], _Step]], Any]],
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
