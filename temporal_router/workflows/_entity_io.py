"""What an entity reads and carries: its decoded inputs, and the replies it remembers.

The entity takes its run input and its ``dispatch`` argument raw and decodes them here, with
TypeAdapters built once per process (see below); across continue-as-new it carries the
replies of its recent commands, as many as the budget holds.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections import OrderedDict

from pydantic import TypeAdapter
from pydantic_core import from_json, to_json
from temporalio import workflow
from temporalio.common import RawValue, SearchAttributePair, TypedSearchAttributes

from ..router import Event, Reactors, RouterFailure, UnexpectedFailure, WorkflowRouter
from ._limits import LIMITS
from ._messages import (
    REFUSED_ENCODING,
    DispatchReply,
    DispatchRequest,
    EntityInput,
    ReactorDelivery,
    RememberedReply,
    compact_json,
    error_to_wire,
)
from ._search import ROUTER_DEFINITION, ROUTER_STATE

__all__ = [
    "JSON_METADATA",
    "MAX_UNPACKED_BYTES",
    "Outbox",
    "Remembered",
    "already_applied",
    "carried_replies",
    "dispatch_request",
    "entity_input",
    "pack_replies",
    "reactor_deliveries",
    "remembered_reply",
    "remembered_within",
    "reply_json",
    "start_search_attributes",
    "unpack_replies",
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


#: A remembered reply: the reply, or its JSON exactly as the entity sent it (kept that way,
#: carrying it across continue-as-new costs no serialization).
Remembered = DispatchReply | bytes


def remembered_within(
    recent: OrderedDict[str, Remembered], budget: int
) -> tuple[list[RememberedReply], str | None]:
    """The replies of ``recent`` to carry across continue-as-new in at most ``budget``
    bytes: packed (see :func:`pack_replies`), as many of the newest as fit, whole; older
    command ids that still fit are kept with a small ``ALREADY_APPLIED`` reply (still
    applied once), unpacked, and the rest are forgotten.

    Returns the unpacked replies (oldest first) and the packed ones (None: none).
    """
    entries = list(recent.items())
    packed: str | None = None
    # Each halving costs one compression of what is left (about 1 ms for 1,000 replies).
    while entries:
        raw = _pack_json(entries)
        if len(raw) <= MAX_UNPACKED_BYTES:
            packed = _deflate(raw)
            if len(packed) <= budget // 2:
                break
        # At least one less: the newest reply alone may not fit (then none is packed).
        entries = entries[max(1, len(entries) // 2) :]
    else:
        packed = None
    budget -= len(packed or "")
    kept: list[RememberedReply] = []
    older = list(recent)[: len(recent) - len(entries)]
    for command_id in reversed(older):
        remembered = RememberedReply(command_id, already_applied(command_id))
        size = len(to_json(remembered))
        if size > budget:
            break
        budget -= size
        kept.append(remembered)
    return kept[::-1], packed


#: The most JSON packed replies unpack to: what :func:`remembered_within` packs stays
#: within it, so a crafted input cannot make a worker inflate more.
MAX_UNPACKED_BYTES = 16 * LIMITS.max_carry_bytes

_REPLY: TypeAdapter[DispatchReply] = TypeAdapter(DispatchReply)


def reply_json(reply: Remembered) -> bytes:
    """The JSON a remembered reply is sent as."""
    return reply if isinstance(reply, bytes) else compact_json(reply)


def remembered_reply(reply: Remembered) -> DispatchReply:
    """A remembered reply as a :class:`DispatchReply` (decoded if it was kept as JSON; one
    that does not decode, which only a trusted raw start could carry, is a failure)."""
    if not isinstance(reply, bytes):
        return reply
    try:
        return _REPLY.validate_json(reply)
    except ValueError as exc:
        failure = UnexpectedFailure(exc, f"the remembered reply does not decode: {exc}")
        return DispatchReply(ok=False, error=error_to_wire(failure))


def _pack_json(entries: list[tuple[str, Remembered]]) -> bytes:
    # Each reply stays a JSON string inside: unpacking then parses strings, not replies,
    # and a reply is decoded only if its command is retried.
    return to_json([[command_id, reply_json(reply).decode()] for command_id, reply in entries])


def pack_replies(entries: list[tuple[str, Remembered]]) -> str:
    """``(command id, reply)`` pairs as zlib-compressed JSON in base64: a list of
    ``[command_id, reply_json]`` (deterministic for a given input)."""
    return _deflate(_pack_json(entries))


def _deflate(raw: bytes) -> str:
    # Level 1: a few per cent larger than the default level, several times faster, and
    # the continue-as-new command waits for it.
    return base64.b64encode(zlib.compress(raw, 1)).decode("ascii")


def carried_replies(input: EntityInput, limit: int) -> OrderedDict[str, Remembered]:
    """The newest ``limit`` replies a continued run's input carries, by command id, oldest
    first."""
    replies: list[tuple[str, Remembered]] = [(r.command_id, r.reply) for r in input.recent]
    replies += unpack_replies(input.recent_packed)
    return OrderedDict(replies[max(0, len(replies) - limit) :])


def unpack_replies(packed: str | None) -> list[tuple[str, Remembered]]:
    """What :func:`pack_replies` packed, each reply still JSON; nothing if it does not
    unpack, has another shape, or would unpack to more than :data:`MAX_UNPACKED_BYTES`."""
    if not packed:
        return []
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(packed, validate=True), MAX_UNPACKED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            return []
        entries = from_json(raw)
    except (binascii.Error, zlib.error, ValueError):
        return []
    if not isinstance(entries, list) or not all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], str)
        for e in entries
    ):
        return []
    return [(command_id, reply.encode()) for command_id, reply in entries]


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
