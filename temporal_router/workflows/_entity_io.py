"""What an entity reads and carries: its decoded inputs, and the replies it remembers.

The entity takes its run input and its ``dispatch`` argument raw and decodes them here, with
TypeAdapters built once per process (see below); across continue-as-new it carries the
replies of its recent commands, as many as the budget holds.
"""

from __future__ import annotations

from collections import OrderedDict

from pydantic import TypeAdapter
from pydantic_core import to_json
from temporalio import workflow
from temporalio.common import RawValue, SearchAttributePair, TypedSearchAttributes

from ..router import Event, Reactors, RouterFailure, WorkflowRouter
from ._limits import LIMITS
from ._messages import (
    REFUSED_ENCODING,
    DispatchReply,
    DispatchRequest,
    EntityInput,
    ReactorDelivery,
    RememberedReply,
    error_to_wire,
)
from ._search import ROUTER_DEFINITION, ROUTER_STATE

__all__ = [
    "JSON_METADATA",
    "Outbox",
    "already_applied",
    "dispatch_request",
    "entity_input",
    "reactor_deliveries",
    "remembered_within",
    "start_search_attributes",
]

#: Decodes an entity's input, built once per process. Temporal's pydantic converter is
#: created per workflow instance, and with it a TypeAdapter for every argument type it
#: decodes: for ``EntityInput`` (with its nested reply, error and spec types) that cost
#: every new entity, continued run and cache miss about 2 ms of worker CPU, and memory for
#: as long as the entity stays cached. The entity's ``run`` therefore takes the raw payload
#: (the payload codec has already decoded it) and decodes it here.
_ENTITY_INPUT: TypeAdapter[EntityInput] = TypeAdapter(EntityInput)
#: The same for the ``dispatch`` update's argument. Taken raw, it is also decoded once per
#: command instead of twice: with a validator, the SDK decodes the arguments again for the
#: handler (in case the validator mutated them).
_DISPATCH_REQUEST: TypeAdapter[DispatchRequest] = TypeAdapter(DispatchRequest)
_JSON = b"json/plain"
#: The metadata of a ``json/plain`` payload, as the pydantic converter writes it.
JSON_METADATA = {"encoding": _JSON}


def entity_input(value: EntityInput | RawValue) -> EntityInput:
    """The run's input, decoded."""
    if not isinstance(value, RawValue):
        return value
    payload = value.payload
    if payload.metadata.get("encoding") == REFUSED_ENCODING:
        # An input the codec refused holds nothing to create from: the run fails to load.
        return EntityInput("", create=None)
    decoded: object
    try:
        if payload.metadata.get("encoding") == _JSON:
            return _ENTITY_INPUT.validate_json(payload.data)
        decoded = workflow.payload_converter().from_payload(payload, EntityInput)
    except Exception:
        decoded = None
    if not isinstance(decoded, EntityInput):
        return EntityInput("", create=None)  # nothing to create from: the run fails to load
    return decoded


def dispatch_request(value: DispatchRequest | RawValue) -> DispatchRequest:
    """The ``dispatch`` Update's argument, decoded."""
    if not isinstance(value, RawValue):
        return value
    payload = value.payload
    try:
        if payload.metadata.get("encoding") == _JSON:
            return _DISPATCH_REQUEST.validate_json(payload.data)
        decoded: object = workflow.payload_converter().from_payload(payload, DispatchRequest)
    except Exception as exc:  # what the SDK raises for arguments it cannot decode
        raise RuntimeError("Failed decoding arguments") from exc
    if not isinstance(decoded, DispatchRequest):  # binary/null, binary/plain, ...
        raise RuntimeError(f"Failed decoding arguments: got {type(decoded).__name__}")
    return decoded


class Outbox:
    """Reactor commands waiting for delivery, in order, within the outbox limits."""

    def __init__(self, items: list[ReactorDelivery]) -> None:
        self.items: list[ReactorDelivery] = []
        self.bytes = 0
        # As far as they fit: a raw start may carry any, without a key ring.
        for item in items:
            if not self.takes([item]):
                break
            self.add([item])

    def __bool__(self) -> bool:
        return bool(self.items)

    def first(self) -> ReactorDelivery:
        """The next command to deliver."""
        return self.items[0]

    def pop_first(self) -> None:
        """The next command was delivered (or given up)."""
        self.bytes -= len(to_json(self.items.pop(0)))

    def full(self) -> bool:
        """True if no more commands fit."""
        return (
            len(self.items) >= LIMITS.max_outbox_commands or self.bytes >= LIMITS.max_outbox_bytes
        )

    def takes(self, items: list[ReactorDelivery]) -> bool:
        """True if ``items`` fit."""
        size = sum(len(to_json(item)) for item in items)
        return (
            len(self.items) + len(items) <= LIMITS.max_outbox_commands
            and self.bytes + size <= LIMITS.max_outbox_bytes
        )

    def add(self, items: list[ReactorDelivery]) -> None:
        """Queue ``items`` (checked with :meth:`takes`)."""
        self.items.extend(items)
        self.bytes += sum(len(to_json(item)) for item in items)


def reactor_deliveries(
    reactors: Reactors, router: WorkflowRouter, command_id: str, events: list[Event]
) -> list[ReactorDelivery]:
    """The follow-up commands ``reactors`` make of a command's ``events``, to deliver."""
    workflow_id = workflow.info().workflow_id
    return [
        ReactorDelivery(
            workflow_id=reaction.workflow_id,
            workflow_type=reaction.router_name,
            type=reaction.command.type,
            payload=reaction.command.payload.model_dump(mode="json")
            if hasattr(reaction.command.payload, "model_dump")
            else dict(reaction.command.payload),
            command_id=f"{workflow_id}/{command_id}/{index}",
        )
        for index, reaction in enumerate(reactors.resolve(router, workflow_id, events))
    ]


def remembered_within(
    recent: OrderedDict[str, DispatchReply], budget: int
) -> list[RememberedReply]:
    """The replies of ``recent`` (oldest first) to carry in at most ``budget`` bytes.

    Replies carry snapshots, so only the newest fit whole (in half the budget); older
    command ids are kept with a small ``ALREADY_APPLIED`` reply (still applied once), and
    ids that fit in no way are forgotten.
    """
    whole = budget // 2
    kept: list[RememberedReply] = []
    for command_id, reply in reversed(recent.items()):
        remembered = RememberedReply(command_id, reply)
        size = len(to_json(remembered))
        if size <= whole:
            whole -= size
        else:
            remembered = RememberedReply(command_id, already_applied(command_id))
            size = len(to_json(remembered))
        if size > budget:
            break
        budget -= size
        kept.append(remembered)
    return kept[::-1]


def already_applied(command_id: str) -> DispatchReply:
    """What a retry of an old command gets once its full reply is no longer kept."""
    message = f"command {command_id!r} was already applied; its reply is no longer kept"
    return DispatchReply(ok=False, error=error_to_wire(RouterFailure("ALREADY_APPLIED", message)))


def start_search_attributes(definition_name: str, state: str) -> TypedSearchAttributes:
    """The search attributes an entity starts with."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(ROUTER_DEFINITION, definition_name),
            SearchAttributePair(ROUTER_STATE, state),
        ]
    )
