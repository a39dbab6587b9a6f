"""Koa-style composition: ``(ctx, next)`` middleware around a terminal handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from ._errors import NextCalledTwiceError

__all__ = ["is_awaitable", "run_chain"]

C = TypeVar("C")


def is_awaitable(value: object) -> bool:
    """A cheap awaitable test for the hot path (``inspect.isawaitable`` is slower)."""
    return value is not None and hasattr(value, "__await__")


class _Step:
    """The awaitable ``next()`` returns; runs the rest of the chain at most once."""

    __slots__ = ("_run", "started")

    def __init__(self, run: Callable[[], Awaitable[None]]) -> None:
        self._run = run
        self.started = False

    def __await__(self) -> Any:
        if self.started:
            raise NextCalledTwiceError()
        self.started = True
        return self._run().__await__()


async def run_chain(
    chain: Sequence[Callable[[C, Callable[[], _Step]], Any]],
    terminal: Callable[[C], Any],
    ctx: C,
) -> None:
    """Run ``chain`` (outermost first) around ``terminal``; sync or async callables.

    A middleware that never calls ``next`` short-circuits the rest. Calling ``next`` twice
    raises :class:`NextCalledTwiceError`. A plain ``def`` middleware cannot await, so a
    ``next()`` it calls (or returns) without awaiting runs when it returns.
    """
    depth = len(chain)
    if depth == 0:
        out = terminal(ctx)
        if is_awaitable(out):
            await out
        return

    async def call(i: int) -> None:
        if i == depth:
            out = terminal(ctx)
            if is_awaitable(out):
                await out
            return
        step: _Step | None = None

        def next_() -> _Step:
            nonlocal step
            if step is not None:
                raise NextCalledTwiceError()
            step = _Step(lambda: call(i + 1))
            return step

        out = chain[i](ctx, next_)
        if is_awaitable(out) and out is not step:
            await out
        if step is not None and not step.started:
            await step

    await call(0)
