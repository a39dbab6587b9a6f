"""What crosses the wire between clients, entity workflows, hook workflows and activities.

Plain dataclasses of JSON-safe values, so they work with the default JSON converter and with
``pydantic_data_converter`` alike. Each message's JSON shape is part of the recorded
histories of running entities: a new field always gets a default, and a field is never
renamed or removed (``tests/adapter/test_replay.py``). :func:`result_to_reply` and :func:`reply_to_result` turn a
:class:`~temporal_router.DispatchResult` into a :class:`DispatchReply` and back, so callers
on the far side of Temporal get the same result objects the pure router returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from pydantic_core import to_json, to_jsonable_python
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import PayloadConverter

from ..router import (
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    Event,
    PipelineError,
    RemoteError,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
    WorkflowDefinition,
    dump_model,
)

__all__ = [
    "DELIVER_ACTIVITY",
    "DISPATCH_UPDATE",
    "HOOK_REQUEST_SIGNAL",
    "HOOK_REQUEST_UPDATE",
    "HOOK_SIGNAL",
    "HOST_DISPATCH_ACTIVITY",
    "HOST_SNAPSHOT_ACTIVITY",
    "INBOX_MEMO",
    "MAX_MESSAGE_BYTES",
    "REFUSED_ENCODING",
    "REJECTION_TYPE",
    "REPLY_TO_MEMO",
    "SHARED_QUERY",
    "SHARED_SIGNAL",
    "SNAPSHOT_QUERY",
    "STOP_HOOK_ACTIVITY",
    "CreateSpec",
    "DispatchReply",
    "DispatchRequest",
    "EntityInput",
    "HookAnswer",
    "HookFailure",
    "HookRequest",
    "HookState",
    "HostCommand",
    "InboxState",
    "ReactorDelivery",
    "RememberedReply",
    "RetrySettings",
    "SharedChange",
    "WireError",
    "compact_json",
    "complete_reply",
    "error_to_wire",
    "is_pydantic_json",
    "reply_and_json",
    "reply_to_result",
    "result_to_reply",
    "wire_to_error",
]


# -- names: what the messages travel under ----------------------------------------------------

#: The entity's Update that carries a command (:class:`DispatchRequest` -> :class:`DispatchReply`).
DISPATCH_UPDATE = "dispatch"
#: The entity's query that returns its snapshot.
SNAPSHOT_QUERY = "snapshot"
#: ``ApplicationError.type`` of a command the entity's validator refused; its first detail is
#: the :class:`WireError`.
REJECTION_TYPE = "TemporalRouterRejected"
#: The signal that carries hook answers and final failures (:class:`HookAnswer`).
HOOK_SIGNAL = "__temporal_router_signal"
#: The signal that asks a workflow to start a hook on another workflow's behalf
#: (:class:`HookRequest`; sealed by a worker).
HOOK_REQUEST_SIGNAL = "__temporal_router_hook"
#: The Update a client asks a workflow to start a hook with (:class:`HookRequest` -> the hook
#: id); its validator authorizes the request.
HOOK_REQUEST_UPDATE = "__temporal_router_hook_request"
#: The signal a hook changes its host's shared state with (:class:`SharedChange`; sealed by
#: a worker), and the query that reads it (a dict).
SHARED_SIGNAL = "__temporal_router_shared"
SHARED_QUERY = "__temporal_router_shared"
#: Activities the workflow side schedules and the worker side runs.
DELIVER_ACTIVITY = "temporal_router.deliver_command"
HOST_SNAPSHOT_ACTIVITY = "temporal_router.host_snapshot"
HOST_DISPATCH_ACTIVITY = "temporal_router.host_dispatch"
STOP_HOOK_ACTIVITY = "temporal_router.stop_hook"
#: Memo key of a hook started on request: the workflow its answers go to.
REPLY_TO_MEMO = "temporal_router.reply_to"
#: Memo key that carries a plain workflow's unconsumed hook answers across continue-as-new.
INBOX_MEMO = "temporal_router.inbox"
#: The encoding a strict payload codec (``EncryptionCodec``) gives a payload it refused:
#: not encrypted, or not with a key the worker holds. The router's handlers refuse it.
REFUSED_ENCODING = b"binary/refused-by-codec"


# -- messages ---------------------------------------------------------------------------------


@dataclass
class CreateSpec:
    """How a new entity starts: its initial state and data."""

    initial_state: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RememberedReply:
    """The reply of an applied command, kept so that a retried command id gets it again."""

    command_id: str
    reply: DispatchReply


@dataclass
class ReactorDelivery:
    """A reactor's follow-up command, waiting in its entity's outbox to be delivered."""

    workflow_id: str
    workflow_type: str
    type: str
    payload: dict[str, Any]
    command_id: str


@dataclass
class HookFailure:
    """Why a hooked workflow failed for good, as its waiter receives it.

    Every field has a default: earlier versions accepted (and carried across
    continue-as-new) failures with only some of them.
    """

    hook_id: str = ""
    type: str = ""
    message: str = "failed"


@dataclass
class HookAnswer:
    """The hook-answer signal's argument: ``data`` for ``signal_id``, or a final failure."""

    id: str
    data: Any = None
    error: HookFailure | None = None


