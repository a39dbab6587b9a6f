"""Workflow definitions: the declared states, commands, events and errors, and snapshots."""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

import pydantic
from pydantic import BaseModel, ConfigDict, create_model
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ._errors import ConfigurationError, UnknownNameError, ValidationError
from ._types import Command, Workflow

__all__ = [
    "ClientWorkflowDefinition",
    "RestoreResult",
    "WorkflowDefinition",
    "WorkflowSnapshot",
    "define_workflow",
    "dump_model",
    "is_server_field",
    "server",
    "to_iso",
    "utc_now",
]

RegistryKind = Literal["state", "command", "event", "error"]


class WorkflowSnapshot(TypedDict):
    """The JSON-safe form of a workflow, as produced by ``definition.serialize``."""

    id: str
    definition_name: str
    state: str
    data: dict[str, Any]
    created_at: str
    updated_at: str
    model_version: int
    version: int


class _SnapshotEnvelope(BaseModel):
    """Checks the envelope of a snapshot; ``data`` is checked against the state's schema."""

    model_config = ConfigDict(extra="ignore")

    id: str
    definition_name: str
    state: str
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    model_version: int = 1
    version: int = 1


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What ``deserialize`` returns: ``ok`` with a workflow, or a ``restore`` ValidationError."""

    ok: bool
    workflow: Workflow | None = None
    error: ValidationError | None = None


class _ServerOnly:
    """Metadata marker placed on pydantic fields by :func:`server`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "server()"


_SERVER_ONLY = _ServerOnly()


def server(field: Any = PydanticUndefined, /) -> Any:
    """Mark a model field as server-only: ``serialize_for_client`` leaves it out.

    Accepts a pydantic ``Field(...)``, a default value, or nothing; also usable as
    ``Annotated`` metadata.

    Example::

        class Order(BaseModel):
            total: int
            card_token: str = server(Field(default=""))
            note: Annotated[str, server()] = ""
    """
    if isinstance(field, FieldInfo):
        info = copy.copy(field)  # never mark the caller's FieldInfo itself
        info.metadata = [*field.metadata, _SERVER_ONLY]
    else:
        info = pydantic.Field(default=field)
        info.metadata.append(_SERVER_ONLY)
    return info


def is_server_field(field: FieldInfo) -> bool:
    """True if ``field`` was marked with :func:`server`."""
    return any(isinstance(m, _ServerOnly) for m in field.metadata)


#: The last (millisecond, datetime) utc_now() returned: one tuple, swapped atomically.
_last_now: tuple[int, datetime] = (0, datetime.fromtimestamp(0, UTC))


def utc_now() -> datetime:
    """The current UTC time at millisecond precision, the precision of snapshots."""
    global _last_now
    ms = time.time_ns() // 1_000_000
    last = _last_now
    if last[0] == ms:  # datetimes are immutable: one per millisecond is enough
        return last[1]
    # fromtimestamp rounds to the nearest microsecond, so the float division is exact enough.
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    _last_now = (ms, moment)
    return moment


def to_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a ``Z``: ``2026-01-15T10:00:00.000Z``."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    # Not strftime: it imports the time module on every call, which inside Temporal's
    # workflow sandbox (every entity reply carries two timestamps) runs the sandbox's
    # import machinery. isoformat of a UTC datetime ends in "+00:00".
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def dump_model(model: BaseModel) -> dict[str, Any]:
    """The JSON-safe dict of a model, keyed as the model validates it back."""
    return model.model_dump(mode="json", by_alias=True)


def _field_key(name: str, info: FieldInfo) -> str:
    return info.serialization_alias or info.alias or name


