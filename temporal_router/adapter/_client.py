"""``RouterClient``: create entities, dispatch commands, read and list them over Temporal."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import RawValue, WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from ..router import (
    Caller,
    Command,
    CommandLike,
    ConfigurationError,
    DispatchResult,
    RouterFailure,
    ValidationError,
    ValidationFailure,
    Workflow,
    WorkflowDefinition,
    WorkflowRouter,
    current_caller,
    dump_model,
)
from ..workflows import (
    LIMITS,
    ROUTER_DEFINITION,
    ROUTER_STATE,
    SNAPSHOT_QUERY,
    DispatchRequest,
)

# How a client encodes what an entity reads and which input the entity refuses: internals
# of the workflows package, shared with the entity so that both sides agree byte for byte
# and rule for rule; not part of its public API.
from ..workflows._admission import BUSY, invalid, request_problem
from ..workflows._entity_io import start_search_attributes
from ..workflows._limits import id_problem, json_problem
from ..workflows._messages import (
    CreateSpec,
    EntityInput,
    compact_json,
    is_pydantic_json,
    reply_to_result,
)
from ._credentials import CredentialSource
from ._hook_client import HookClient, missing_workflow
from ._interceptor import caller_size
from ._send import send_command

__all__ = ["EntityListing", "RouterClient", "Snapshot"]

#: Temporal admits only a few in-flight updates per workflow (the server's
#: ``history.maxInFlightUpdates``, 10 by default) and bounces the rest with
#: RESOURCE_EXHAUSTED; a RouterClient keeps at most this many dispatches to one entity in
#: flight and queues the others.
DEFAULT_MAX_IN_FLIGHT_PER_ENTITY = 8
#: How long a dispatch keeps retrying the server's transient refusals (too many in-flight
#: updates, an update aborted because its workflow task was lost) with the same command id.
_TRANSIENT_RETRY_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An entity as ``RouterClient.get`` reads it: the workflow plus its version."""

    workflow: Workflow
    version: int
    model_version: int

    @property
    def id(self) -> str:
        """The entity (workflow) id."""
        return self.workflow.id

    @property
    def state(self) -> str:
        """The current state."""
        return self.workflow.state

    @property
    def data(self) -> Any:
        """The validated data of the current state."""
        return self.workflow.data

    @property
    def created_at(self) -> datetime:
        """When the entity was created."""
        return self.workflow.created_at

    @property
    def updated_at(self) -> datetime:
        """When the last successful command was applied."""
        return self.workflow.updated_at


@dataclass(frozen=True, slots=True)
class EntityListing:
    """One entity as Temporal visibility lists it (visibility is eventually consistent)."""

    id: str
    state: str | None
    definition_name: str | None
    run_id: str | None
    start_time: datetime | None


def _as_create_spec(definition: WorkflowDefinition, create: Any) -> CreateSpec:
    """The spec of a new entity, checked as the entity checks it, so that a creation it
    would refuse fails before anything is sent.

    Raises:
        ValidationError: unknown state, data its schema refuses, data that is not JSON this
            library accepts, or a state over the size limit.
    """
    if isinstance(create, CreateSpec):
        spec = create
    elif isinstance(create, Mapping):
        spec = CreateSpec(create["initial_state"], _as_dict(create.get("data", {})))
    else:
        raise TypeError(f"create= takes {{'initial_state': ..., 'data': ...}}, got {create!r}")
    problem = json_problem(spec.data, "data")
    if problem is not None:
        raise ValidationError("state", [_issue("data", problem)])
    validated = definition.validate("state", spec.initial_state, spec.data, source="state")
    size = len(to_json(validated)) + len(to_json(spec.initial_state))
    if size > LIMITS.max_reply_bytes:
        message = f"data too large: {size} bytes, limit {LIMITS.max_reply_bytes}"
        raise ValidationError("state", [_issue("data", message, "too_large")])
    return spec


def _issue(field: str, message: str, kind: str = "value_error") -> dict[str, Any]:
    return {"type": kind, "loc": (field,), "msg": message, "input": None}


def _as_dict(data: Any) -> dict[str, Any]:
    if isinstance(data, BaseModel):
        return dump_model(data)
    return dict(data)


