"""Who is calling: identity, tenant, correlation id and user fields, for one dispatch.

Set it around client calls with :func:`caller_context` (or ``RouterClient(..., context=)``);
the Temporal adapter carries it in headers to entities, hooks three levels down and
activities, and the router exposes it to middleware and handlers as ``ctx.caller``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from typing import Any

__all__ = ["Caller", "caller_context", "current_caller"]


@dataclass(frozen=True)
class Caller:
    """The caller of a command, as carried in Temporal headers.

    Attributes:
        identity: Who (a user or service id).
        tenant: Which tenant the call acts for.
        correlation_id: Ties together everything one request caused.
        roles: What the caller may do (for authorization middleware).
        extra: Any other JSON-safe fields the application registers.

    Example::

        with caller_context(identity="ada", roles=("clerk",), tenant="acme"):
            await orders.dispatch("o-1", {"type": "Pay", "payload": {}})
    """

    identity: str | None = None
    tenant: str | None = None
    correlation_id: str | None = None
    roles: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        roles: object = self.roles  # callers pass lists, or by mistake one string
        if isinstance(roles, str):
            raise TypeError("roles must be a sequence of strings, not one string")
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "extra", dict(self.extra))

    def has_role(self, role: str) -> bool:
        """True if ``role`` is among the caller's roles."""
        return role in self.roles

    def merged(self, **changes: Any) -> Caller:
        """A copy with ``changes`` applied; ``extra`` is merged key by key."""
        extra = {**self.extra, **changes.pop("extra", {})}
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown Caller fields: {sorted(unknown)} (use extra= for your own)")
        return replace(self, extra=extra, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (what travels in the header)."""
        return {
            "identity": self.identity,
            "tenant": self.tenant,
            "correlation_id": self.correlation_id,
            "roles": list(self.roles),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Caller:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        return cls(
            identity=data.get("identity"),
            tenant=data.get("tenant"),
            correlation_id=data.get("correlation_id"),
            roles=tuple(data.get("roles") or ()),
            extra=dict(data.get("extra") or {}),
        )


_current: ContextVar[Caller | None] = ContextVar("temporal_router_caller", default=None)


def current_caller() -> Caller | None:
    """The caller in effect here (set by :func:`caller_context` or by the adapter)."""
    return _current.get()


@contextlib.contextmanager
def caller_context(caller: Caller | None = None, /, **fields: Any) -> Iterator[Caller]:
    """Make ``caller`` (or the current caller with ``fields`` changed) current in a block.

    Nested blocks refine the outer caller: ``extra`` is merged, other fields replaced.
    """
    base = caller if caller is not None else (_current.get() or Caller())
    effective = base.merged(**fields) if fields else base
    token = _current.set(effective)
    try:
        yield effective
    finally:
        _current.reset(token)


def set_current_caller(caller: Caller | None) -> Any:
    """Set the current caller; return the token for :func:`reset_current_caller`."""
    return _current.set(caller)


def reset_current_caller(token: Any) -> None:
    """Undo :func:`set_current_caller`.

    A token from another ``contextvars.Context`` is ignored: Temporal closes an evicted
    workflow's coroutines from a different context, and there is nothing left to undo.
    """
    with contextlib.suppress(ValueError):
        _current.reset(token)