def _strip_server_fields(data: dict[str, Any], schema: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    fields = {_field_key(n, f): f for n, f in schema.model_fields.items()}
    for key, value in data.items():
        info = fields.get(key)
        if info is not None and is_server_field(info):
            continue
        nested = info.annotation if info is not None else None
        if isinstance(value, dict) and isinstance(nested, type) and issubclass(nested, BaseModel):
            value = _strip_server_fields(value, nested)
        out[key] = value
    return out


def _client_schema(schema: type[BaseModel]) -> type[BaseModel]:
    """A strict copy of ``schema`` without server-only fields, nested models included."""
    fields: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        if is_server_field(info):
            continue
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _client_schema(annotation)
        # Keep the aliases: client snapshots are keyed as serialize_for_client dumps them.
        aliases: dict[str, Any] = {
            "alias": info.alias,
            "validation_alias": info.validation_alias,
            "serialization_alias": info.serialization_alias,
        }
        if info.default_factory is not None:
            default = pydantic.Field(default_factory=info.default_factory, **aliases)
        elif info.default is not PydanticUndefined:
            default = pydantic.Field(info.default, **aliases)
        else:
            default = pydantic.Field(..., **aliases)
        fields[name] = (annotation, default)
    return create_model(f"{schema.__name__}Client", __config__=ConfigDict(extra="forbid"), **fields)


def _check_registry(kind: str, registry: object) -> dict[str, type[BaseModel]]:
    if not isinstance(registry, Mapping):
        raise ConfigurationError(
            f"{kind} must be a mapping of name -> pydantic model class, got {type(registry).__name__}"
        )
    checked: dict[str, type[BaseModel]] = {}
    for name, schema in registry.items():
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"{kind}: every name must be a non-empty string, got {name!r}")
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            raise ConfigurationError(
                f"{kind}[{name!r}] must be a pydantic BaseModel subclass, got {schema!r}"
            )
        checked[name] = schema
    return checked


def _restore_issue(loc: str, message: str, value: object) -> dict[str, Any]:
    return {"type": "restore", "loc": (loc,), "msg": message, "input": value}