class RouterClient(HookClient):
    """Talk to the entities of one router definition through a Temporal client; also a
    :class:`HookClient` (``hook``, ``signal``).

    Args:
        client: A connected client (its plugins should include ``RouterPlugin`` so the data
            converter matches the workers').
        definition_or_router: The definition (or a router, for its definition).
        task_queue: Where the entity workflows run.
        context: The default caller for this client's calls (a :class:`Caller` or its
            fields as a dict); a :func:`caller_context` block around a call takes
            precedence.
        max_in_flight_per_entity: Dispatches to one entity this client keeps in flight at
            once; the others wait their turn here instead of being bounced by the server.
        credentials: Makes the credential each call carries (a :class:`SharedSecretSigner`
            signs the current caller; a :class:`StaticToken` sends a JWT); workers that
            verify callers believe only that (SECURITY.md).

    Example::

        orders = RouterClient(client, order_router, task_queue="orders")
        await orders.create("o-1", initial_state="Placed", data={"total": 30})
        result = await orders.dispatch("o-1", {"type": "Pay", "payload": {"amount": 30}})
    """

    def __init__(
        self,
        client: Client,
        definition_or_router: WorkflowDefinition | WorkflowRouter,
        *,
        task_queue: str,
        context: Caller | Mapping[str, Any] | None = None,
        max_in_flight_per_entity: int = DEFAULT_MAX_IN_FLIGHT_PER_ENTITY,
        credentials: CredentialSource | None = None,
    ) -> None:
        super().__init__(client, context=context, credentials=credentials)
        if max_in_flight_per_entity < 1:
            raise ConfigurationError(
                f"max_in_flight_per_entity must be >= 1, got {max_in_flight_per_entity}"
            )
        if isinstance(definition_or_router, WorkflowRouter):
            definition = definition_or_router.definition
        elif isinstance(definition_or_router, WorkflowDefinition):
            definition = definition_or_router
        else:
            raise ConfigurationError(
                f"RouterClient needs a WorkflowDefinition or WorkflowRouter, got {definition_or_router!r}"
            )
        if not task_queue:
            raise ConfigurationError("RouterClient needs a task_queue")
        self.definition = definition
        self.task_queue = task_queue
        self.max_in_flight_per_entity = max_in_flight_per_entity
        self._gates: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @property
    def workflow_type(self) -> str:
        """The Temporal workflow type of the entities (the definition name)."""
        return self.definition.name

    async def create(self, id: str, *, initial_state: str, data: Any) -> Workflow:
        """Start entity ``id`` in ``initial_state`` with ``data`` and return it.

        An invalid id, state or data, data over the size limit, or a caller over its limit
        raise :class:`~temporal_router.ValidationError` before anything is sent; an
        existing id raises ``temporalio.exceptions.WorkflowAlreadyStartedError``.
        """
        problem = id_problem(id, "id") or self._caller_problem()
        if problem is not None:
            raise ValidationError("create", [_issue(problem.split(" ")[0], problem)])
        spec = _as_create_spec(self.definition, {"initial_state": initial_state, "data": data})
        with self._call():
            handle = await self.client.start_workflow(
                self.workflow_type,
                EntityInput(self.definition.name, create=spec, short_replies=True),
                id=id,
                task_queue=self.task_queue,
                search_attributes=start_search_attributes(self.definition.name, spec.initial_state),
            )
            snapshot = await handle.query(SNAPSHOT_QUERY, result_type=dict)
        return self._restore(snapshot).workflow

    async def dispatch(
        self,
        id: str,
        command: CommandLike,
        *,
        command_id: str | None = None,
        expected_version: int | None = None,
        create: Mapping[str, Any] | CreateSpec | None = None,
    ) -> DispatchResult:
        """Send ``command`` to entity ``id`` and return the router's result.

        Args:
            command_id: Makes the command exactly-once: a retry with the same id returns
                the first result and applies nothing again. Default: a fresh uuid4.
            expected_version: Refuse (``router`` / ``VERSION_CONFLICT``) unless the entity
                is at this version.
            create: ``{"initial_state": ..., "data": ...}``: start the entity first if it
                does not exist (update-with-start).

        Business outcomes come back as a failed ``DispatchResult``: the categories of the
        pure router, plus ``router`` codes ``NOT_FOUND`` (no such entity),
        ``VERSION_CONFLICT`` and ``TOO_LARGE`` (a result over the size limit). Input that
        breaks the entity's rules is a ``validation`` failure naming the field, and nothing
        is sent: an invalid id, command id or ``expected_version``, a payload that is not a
        mapping, not JSON (NaN, nesting deeper than ``LIMITS.max_depth``) or over
        ``LIMITS.max_command_bytes`` (issue type ``too_large``), a caller over its limit.
        ``router`` / ``BUSY`` (the entity cannot take it right now) is retried with backoff
        for up to a minute before it is returned. Infrastructure failures raise.
        """
        problem = (
            id_problem(id, "id")
            or (id_problem(command_id, "command_id") if command_id is not None else None)
            or self._caller_problem()
        )
        if problem is not None:
            return DispatchResult.failure(invalid(problem.split(" ")[0], problem))
        try:
            command_type, payload = _split_command(command)
        except (TypeError, ValueError) as exc:
            issue = {
                "type": "command",
                "loc": ("command",),
                "msg": str(exc),
                "input": repr(command),
            }
            return DispatchResult.failure(
                ValidationFailure("command", [issue], f"Invalid command: {exc}")
            )
        request = _encode_request(
            self.client, DispatchRequest(command_type, payload, expected_version)
        )
        if isinstance(request, DispatchResult):
            return request
        if create is not None:  # raises ValidationError, as create() does
            create = _as_create_spec(self.definition, create)
        update_id = command_id or str(uuid.uuid4())
        with self._call():
            return await self._send(id, request, update_id, create)

    def _caller_problem(self) -> str | None:
        caller = current_caller() or self.context
        if caller is None:
            return None
        size = caller_size(caller)
        if size > LIMITS.max_caller_bytes:
            return f"caller too large: {size} bytes, limit {LIMITS.max_caller_bytes}"
        return None

    async def _send(
        self,
        id: str,
        request: RawValue | DispatchRequest,
        update_id: str,
        create: Mapping[str, Any] | CreateSpec | None,
    ) -> DispatchResult:
        # The entity's gate (see DEFAULT_MAX_IN_FLIGHT_PER_ENTITY), shared by the
        # dispatches to it in flight and dropped with the last of them. Inline rather than
        # a context manager: this runs for every dispatch.
        gate, users = self._gates.get(id) or (asyncio.Semaphore(self.max_in_flight_per_entity), 0)
        self._gates[id] = (gate, users + 1)
        try:
            async with gate:
                deadline = time.monotonic() + _TRANSIENT_RETRY_SECONDS
                delay = 0.05
                while True:
                    try:
                        result = await self._send_once(id, request, update_id, create)
                        # The entity refused it for now (BUSY) and applied nothing.
                        if not _is_busy(result) or time.monotonic() > deadline:
                            return result
                    except RPCError as exc:
                        # The same command id again: the entity applies it at most once.
                        if not _is_transient(exc) or time.monotonic() > deadline:
                            raise
                    await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                    delay = min(2.0, delay * 1.5)
        finally:
            gate, users = self._gates[id]
            if users == 1:
                del self._gates[id]
            else:
                self._gates[id] = (gate, users - 1)

    async def _send_once(
        self,
        id: str,
        request: RawValue | DispatchRequest,
        update_id: str,
        create: Mapping[str, Any] | CreateSpec | None,
    ) -> DispatchResult:
        start: WithStartWorkflowOperation[Any, Any] | None = None
        if create is not None:
            spec = (
                create
                if isinstance(create, CreateSpec)
                else _as_create_spec(self.definition, create)
            )
            start = WithStartWorkflowOperation(
                self.workflow_type,
                EntityInput(self.definition.name, create=spec, short_replies=True),
                id=id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                search_attributes=start_search_attributes(self.definition.name, spec.initial_state),
            )
        try:
            reply = await send_command(self.client, id, request, command_id=update_id, start=start)
        except RPCError as exc:
            if missing_workflow(exc):
                return DispatchResult.failure(
                    RouterFailure("NOT_FOUND", f"No entity {id!r}: {exc.message}")
                )
            raise
        return reply_to_result(reply, self.definition)

    async def get(self, id: str) -> Snapshot:
        """The current snapshot of entity ``id`` (a query: nothing is written)."""
        with self._call():
            snapshot = await self.client.get_workflow_handle(id).query(
                SNAPSHOT_QUERY, result_type=dict
            )
        return self._restore(snapshot)

    async def list(self, state: str | None = None) -> AsyncIterator[EntityListing]:
        """Running entities of this definition, optionally only those in ``state``.

        Uses Temporal visibility (the ``RouterState`` search attribute), which lags writes
        by a moment.
        """
        query = f"WorkflowType = '{_quote(self.workflow_type)}' AND ExecutionStatus = 'Running'"
        if state is not None:
            query += f" AND RouterState = '{_quote(state)}'"
        async for execution in self.client.list_workflows(query):
            attrs = execution.typed_search_attributes
            yield EntityListing(
                id=execution.id,
                state=attrs.get(ROUTER_STATE),
                definition_name=attrs.get(ROUTER_DEFINITION),
                run_id=execution.run_id,
                start_time=execution.start_time,
            )

    def _restore(self, snapshot: dict[str, Any]) -> Snapshot:
        restored = self.definition.deserialize(snapshot)
        if not restored.ok or restored.workflow is None:
            raise ValidationError("restore", restored.error.issues if restored.error else [])
        return Snapshot(
            restored.workflow,
            int(snapshot.get("version", 1)),
            int(snapshot.get("model_version", 1)),
        )


