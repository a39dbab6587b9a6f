"""Value types that flow through a dispatch: workflows, commands, events and results."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeAlias, TypeVar

from pydantic import BaseModel

_T = TypeVar("_T")


class _Factory:
    """The default of a field with a default factory, in ``__init__`` signatures."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen, slotted dataclass an ``__init__`` that fills its slots directly.

    The generated frozen ``__init__`` looks up ``object.__setattr__`` once per field; these
    values are built on every dispatch, and calling the slot descriptors instead makes
    construction about 40% cheaper. Signature, defaults, default factories, and everything
    else (frozen assignment, ``replace``, equality, hashing, repr) stay the dataclass's.
    """
    params: list[str] = []
    body: list[str] = []
    names: dict[str, Any] = {"FACTORY": _FACTORY}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        setter = f"_set_{f.name}"
        names[setter] = cls.__dict__[f.name].__set__
        if f.default_factory is not MISSING:
            names[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=FACTORY")
            value = f"_factory_{f.name}() if {f.name} is FACTORY else {f.name}"
        elif f.default is not MISSING:
            names[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        body.append(f"    {setter}(self, {value})")
    source = f"def __init__(self, {', '.join(params)}) -> None:\n" + "\n".join(body)
    exec(source, names)
    init: Callable[..., None] = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


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


@_fast_init
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


@_fast_init
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


@_fast_init
@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, emitted by a handler with ``ctx.emit``."""

    type: str
    data: BaseModel


ErrorCategory: TypeAlias = Literal["validation", "domain", "router", "dependency", "unexpected"]


@_fast_init
@dataclass(frozen=True, slots=True)
class ValidationFailure:
    """Category ``validation``: a schema refused data. ``source`` says which data."""

    source: str
    issues: list[Any]
    message: str
    category: Literal["validation"] = "validation"


@_fast_init
@dataclass(frozen=True, slots=True)
class DomainFailure:
    """Category ``domain``: a business rejection raised with ``ctx.error(code, data)``."""

    code: str
    data: Any
    message: str
    category: Literal["domain"] = "domain"


@_fast_init
@dataclass(frozen=True, slots=True)
class RouterFailure:
    """Category ``router``: routing failed.

    ``code`` is ``UNKNOWN_STATE``, ``UNKNOWN_COMMAND`` or ``NO_HANDLER``.
    """

    code: str
    message: str
    category: Literal["router"] = "router"


@_fast_init
@dataclass(frozen=True, slots=True)
class DependencyFailure:
    """Category ``dependency``: a call through the wrapped ``deps`` failed.

    ``name`` is the top-level dependency name; ``error`` the original exception.
    """

    name: str
    error: BaseException
    message: str
    category: Literal["dependency"] = "dependency"


@_fast_init
@dataclass(frozen=True, slots=True)
class UnexpectedFailure:
    """Category ``unexpected``: anything else, including misuse and handler bugs."""

    error: BaseException
    message: str
    category: Literal["unexpected"] = "unexpected"


PipelineError: TypeAlias = (
    ValidationFailure | DomainFailure | RouterFailure | DependencyFailure | UnexpectedFailure
)


@_fast_init
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