class WorkflowDefinition:
    """A named set of schemas: states, commands, events and errors.

    Build one with :func:`define_workflow`. Each registry maps a name to a pydantic model
    class; validation always replaces input with the model's parsed output.
    """

    def __init__(
        self,
        name: str,
        *,
        states: Mapping[str, type[BaseModel]],
        commands: Mapping[str, type[BaseModel]],
        events: Mapping[str, type[BaseModel]],
        errors: Mapping[str, type[BaseModel]],
        model_version: int = 1,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"definition name must be a non-empty string, got {name!r}")
        if isinstance(model_version, bool) or not isinstance(model_version, int):
            raise ConfigurationError(f"model_version must be an int, got {model_version!r}")
        if model_version < 1:
            raise ConfigurationError(f"model_version must be >= 1, got {model_version}")
        self.name = name
        self.model_version = model_version
        self.states = _check_registry("states", states)
        self.commands = _check_registry("commands", commands)
        self.events = _check_registry("events", events)
        self.errors = _check_registry("errors", errors)
        self._registries: dict[RegistryKind, dict[str, type[BaseModel]]] = {
            "state": self.states,
            "command": self.commands,
            "event": self.events,
            "error": self.errors,
        }
        #: ``validate_python`` of each schema, per kind; filled on first use (a model with
        #: forward references has its real validator only once they resolve).
        self._validators: dict[RegistryKind, dict[str, Callable[[Any], BaseModel]]] = {
            kind: {} for kind in self._registries
        }

    def __repr__(self) -> str:
        return (
            f"WorkflowDefinition({self.name!r}, states={list(self.states)}, "
            f"commands={list(self.commands)}, model_version={self.model_version})"
        )

    # -- look-ups ------------------------------------------------------------------------

    def has_state(self, name: str) -> bool:
        """True if ``name`` is a declared state."""
        return name in self.states

    def has_command(self, name: str) -> bool:
        """True if ``name`` is a declared command."""
        return name in self.commands

    def has_event(self, name: str) -> bool:
        """True if ``name`` is a declared event."""
        return name in self.events

    def has_error(self, name: str) -> bool:
        """True if ``name`` is a declared error code."""
        return name in self.errors

    def schema(self, kind: RegistryKind, name: str) -> type[BaseModel]:
        """The schema registered under ``name`` in registry ``kind``.

        Raises:
            UnknownNameError: ``name`` is not declared.
        """
        try:
            return self._registries[kind][name]
        except (KeyError, TypeError):
            raise UnknownNameError(kind, name) from None

    def get_state_schema(self, name: str) -> type[BaseModel]:
        """The schema of state ``name``; raises :class:`UnknownNameError` if undeclared."""
        return self.schema("state", name)

    def get_command_schema(self, name: str) -> type[BaseModel]:
        """The schema of command ``name``; raises :class:`UnknownNameError` if undeclared."""
        return self.schema("command", name)

    def get_event_schema(self, name: str) -> type[BaseModel]:
        """The schema of event ``name``; raises :class:`UnknownNameError` if undeclared."""
        return self.schema("event", name)

    def get_error_schema(self, name: str) -> type[BaseModel]:
        """The schema of error ``name``; raises :class:`UnknownNameError` if undeclared."""
        return self.schema("error", name)

    def validate(self, kind: RegistryKind, name: str, data: Any, source: str) -> BaseModel:
        """Validate ``data`` against the ``kind`` schema ``name``.

        Model instances are re-validated from their dump, so the result never shares
        mutable state with the input.

        Raises:
            UnknownNameError: ``name`` is not declared.
            ValidationError: the data does not fit; ``source`` names what was validated.
        """
        # The hot path of every dispatch (command, transition, event): one probe of a dict
        # of bound validators, positional arguments, no model_validate() wrapper.
        try:
            validate_python = self._validators[kind][name]
        except (KeyError, TypeError):  # not cached yet, or not even a name
            validate_python = self._validator(kind, name)
        if type(data) is not dict:  # dicts skip the ABC check
            if data is None:
                data = {}
            elif isinstance(data, BaseModel):
                data = data.model_dump(by_alias=True)
        try:
            return validate_python(data)
        except pydantic.ValidationError as exc:
            raise ValidationError(source, exc.errors(include_url=False)) from None

    def _validator(self, kind: RegistryKind, name: str) -> Callable[[Any], BaseModel]:
        try:
            schema = self._registries[kind][name]
        except (KeyError, TypeError):
            raise UnknownNameError(kind, name) from None
        # On a model with unresolved forward references this tries to resolve them, and
        # raises if it cannot: only a real validator is ever cached.
        validate_python: Callable[[Any], BaseModel] = schema.__pydantic_validator__.validate_python
        self._validators[kind][name] = validate_python
        return validate_python

    def parse_command(self, command: object) -> Command:
        """Check a raw command and return it with its payload validated.

        Accepts a :class:`Command` or a mapping with ``type`` and optional ``payload``.

        Raises:
            UnknownNameError: the command type is not declared.
            ValidationError: the command is malformed or its payload invalid (source
                ``command``).
        """
        if type(command) is dict and "type" in command:  # the common case, checked first
            # A missing payload is None, which validate() reads as {}.
            command_type, payload = command["type"], command.get("payload")
        elif isinstance(command, Command):
            command_type, payload = command.type, command.payload
        elif isinstance(command, Mapping) and "type" in command:
            command_type, payload = command["type"], command.get("payload", {})
        else:
            raise ValidationError(
                "command",
                [_restore_issue("type", "a command is {'type': str, 'payload': dict}", command)],
            )
        if not isinstance(command_type, str):
            raise ValidationError(
                "command", [_restore_issue("type", "command type must be a string", command_type)]
            )
        return Command(command_type, self.validate("command", command_type, payload, "command"))

    # -- instances -----------------------------------------------------------------------

    def create_workflow(
        self, id: str, *, initial_state: str, data: Any, now: datetime | None = None
    ) -> Workflow:
        """A new workflow in ``initial_state`` with validated ``data``.

        ``now`` overrides the clock (workflow code passes ``temporalio.workflow.now()``).

        Raises:
            UnknownNameError: ``initial_state`` is not declared.
            ValidationError: ``data`` does not fit the state's schema (source ``state``).

        Example::

            wf = definition.create_workflow("o-1", initial_state="Placed", data={"total": 5})
        """
        if not isinstance(id, str) or not id:
            raise ValueError(f"workflow id must be a non-empty string, got {id!r}")
        parsed = self.validate("state", initial_state, data, "state")
        moment = now if now is not None else utc_now()
        return Workflow(id, self.name, initial_state, parsed, moment, moment)

    # -- snapshots -----------------------------------------------------------------------

    def serialize(self, workflow: Workflow, *, version: int = 1) -> WorkflowSnapshot:
        """The JSON-safe snapshot of ``workflow``.

        ``definition_name`` and ``model_version`` come from this definition; ``version`` is
        the optimistic-concurrency counter that stores and the Temporal host maintain.
        """
        return {
            "id": workflow.id,
            "definition_name": self.name,
            "state": workflow.state,
            "data": dump_model(workflow.data),
            "created_at": to_iso(workflow.created_at),
            "updated_at": to_iso(workflow.updated_at),
            "model_version": self.model_version,
            "version": version,
        }

    def serialize_for_client(self, workflow: Workflow, *, version: int = 1) -> WorkflowSnapshot:
        """Like :meth:`serialize`, without the fields marked :func:`server`."""
        snapshot = self.serialize(workflow, version=version)
        schema = self.states.get(workflow.state)
        if schema is not None:
            snapshot["data"] = _strip_server_fields(snapshot["data"], schema)
        return snapshot

    def deserialize(self, snapshot: object) -> RestoreResult:
        """Restore a workflow from a snapshot. Never raises.

        The snapshot's ``data`` is validated against its state's schema; any problem comes
        back as ``RestoreResult(ok=False, error=ValidationError("restore", issues))``. Run
        :func:`migrate` first for snapshots of an older ``model_version``.
        """
        return _deserialize(self.name, self.states, snapshot)

    @functools.cached_property
    def _client(self) -> ClientWorkflowDefinition:
        return ClientWorkflowDefinition(
            self.name, {name: _client_schema(s) for name, s in self.states.items()}
        )

    def for_client(self) -> ClientWorkflowDefinition:
        """The client-side definition: strict state schemas without server-only fields."""
        return self._client


