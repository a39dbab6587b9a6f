"""Value types that flow through a dispatch: workflows, commands, events and results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel

__all__ = [
    "Command",
    "CommandLike",
    "DependencyFailure",
    "DispatchResult",
    "DomainFailure",
    "ErrorCategory",
    "Event",
    "PipelineError",
    "RouterFailure",
    "UnexpectedFailure",
    "ValidationFailure",
    "Workflow",
]


@dataclass(frozen=True, slots=True)
class Workflow:
    """One workflow instance: an immutable value.

    ``data`` is the validated pydantic model of the current ``state``. Dispatch never
    changes a ``Workflow``; a successful dispatch returns a new one.

    Example::

        wf = definition.create_workflow("t-1", initial_state="Todo", data={"title": "x"})
        wf.state, wf.data.title  # ("Todo", "x")
    """

    id: str
    definition_name: str
    state: str
    data: BaseModel
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Command:
    """An intent: a command ``type`` and its ``payload``.

    Before validation ``payload`` is whatever the caller sent (usually a dict); handlers see
    the validated pydantic model. Dicts ``{"type": ..., "payload": ...}`` are accepted
    wherever a ``Command`` is.
    """

    type: str
    payload: Any = field(default_factory=dict)


CommandLike: TypeAlias = Command | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, emitted by a handler with ``ctx.emit``."""

    type: str
    data: BaseModel


ErrorCategory: TypeAlias = Literal["validation", "domain", "router", "dependency", "unexpected"]


@dataclass(frozen=True, slots=True)
class ValidationFailure:
    """Category ``validation``: a schema refused data. ``source`` says which data."""

    source: str
    issues: list[Any]
    message: str
    category: Literal["validation"] = "validation"


@dataclass(frozen=True, slots=True)
class DomainFailure:
    """Category ``domain``: a business rejection raised with ``ctx.error(code, data)``."""

    code: str
    data: Any
    message: str
    category: Literal["domain"] = "domain"


@dataclass(frozen=True, slots=True)
class RouterFailure:
    """Category ``router``: routing failed.

    ``code`` is ``UNKNOWN_STATE``, ``UNKNOWN_COMMAND`` or ``NO_HANDLER``.
    """

    code: str
    message: str
    category: Literal["router"] = "router"


@dataclass(frozen=True, slots=True)
class DependencyFailure:
    """Category ``dependency``: a call through the wrapped ``deps`` failed.

    ``name`` is the top-level dependency name; ``error`` the original exception.
    """

    name: str
    error: BaseException
    message: str
    category: Literal["dependency"] = "dependency"


@dataclass(frozen=True, slots=True)
class UnexpectedFailure:
    """Category ``unexpected``: anything else, including misuse and handler bugs."""

    error: BaseException
    message: str
    category: Literal["unexpected"] = "unexpected"


PipelineError: TypeAlias = (
    ValidationFailure | DomainFailure | RouterFailure | DependencyFailure | UnexpectedFailure
)


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """What ``dispatch`` returns: either ``ok`` with a new workflow and events, or an error.

    Example::

        result = await router.dispatch(wf, {"type": "Start", "payload": {}})
        if result.ok:
            wf = result.workflow
        else:
            print(result.error.category, result.error.message)
    """

    ok: bool
    workflow: Workflow | None = None
    events: list[Event] = field(default_factory=list)
    error: PipelineError | None = None

    @classmethod
    def success(cls, workflow: Workflow, events: list[Event]) -> DispatchResult:
        """A successful result."""
        return cls(ok=True, workflow=workflow, events=events)

    @classmethod
    def failure(cls, error: PipelineError) -> DispatchResult:
        """A failed result."""
        return cls(ok=False, error=error)
