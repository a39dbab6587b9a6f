"""The bookkeeping of open dispatches: their spans made current, on a ``ContextVar`` stack.

Each dispatch an otel plugin traces has a :class:`Frame` (its span's :class:`Scope`, the
labels and transition its metrics need), pushed at ``dispatch:start`` and found again at
``dispatch:end`` by the identity of the plugin, the workflow and the command objects. The
stack is a tuple in a ``ContextVar``, copied on write, so nested dispatches pair correctly
and concurrent dispatches in different tasks never see each other's frames.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar, Token
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context as OtelContext
from opentelemetry.trace import Span

from ._attributes import OTHER

__all__ = ["FRAMES", "Frame", "Scope", "active_frame", "pop_frame", "push_frame"]


@dataclass(eq=False, slots=True)
class Scope:
    """A span made current: the context attached, and the token to detach it with."""

    span: Span
    context: OtelContext
    token: Token[OtelContext]

    @classmethod
    def open(cls, span: Span) -> Scope:
        context = trace.set_span_in_context(span)
        return cls(span, context, otel_context.attach(context))

    def detach(self) -> None:
        # Like temporalio.contrib.opentelemetry's attached_context: detach only if ours is the
        # current context, and ignore a token from another contextvars.Context (a dispatch
        # abandoned by an evicted workflow is finalised wherever the GC runs), which
        # opentelemetry.context.detach would log as "Failed to detach context".
        if otel_context.get_current() is not self.context:
            return
        with contextlib.suppress(ValueError, RuntimeError):
            self.token.var.reset(self.token)


@dataclass(eq=False, slots=True)
class Frame:
    """The bookkeeping of one dispatch, for one plugin instance."""

    owner: object  # the plugin's telemetry object, compared by identity
    workflow: object
    command: object
    passive: bool = False
    dispatch: Scope | None = None
    definition: str = ""
    command_label: str = OTHER
    state_label: str = OTHER
    transition: tuple[str, str] | None = None
    started_ns: int | None = None  # only for spans without timestamps (no-op tracers)


#: The open dispatches of the current task, innermost last. Tuples, so that tasks spawned
#: inside a dispatch inherit a snapshot and never mutate their parent's stack.
FRAMES: ContextVar[tuple[Frame, ...]] = ContextVar("temporal_router_otel_frames", default=())


def push_frame(owner: object, workflow: object, command: object) -> Frame:
    """Open ``owner``'s frame for a dispatch of ``command`` on ``workflow``.

    The frame is passive (inert) when another plugin's hook has just opened this very
    dispatch: two otel plugins on one router, e.g. through a merge, must not duplicate
    spans. (A dispatch nested in this one finds this plugin's inert frame on top instead.)
    """
    frame = Frame(owner, workflow, command)
    stack = FRAMES.get()
    if stack:
        top = stack[-1]
        frame.passive = (
            top.workflow is workflow
            and top.command is command
            and top.owner is not owner
            and not top.passive
        )
    FRAMES.set((*stack, frame))
    return frame


def active_frame(owner: object) -> Frame | None:
    """``owner``'s innermost open dispatch, or None if there is none or it is inert."""
    for frame in reversed(FRAMES.get()):
        if frame.owner is owner:
            return None if frame.passive else frame
    return None


def pop_frame(owner: object, workflow: object, command: object) -> Frame | None:
    """Close ``owner``'s frame for ``command`` on ``workflow`` (None if it has none)."""
    stack = FRAMES.get()
    for i in range(len(stack) - 1, -1, -1):
        frame = stack[i]
        if frame.owner is owner and frame.workflow is workflow and frame.command is command:
            FRAMES.set(stack[:i] + stack[i + 1 :])
            return frame
    return None