@dataclass
class SharedChange:
    """The shared-state signal's argument: top-level keys to set in the host's shared state."""

    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class InboxState:
    """Hook answers received but not yet consumed, carried across continue-as-new."""

    signals: dict[str, list[Any]] = field(default_factory=dict)
    failures: dict[str, HookFailure] = field(default_factory=dict)


@dataclass
class HookState:
    """What an entity carries of its durable hooks across continue-as-new."""

    inbox: InboxState | None = None


@dataclass
class RetrySettings:
    """A :class:`~temporal_router.workflows.HookConfig` on the wire, durations in seconds
    (what ``HookConfig.to_wire`` sends) or duration strings such as ``"5s"`` (which raw
    clients of earlier versions could send)."""

    maximum_attempts: int = 0
    backoff_coefficient: float = 2.0
    initial_interval: float | str = 1.0
    maximum_interval: float | str | None = None


@dataclass
class HookRequest:
    """A request for a workflow to start a hook (from another workflow or a client)."""

    hook_id: str
    task_queue: str
    workflow_name: str
    args: list[Any] = field(default_factory=list)
    config: RetrySettings | None = None
    #: The workflow that waits for the hook's answers, if not the one that starts it.
    reply_to: str | None = None


@dataclass
class HostCommand:
    """A command a hooked workflow sends to its host entity (``dispatch_to_host``)."""

    workflow_id: str
    command_id: str
    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    #: The hooked workflow that sends it (lets the command past a handler waiting on it).
    via_hook: str | None = None


@dataclass
class EntityInput:
    """The argument of an entity workflow run: a creation, or a snapshot carried across
    continue-as-new (with the replies of recent commands and undelivered reactor commands)."""

    definition: str
    create: CreateSpec | None = None
    snapshot: dict[str, Any] | None = None
    recent: list[RememberedReply] = field(default_factory=list)
    outbox: list[ReactorDelivery] = field(default_factory=list)
    hook_state: HookState = field(default_factory=HookState)
    run_number: int = 1
    #: The continue-as-new bound this run uses, fixed when the run starts so that replaying
    #: it never depends on the worker's current configuration (None: the worker's setting).
    max_history_events: int | None = None
    #: More remembered replies (newer than ``recent``), packed: the JSON of a list of
    #: ``[command_id, reply_json]`` pairs, zlib-compressed, in base64. Replies repeat their
    #: snapshot's shape, so packed they take a fraction of the room
    #: (see ``_entity_io.pack_replies``).
    recent_packed: str | None = None
    #: Reply in the short form (see :func:`result_to_reply`): set by this version's clients
    #: and carried over continue-as-new. Runs recorded before it reply in full, as they did
    #: (a reply's size decides the reply budget's timers), without a patch marker per run.
    short_replies: bool = False


@dataclass
class DispatchRequest:
    """The argument of the ``dispatch`` update."""

    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    expected_version: int | None = None
    #: Set when a hook started by this entity sends the command (``dispatch_to_host``).
    via_hook: str | None = None
    #: A worker's seal over ``via_hook`` (see ``_trust``): without it, with a key ring,
    #: the command is refused instead of passing the entity's lock.
    seal: str | None = None


@dataclass
class WireError:
    """A :data:`~temporal_router.PipelineError` as JSON-safe fields."""

    category: str
    message: str
    code: str | None = None
    source: str | None = None
    issues: list[Any] | None = None
    data: Any = None
    name: str | None = None
    error_type: str | None = None


@dataclass
class DispatchReply:
    """The result of the ``dispatch`` update.

    On the wire (for entities created by this version, ``EntityInput.short_replies``),
    ``snapshot`` leaves out what the sender knows: the entity's ``id``, and ``model_version``
    when it is 1 (the default). ``RouterClient``, ``dispatch_to_host`` and
    the reactor's delivery put them back (:func:`complete_reply`); a plain Temporal client
    reading the Update's result sees the short form.
    """

    ok: bool
    snapshot: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    error: WireError | None = None


#: What the router lets through one Temporal message: Temporal's default blob limit (2 MiB)
#: less room for headers. A bigger update argument or reply would fail the entity's
#: workflow task on every retry (the SDK refuses to send it), wedging the entity.
MAX_MESSAGE_BYTES = 2 * 1024 * 1024 - 64 * 1024
_MAX_ISSUE_INPUT = 1_000


def is_pydantic_json(converter: PayloadConverter) -> bool:
    """True if ``converter`` is the plugin's pydantic one (perhaps in the SDK's wrapper for
    transfer types, which leaves values of these message types alone): it encodes a message
    as ``json/plain`` with ``pydantic_core.to_json(value)``, so a message already serialized
    that way (to check its size) can be sent as that payload instead of serialized again.
    """
    inner = getattr(converter, "_inner_payload_converter", converter)
    return type(inner) is PydanticPayloadConverter


def _jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=repr)


