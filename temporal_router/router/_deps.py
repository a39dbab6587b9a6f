"""Dependency wrapping: failures of injected dependencies become category ``dependency``.

``ctx.deps`` is a proxy over the object given to the router. Calling any function reached
through it, at any depth, turns an exception (raised, or from an awaited coroutine) into a
:class:`DependencyErrorSignal` carrying the *top-level* name: a failure in
``deps.db.users.find()`` reports ``name="db"``. Values returned by dependency calls are not
wrapped. Plain values, and lists, tuples and sets of plain data, are handed out as they are;
the proxy of a mapping is a ``Mapping`` and compares equal to what it wraps, so data read
from ``deps`` can be validated into state (``ctx.transition("X", ctx.deps.defaults)``).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import enum
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ._errors import DependencyErrorSignal

__all__ = ["DepsProxy", "wrap_deps"]

_PLAIN_VALUES: tuple[type, ...] = (
    str,
    bytes,
    int,
    float,
    complex,
    bool,
    type(None),
    _dt.date,
    _dt.time,
    _dt.timedelta,
    decimal.Decimal,
    uuid.UUID,
    enum.Enum,
)


async def _await_guarded(name: str, awaitable: Awaitable[Any]) -> Any:
    try:
        return await awaitable
    except DependencyErrorSignal:
        raise
    except Exception as exc:
        raise DependencyErrorSignal(name, exc) from exc


def _guard_call(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except DependencyErrorSignal:
            raise
        except Exception as exc:
            raise DependencyErrorSignal(name, exc) from exc
        if inspect.isawaitable(result):
            return _await_guarded(name, result)
        return result

    call.__name__ = getattr(fn, "__name__", "dependency")
    call.__doc__ = getattr(fn, "__doc__", None)
    return call


def _is_plain_data(value: Any, depth: int = 0) -> bool:
    """True for plain values and lists/tuples/sets/dicts made only of them."""
    if isinstance(value, _PLAIN_VALUES):
        return True
    if depth > 32:  # deep or self-referential: keep it wrapped
        return False
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_is_plain_data(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            _is_plain_data(k, depth + 1) and _is_plain_data(v, depth + 1) for k, v in value.items()
        )
    return False


def _proxy(target: Any, name: str | None) -> DepsProxy:
    return _MappingProxy(target, name) if isinstance(target, Mapping) else DepsProxy(target, name)


def _wrap_value(name: str, value: Any) -> Any:
    if isinstance(value, (*_PLAIN_VALUES, DepsProxy)):
        return value
    # Sequences and sets of plain data hold nothing that could fail: hand them out as is,
    # so that they compare, serialise and validate like the data they are.
    if isinstance(value, (list, tuple, set, frozenset)) and _is_plain_data(value):
        return value
    if callable(value):
        return _guard_call(name, value)
    return _proxy(value, name)


class DepsProxy:
    """A read-through proxy that attributes failures to a top-level dependency name.

    Attribute access works on objects and mappings alike (``deps.db`` or ``deps["db"]``).
    """

    __slots__ = ("_name", "_target")

    def __init__(self, target: Any, name: str | None = None) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_name", name)

    def _child(self, key: str, value: Any) -> Any:
        return _wrap_value(self._name if self._name is not None else key, value)

    def __getattr__(self, key: str) -> Any:
        target = self._target
        if isinstance(target, Mapping) and key in target:
            return self._child(key, target[key])
        return self._child(key, getattr(target, key))

    def __getitem__(self, key: Any) -> Any:
        return self._child(str(key), self._target[key])

    def __contains__(self, key: object) -> bool:
        return key in self._target

    def __iter__(self) -> Any:
        return iter(self._target)

    def __len__(self) -> int:
        return len(self._target)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("ctx.deps is read-only")

    def __repr__(self) -> str:
        return f"DepsProxy({self._target!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DepsProxy):
            other = other._target
        return bool(self._target == other)

    def __hash__(self) -> int:
        return hash(self._target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _guard_call(self._name or "deps", self._target)(*args, **kwargs)

    @property
    def unwrapped(self) -> Any:
        """The object behind the proxy."""
        return self._target


class _MappingProxy(DepsProxy):
    """The proxy of a mapping; registered as a ``Mapping`` so pydantic validates it."""

    __slots__ = ()


Mapping.register(_MappingProxy)


def wrap_deps(deps: Any) -> Any:
    """Wrap ``deps`` for dependency-error attribution; plain values pass through."""
    if deps is None or isinstance(deps, _PLAIN_VALUES):
        return deps
    return _proxy(deps, None)