def _deserialize(
    definition_name: str, states: Mapping[str, type[BaseModel]], snapshot: object
) -> RestoreResult:
    del definition_name  # deserialize trusts the snapshot's own name; migrate checks it
    try:
        envelope = _SnapshotEnvelope.model_validate(snapshot)
    except pydantic.ValidationError as exc:
        return RestoreResult(False, error=ValidationError("restore", exc.errors(include_url=False)))
    schema = states.get(envelope.state)
    if schema is None:
        issue = _restore_issue("state", f"Unknown state: {envelope.state}", envelope.state)
        return RestoreResult(False, error=ValidationError("restore", [issue]))
    try:
        data = schema.model_validate(envelope.data)
    except pydantic.ValidationError as exc:
        return RestoreResult(False, error=ValidationError("restore", exc.errors(include_url=False)))
    workflow = Workflow(
        envelope.id,
        envelope.definition_name,
        envelope.state,
        data,
        _as_utc(envelope.created_at),
        _as_utc(envelope.updated_at),
    )
    return RestoreResult(True, workflow=workflow)


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class ClientWorkflowDefinition:
    """The definition as a client sees it: server-only fields removed, unknown keys refused."""

    def __init__(self, name: str, states: dict[str, type[BaseModel]]) -> None:
        self.name = name
        self.states = states

    def has_state(self, name: str) -> bool:
        """True if ``name`` is a declared state."""
        return name in self.states

    def get_state_schema(self, name: str) -> type[BaseModel]:
        """The strict client schema of state ``name``."""
        try:
            return self.states[name]
        except KeyError:
            raise UnknownNameError("state", name) from None

    def deserialize(self, snapshot: object) -> RestoreResult:
        """Restore a client snapshot; data with server-only or unknown keys is refused."""
        return _deserialize(self.name, self.states, snapshot)


def define_workflow(
    name: str,
    *,
    states: Mapping[str, type[BaseModel]],
    commands: Mapping[str, type[BaseModel]],
    events: Mapping[str, type[BaseModel]],
    errors: Mapping[str, type[BaseModel]],
    model_version: int = 1,
) -> WorkflowDefinition:
    """Declare a workflow: its states, commands, events and errors, each a pydantic model.

    All four registries are required (pass ``{}`` for an unused one).

    Example::

        class Todo(BaseModel):
            title: str

        class Start(BaseModel):
            assignee: str

        tasks = define_workflow(
            "Task",
            states={"Todo": Todo, "Doing": Doing},
            commands={"Start": Start},
            events={},
            errors={},
        )
    """
    return WorkflowDefinition(
        name,
        states=states,
        commands=commands,
        events=events,
        errors=errors,
        model_version=model_version,
    )