def _bounded_issues(issues: Any) -> Any:
    """Issues as JSON, each echoed ``input`` cut short: a rejection must stay small even
    for a huge invalid payload (Temporal sends the rejected request back with it)."""
    out = _jsonable(issues)
    for issue in out if isinstance(out, list) else []:
        if isinstance(issue, dict) and "input" in issue:
            text = to_json(issue["input"], fallback=repr)
            if len(text) > _MAX_ISSUE_INPUT:
                issue["input"] = (
                    f"{text[:_MAX_ISSUE_INPUT].decode(errors='replace')}... ({len(text)} bytes)"
                )
    return out


def error_to_wire(error: PipelineError) -> WireError:
    """Flatten a pipeline error to JSON-safe fields."""
    if isinstance(error, ValidationFailure):
        return WireError(
            error.category, error.message, source=error.source, issues=_bounded_issues(error.issues)
        )
    if isinstance(error, DomainFailure):
        data = (
            dump_model(error.data) if hasattr(error.data, "model_dump") else _jsonable(error.data)
        )
        return WireError(error.category, error.message, code=error.code, data=data)
    if isinstance(error, RouterFailure):
        return WireError(error.category, error.message, code=error.code)
    if isinstance(error, DependencyFailure):
        return WireError(
            error.category, error.message, name=error.name, error_type=type(error.error).__name__
        )
    return WireError(error.category, error.message, error_type=type(error.error).__name__)


def wire_to_error(wire: WireError, definition: WorkflowDefinition) -> PipelineError:
    """Rebuild a pipeline error; exceptions come back as :class:`RemoteError`."""
    if wire.category == "validation":
        return ValidationFailure(wire.source or "command", list(wire.issues or []), wire.message)
    if wire.category == "domain":
        code = wire.code or ""
        data: Any = wire.data
        if definition.has_error(code):
            data = definition.validate("error", code, wire.data, source="error")
        return DomainFailure(code, data, wire.message)
    if wire.category == "router":
        return RouterFailure(wire.code or "", wire.message)
    remote = RemoteError(wire.error_type or "Exception", wire.message)
    if wire.category == "dependency":
        return DependencyFailure(wire.name or "", remote, wire.message)
    return UnexpectedFailure(remote, wire.message)


def result_to_reply(
    result: DispatchResult,
    definition: WorkflowDefinition,
    version: int,
    *,
    short_for: str | None = None,
) -> DispatchReply:
    """The reply for ``result``; ``version`` is the entity's version after the dispatch.

    With ``short_for`` (the entity's workflow id), the snapshot leaves out what the sender
    knows and :func:`complete_reply` puts back: its ``id`` when it is that workflow id, and a
    ``model_version`` of 1.
    """
    if result.ok and result.workflow is not None:
        snapshot = dict(definition.serialize(result.workflow, version=version))
        if short_for is not None:
            if snapshot["id"] == short_for:
                del snapshot["id"]
            if snapshot["model_version"] == 1:
                del snapshot["model_version"]
        return DispatchReply(
            ok=True,
            snapshot=snapshot,
            events=[{"type": e.type, "data": dump_model(e.data)} for e in result.events],
        )
    assert result.error is not None
    return DispatchReply(ok=False, error=error_to_wire(result.error))


def reply_and_json(
    result: DispatchResult, definition: WorkflowDefinition, version: int, short_for: str | None
) -> tuple[DispatchReply, bytes]:
    """The reply for a successful ``result`` (see :func:`result_to_reply`) and its JSON:
    short and compact with ``short_for``, else in full. Raises what serializing raises."""
    reply = result_to_reply(result, definition, version, short_for=short_for)
    serialize = to_json if short_for is None else compact_json
    return reply, serialize(reply, inf_nan_mode="constants")


def compact_json(message: Any, **options: Any) -> bytes:
    """The JSON of dataclass ``message`` without its top-level fields that are None (the
    reader takes them as their defaults); values inside, such as user data, are kept as
    they are. ``options`` go to ``pydantic_core.to_json``."""
    present = {
        f.name: value for f in fields(message) if (value := getattr(message, f.name)) is not None
    }
    return to_json(present, **options)


def complete_reply(reply: DispatchReply, workflow_id: str) -> DispatchReply:
    """``reply`` with the snapshot fields an entity leaves out of its replies (its id, and
    ``model_version`` when it is 1) put back; called by whoever sent the command."""
    if reply.snapshot is not None:
        reply.snapshot.setdefault("id", workflow_id)
        reply.snapshot.setdefault("model_version", 1)
    return reply


def reply_to_result(reply: DispatchReply, definition: WorkflowDefinition) -> DispatchResult:
    """Rebuild the :class:`DispatchResult` a reply stands for."""
    if not reply.ok:
        assert reply.error is not None
        return DispatchResult.failure(wire_to_error(reply.error, definition))
    restored = definition.deserialize(reply.snapshot)
    if not restored.ok or restored.workflow is None:
        raise ValueError(
            f"entity replied with a snapshot this definition cannot read: {restored.error}"
        )
    events = [
        Event(e["type"], definition.validate("event", e["type"], e["data"], source="event"))
        for e in reply.events
    ]
    return DispatchResult.success(restored.workflow, events)