def _split_command(command: CommandLike) -> tuple[str, dict[str, Any]]:
    if isinstance(command, Command):
        return command.type, _payload_dict(command.payload)
    if isinstance(command, Mapping) and isinstance(command.get("type"), str):
        return command["type"], _payload_dict(command.get("payload"))
    raise TypeError(
        f"a command is Command(type, payload) or {{'type': str, 'payload': dict}}, got {command!r}"
    )


def _payload_dict(payload: Any) -> dict[str, Any]:
    # Not dict(x) of anything: a list of pairs would pass for a mapping.
    if payload is None:
        return {}
    if not isinstance(payload, (Mapping, BaseModel)):
        raise TypeError(f"a command's payload is a mapping, got {type(payload).__name__}")
    return _as_dict(payload)


_JSON_METADATA = {"encoding": b"json/plain"}


def _encode_request(
    client: Client, request: DispatchRequest
) -> RawValue | DispatchRequest | DispatchResult:
    """What to send for ``request``, or a validation failure if Temporal could not carry it
    (then nothing is sent).

    The request is serialized here to check its size; with the plugin's pydantic converter
    (``json/plain``, ``pydantic_core.to_json``, what it would produce itself) that payload is
    what is sent, so the request is serialized once. Another converter may depend on the
    serialization context of the call: the request then goes as is and the client's
    converter serializes it again.
    """
    converter = client.data_converter.payload_converter
    fast = is_pydantic_json(converter)
    problem = json_problem(request.payload, "payload")
    if problem is not None:  # before serializing: JSON would turn NaN into null silently
        return DispatchResult.failure(invalid("payload", problem))
    try:
        if fast:
            # Unset fields are left out: the entity reads them as their defaults.
            payload = Payload(metadata=_JSON_METADATA, data=compact_json(request))
        else:
            payload = converter.to_payloads([request])[0]
    except Exception as exc:
        message = f"Command payload cannot be serialized: {exc}"
        issue = {"type": "serialization", "loc": ("payload",), "msg": message, "input": None}
        return DispatchResult.failure(ValidationFailure("command", [issue], message))
    # The entity's validator applies the same rules to what arrives.
    refused = request_problem(request, payload.ByteSize())
    if refused is not None:
        return DispatchResult.failure(refused)
    return RawValue(payload) if fast else request


def _is_busy(result: DispatchResult) -> bool:
    error = result.error
    return isinstance(error, RouterFailure) and error.code == BUSY


def _is_transient(exc: RPCError) -> bool:
    """A refusal worth retrying with the same update id (the SDK's own retries ran out)."""
    if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return True
    return exc.status == RPCStatusCode.UNAVAILABLE and "update was aborted" in exc.message


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
