"""The per-dispatch context handed to middleware, handlers and pipeline hooks."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import types
import typing
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Generic, NoReturn, TypeVar

from pydantic import BaseModel

from ._caller import Caller
from ._definition import WorkflowDefinition
from ._errors import ContextKeyNotSetError, DomainErrorSignal, ReadOnlyContextError, RouterError
from ._types import Command, Event, Workflow

__all__ = [
    "Context",
    "ContextKey",
    "ReadonlyContext",
    "copy_model",
    "create_key",
    "current_context",
    "track_current_context",
]

#: The context of the dispatch whose middleware chain is running in this task, if any. The
#: Temporal adapter reads it to refresh a handler's view after a durable wait.
current_context: ContextVar[Context | None] = ContextVar("temporal_router_context", default=None)


class _ContextTracking:
    """Whether dispatch publishes its context in :data:`current_context`.

    Off until :func:`track_current_context` turns it on: the Temporal adapter, its only
    reader, does so when it is imported. An in-memory dispatch then skips a ``ContextVar``
    set and reset, a measurable share of its cost.
    """

    enabled = False


def track_current_context() -> ContextVar[Context | None]:
    """Make every dispatch from now on publish its context; return the variable to read."""
    _ContextTracking.enabled = True
    return current_context


T = TypeVar("T")

_MISSING: Any = object()

_IMMUTABLE_LEAVES: frozenset[Any] = frozenset(
    {
        str,
        int,
        float,
        bool,
        bytes,
        type(None),
        _dt.datetime,
        _dt.date,
        _dt.time,
        _dt.timedelta,
        decimal.Decimal,
        uuid.UUID,
    }
)


def _is_immutable_annotation(annotation: Any) -> bool:
    if annotation in _IMMUTABLE_LEAVES:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return True
    if origin is typing.Annotated:
        return _is_immutable_annotation(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return all(_is_immutable_annotation(a) for a in typing.get_args(annotation))
    return False


def _is_flat(schema: type[BaseModel]) -> bool:
    # Extra fields (``extra="allow"``) and private attributes hold values of any type, and a
    # shallow copy would share them with the input.
    if schema.model_config.get("extra") == "allow" or schema.__private_attributes__:
        return False
    if schema.__new__ is not object.__new__:  # the fast copy below does not call it
        return False
    return all(_is_immutable_annotation(f.annotation) for f in schema.model_fields.values())


#: ``_is_flat`` per model class (a plain dict: cheaper to probe than ``functools.cache``).
_flat: dict[type[BaseModel], bool] = {}
_new_object = object.__new__
# BaseModel's slots, filled through their descriptors (cheaper than object.__setattr__).
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def copy_model(model: BaseModel) -> BaseModel:
    """An independent copy of ``model``: shallow when every field is immutable, else deep."""
    cls = type(model)
    flat = _flat.get(cls)
    if flat is None:
        flat = _flat[cls] = _is_flat(cls)
    if not flat:
        return model.model_copy(deep=True)
    # What model_copy() does for a flat model, without its generic bookkeeping: this runs on
    # every ``ctx.data`` read.
    copied = _new_object(cls)  # BaseModel defines no __new__
    _set_dict(copied, model.__dict__.copy())
    _set_fields_set(copied, model.__pydantic_fields_set__.copy())
    _set_extra(copied, None)
    _set_private(copied, None)
    return copied


@dataclasses.dataclass(frozen=True, eq=False, slots=True)
class ContextKey(Generic[T]):
    """A typed slot for per-dispatch values; two keys with the same name are distinct.

    Example::

        USER: ContextKey[str] = create_key("user")
        ctx.set(USER, "ada")
        ctx.get(USER)  # "ada"
    """

    name: str

    def __repr__(self) -> str:
        return f"ContextKey({self.name!r})"


def create_key(name: str) -> ContextKey[Any]:
    """A new :class:`ContextKey`; ``name`` is only a label for error messages."""
    return ContextKey(name)


class Context:
    """What middleware and handlers get for one dispatch.

    Mutations (``update``, ``transition``, ``emit``) are provisional: they reach the result
    only if the whole chain succeeds. ``data`` and ``workflow`` hand out copies, so nothing
    user code does to them can change the caller's workflow.

    Example::

        @router.state("Todo").on("Start")
        async def start(ctx: Context) -> None:
            ctx.transition("Doing", {"title": ctx.data.title, "assignee": ctx.command.payload.assignee})
            ctx.emit("Started", {"by": ctx.command.payload.assignee})
    """

    __slots__ = (
        "_data",
        "_definition",
        "_events",
        "_input",
        "_slots",
        "_state",
        "_workflow_copy",
        "caller",
        "command",
        "deps",
    )

    def __init__(
        self,
        definition: WorkflowDefinition,
        workflow: Workflow,
        command: Command,
        deps: Any,
        caller: Caller | None = None,
    ) -> None:
        self._definition = definition
        self._input = workflow
        self._workflow_copy: Workflow | None = None
        self._state = workflow.state
        self._data = workflow.data  # the input's until update/transition replace it
        self._events: list[Event] = []
        self._slots: dict[ContextKey[Any], Any] | None = None  # made on the first set()
        self.command = command
        self.deps = deps
        self.caller = caller

    # -- reads ---------------------------------------------------------------------------

    @property
    def workflow(self) -> Workflow:
        """The workflow as it was when the dispatch started (a private copy)."""
        if self._workflow_copy is None:
            self._workflow_copy = dataclasses.replace(
                self._input, data=copy_model(self._input.data)
            )
        return self._workflow_copy

    @property
    def state(self) -> str:
        """The provisional state: the input state, or the target of the last transition."""
        return self._state

    @property
    def data(self) -> Any:
        """A fresh copy of the provisional data; change it through ``update``/``transition``."""
        return copy_model(self._data)

    @property
    def events(self) -> list[Event]:
        """A copy of the events emitted so far."""
        return list(self._events)

    # -- provisional mutations -------------------------------------------------------------

    def update(
        self, fields: Mapping[str, Any] | BaseModel | None = None, /, **changes: Any
    ) -> None:
        """Merge ``fields`` into the data and validate against the provisional state.

        Raises:
            ValidationError: the merged data does not fit (source ``state``).
        """
        merged = self._data.model_dump(by_alias=True)
        if isinstance(fields, BaseModel):
            merged.update(fields.model_dump(by_alias=True, exclude_unset=True))
        elif fields is not None:
            merged.update(fields)
        merged.update(changes)
        self._data = self._definition.validate("state", self._state, merged, "state")

    def transition(self, state: str, data: Mapping[str, Any] | BaseModel | None = None) -> None:
        """Move to ``state`` with ``data`` replacing the current data entirely.

        Raises:
            UnknownNameError: ``state`` is not declared (category ``unexpected``).
            ValidationError: ``data`` does not fit ``state`` (source ``transition``).
        """
        self._data = self._definition.validate("state", state, data, "transition")
        self._state = state

    def emit(self, type: str, data: Mapping[str, Any] | BaseModel | None = None) -> None:
        """Record event ``type`` with validated ``data``.

        Raises:
            UnknownNameError: ``type`` is not declared (category ``unexpected``).
            ValidationError: ``data`` does not fit (source ``event``).
        """
        parsed = self._definition.validate("event", type, data, "event")
        self._events.append(Event(type, parsed))

    def error(self, code: str, data: Mapping[str, Any] | BaseModel | None = None) -> NoReturn:
        """Reject the command with domain error ``code``; code after this does not run.

        Raises:
            DomainErrorSignal: always, with the validated data (category ``domain``).
            UnknownNameError: ``code`` is not declared (category ``unexpected``).
            ValidationError: ``data`` does not fit (source ``error``).
        """
        parsed = self._definition.validate("error", code, data, "error")
        raise DomainErrorSignal(code, parsed)

    # -- context keys ----------------------------------------------------------------------

    def set(self, key: ContextKey[T], value: T) -> None:
        """Store ``value`` under ``key`` for the rest of this dispatch."""
        if self._slots is None:
            self._slots = {}
        self._slots[key] = value

    def get(self, key: ContextKey[T]) -> T:
        """The value under ``key``; raises :class:`ContextKeyNotSetError` if never set."""
        value = _MISSING if self._slots is None else self._slots.get(key, _MISSING)
        if value is _MISSING:
            raise ContextKeyNotSetError(f"Context key not set: {key.name}")
        return typing.cast(T, value)

    def get_or_none(self, key: ContextKey[T]) -> T | None:
        """The value under ``key``, or ``None`` if never set."""
        return None if self._slots is None else typing.cast("T | None", self._slots.get(key))

    # -- for the router ------------------------------------------------------------------

    def has_changes(self) -> bool:
        """True once the chain has updated, transitioned or emitted anything."""
        return (
            self._data is not self._input.data
            or self._state != self._input.state
            or bool(self._events)
        )

    def rebase(self, workflow: Workflow) -> None:
        """Continue this dispatch from ``workflow``, the newer committed state of its host.

        Used after a durable wait during which the host applied other commands. Refused
        when the chain already made uncommitted changes, which would otherwise be lost or
        applied on top of state they never saw.
        """
        if self.has_changes():
            raise RouterError(
                f"workflow {workflow.id!r} changed while this dispatch was waiting, and the "
                "dispatch had uncommitted changes from before the wait; make changes after it"
            )
        self._input = workflow
        self._workflow_copy = None
        self._state = workflow.state
        self._data = workflow.data

    def result_workflow(self, now: _dt.datetime) -> Workflow:
        """The workflow a successful dispatch returns; never shares data with the input."""
        data = copy_model(self._data) if self._data is self._input.data else self._data
        src = self._input
        return Workflow(src.id, src.definition_name, self._state, data, src.created_at, now)

    def result_events(self) -> list[Event]:
        """The events a successful dispatch returns."""
        return list(self._events)


class ReadonlyContext:
    """The view of a :class:`Context` that pipeline hooks get: reads and keys, no mutation.

    Calling ``update``, ``transition``, ``emit`` or ``error`` raises
    :class:`ReadOnlyContextError` (which the hook guard reports to ``on_hook_error``).
    """

    __slots__ = ("_ctx",)

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @property
    def command(self) -> Command:
        """The validated command."""
        return self._ctx.command

    @property
    def workflow(self) -> Workflow:
        """The workflow as it was when the dispatch started."""
        return self._ctx.workflow

    @property
    def deps(self) -> Any:
        """The dependencies."""
        return self._ctx.deps

    @property
    def caller(self) -> Caller | None:
        """Who sent the command (see :class:`~temporal_router.Caller`), if known."""
        return self._ctx.caller

    @property
    def state(self) -> str:
        """The provisional state."""
        return self._ctx.state

    @property
    def data(self) -> Any:
        """A copy of the provisional data."""
        return self._ctx.data

    @property
    def events(self) -> list[Event]:
        """A copy of the events emitted so far."""
        return self._ctx.events

    def set(self, key: ContextKey[T], value: T) -> None:
        """Store ``value`` under ``key``."""
        self._ctx.set(key, value)

    def get(self, key: ContextKey[T]) -> T:
        """The value under ``key``."""
        return self._ctx.get(key)

    def get_or_none(self, key: ContextKey[T]) -> T | None:
        """The value under ``key``, or ``None``."""
        return self._ctx.get_or_none(key)

    def _refuse(self, name: str) -> NoReturn:
        raise ReadOnlyContextError(f"lifecycle hooks get a read-only context: {name}() is refused")

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: hooks observe, they do not mutate."""
        self._refuse("update")

    def transition(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: hooks observe, they do not mutate."""
        self._refuse("transition")

    def emit(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: hooks observe, they do not mutate."""
        self._refuse("emit")

    def error(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: hooks observe, they do not mutate."""
        self._refuse("error")
