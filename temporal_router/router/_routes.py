"""The route table's parts: registered handlers, the per-state builder, resolved routes.

A registration (``state(...).on(...)`` or ``on("*", ...)``) is checked and stored as an
:class:`Entry` (inline middleware and handler) in a per-state :class:`StateHandlers`;
``WorkflowRouter`` resolves a ``(state, command)`` pair from those into a :class:`Route`
with its chain compiled once.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar, overload

from ._compose import compile_chain
from ._context import Context
from ._errors import ConfigurationError

if TYPE_CHECKING:
    from ._router import WorkflowRouter

__all__ = [
    "Entry",
    "Handler",
    "Middleware",
    "Next",
    "Route",
    "StateBuilder",
    "StateHandlers",
    "check_callable",
    "describe",
    "make_entry",
]

Next: TypeAlias = Callable[[], Awaitable[None]]
Handler: TypeAlias = Callable[[Context], Any]
Middleware: TypeAlias = Callable[[Context, Next], Any]
F = TypeVar("F", bound=Callable[..., Any])


def describe(fn: object) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


def check_callable(fn: object, role: str, arity: int, where: str) -> None:
    if not callable(fn):
        raise ConfigurationError(f"{where}: {role} must be callable, got {fn!r}")
    try:
        inspect.signature(fn).bind(*([None] * arity))
    except TypeError as exc:
        args = "(ctx)" if arity == 1 else "(ctx, next)"
        raise ConfigurationError(
            f"{where}: {role} {describe(fn)} must accept {args}: {exc}"
        ) from None
    except ValueError:  # builtins without a signature: trust them
        pass


@dataclass(slots=True)
class Entry:
    inline: tuple[Middleware, ...]
    handler: Handler


def make_entry(fns: Sequence[Callable[..., Any]], where: str) -> Entry:
    """``fns`` checked as inline middleware then the handler (the last one)."""
    *inline, handler = fns
    for mw in inline:
        check_callable(mw, "inline middleware", 2, where)
    check_callable(handler, "handler", 1, where)
    return Entry(tuple(inline), handler)


@dataclass(slots=True)
class StateHandlers:
    handlers: dict[str, Entry] = field(default_factory=dict)
    middleware: list[Middleware] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Route:
    """A resolved route: the middleware chain (outermost first) and the handler."""

    state: str
    command: str
    kind: Literal["single", "multi", "wildcard"]
    chain: tuple[Middleware, ...]
    handler: Handler
    #: The chain and handler compiled into one callable (built once, when the route is).
    run: Callable[[Context], Awaitable[None]] = field(init=False, repr=False, compare=False)
    #: The outermost middleware (None without middleware) and the rest of the chain
    #: compiled: dispatch runs the outermost layer itself, saving a coroutine.
    _outer: Middleware | None = field(init=False, repr=False, compare=False)
    _inner: Callable[[Context], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "run", compile_chain(self.chain, self.handler))
        if self.chain:
            object.__setattr__(self, "_outer", self.chain[0])
            inner = compile_chain(self.chain[1:], self.handler) if self.chain[1:] else self.handler
            object.__setattr__(self, "_inner", inner)
        else:
            object.__setattr__(self, "_outer", None)
            object.__setattr__(self, "_inner", self.handler)


class StateBuilder:
    """Registers handlers and middleware for one or more states.

    Get one from :meth:`WorkflowRouter.state`. ``on(command, *fns)``: the last function is
    the handler, earlier ones are inline middleware; with no functions it returns a
    decorator. ``use(middleware)`` adds state middleware.

    Example::

        todo = router.state("Todo")
        todo.use(audit)

        @todo.on("Start")
        async def start(ctx: Context) -> None: ...
    """

    def __init__(self, router: WorkflowRouter, states: Sequence[str], kind: str) -> None:
        self._router = router
        self._states = tuple(states)
        self._kind = kind

    def __repr__(self) -> str:
        return f"StateBuilder({list(self._states)!r})"

    @overload
    def on(self, command: str) -> Callable[[F], F]: ...
    @overload
    def on(self, command: str, *fns: Callable[..., Any]) -> StateBuilder: ...
    def on(self, command: str, *fns: Callable[..., Any]) -> StateBuilder | Callable[[F], F]:
        """Register the handler (last of ``fns``) and inline middleware for ``command``."""
        router = self._router
        where = f"state({self._label()}).on({command!r})"
        router._check_command(command, where)
        if not fns:

            def decorator(fn: F) -> F:
                self.on(command, fn)
                return fn

            return decorator
        entry = make_entry(fns, where)
        for state in self._states:
            router._builder(self._kind, state).handlers[command] = entry
        router._changed()
        return self

    def use(self, middleware: Middleware) -> StateBuilder:
        """Add state middleware; it applies to every handler matched in these states."""
        check_callable(middleware, "middleware", 2, f"state({self._label()}).use")
        for state in self._states:
            self._router._builder(self._kind, state).middleware.append(middleware)
        self._router._changed()
        return self

    def _label(self) -> str:
        return repr(self._states[0]) if self._kind == "single" else repr(list(self._states))
