"""The entity workflow: one long-running Temporal workflow per router workflow instance.

An entity owns its state. Commands arrive as the ``dispatch`` Update; its validator rejects,
without writing history, what can be rejected without state (an unknown command, an invalid
payload, a version that is already stale). Accepted commands run the router's ``dispatch``
one at a time (an ``asyncio.Lock``: handlers may await, and Temporal interleaves update
handlers at every await). The ``snapshot`` query returns the current snapshot.

Exactly-once: the update id is the command id. Temporal deduplicates update ids within a run;
the entity also remembers the replies of its recent commands across continue-as-new, so a
retried command id gets the original reply instead of being applied twice.

Bounded history: the entity continues-as-new when the server suggests it or its history
passes ``EntityOptions.max_history_events``, after every handler has finished, carrying the
snapshot, the remembered replies and undelivered reactor commands.

Per-router workflow classes are made by :func:`entity_workflow_class` and live in this
module, which ``temporal_router.adapter.RouterPlugin`` passes through the sandbox:
the sandbox imports a workflow class from its module by name, so this module must be the
same object inside and outside the sandbox.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic_core import to_json
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import (
    RawValue,
)
from temporalio.exceptions import ActivityError, ApplicationError

from ..router import (
    Command,
    DispatchResult,
    RouterFailure,
    UnexpectedFailure,
    UnknownNameError,
    ValidationError,
    ValidationFailure,
    Workflow,
    WorkflowRouter,
    issue_messages,
    migrate,
)
from ._admission import (
    NEXT_TASK,
    REPLY_BUDGET_PATCH,
    TOO_LARGE,
    TaskBudget,
    admit_request,
    busy,
    creation_refusal,
    may_hold_non_finite,
    refusal,
    request_problem,
    via_hook_problem,
)
from ._entity_io import (
    JSON_METADATA,
    Outbox,
    Remembered,
    carried_replies,
    dispatch_request,
    entity_input,
    reactor_deliveries,
    remembered_reply,
    remembered_within,
    reply_json,
)
from ._inbox import HookInbox
from ._limits import LIMITS, json_problem
from ._messages import (
    DELIVER_ACTIVITY,
    DISPATCH_UPDATE,
    HOOK_REQUEST_SIGNAL,
    HOOK_REQUEST_UPDATE,
    HOOK_SIGNAL,
    SNAPSHOT_QUERY,
    DispatchReply,
    DispatchRequest,
    EntityInput,
    HookRequest,
    HookState,
    ReactorDelivery,
    error_to_wire,
    is_pydantic_json,
    reply_and_json,
    result_to_reply,
)
from ._options import EntityOptions
from ._requests import authorize_hook_request, receive_hook_request, start_hook_for_client
from ._search import ROUTER_STATE
from ._trust import carried_in, worker_trust_for

__all__ = [
    "EntityOptions",
    "EntityWorkflow",
    "entity_workflow_class",
]


class EntityWorkflow:
    """Base of the per-router entity workflow classes (see :func:`entity_workflow_class`)."""

    router: ClassVar[WorkflowRouter]
    options: ClassVar[EntityOptions]

    _workflow: Workflow
    _version: int

    def __init__(self, input: EntityInput | RawValue) -> None:
        raw = input.payload.data if isinstance(input, RawValue) else b""
        input = entity_input(input)
        #: True for a creation: a run started by a client, not this entity's own
        #: continue-as-new. With a key ring, only an input this entity's worker sealed when
        #: it continued as new is carried state; a client's start (a cron or retry run too)
        #: is a creation whatever else its input holds (a snapshot, replies, an outbox).
        #: Without one the namespace is trusted (development): a continued run's input is
        #: believed, and a client may start an entity from a snapshot.
        info = workflow.info()
        if worker_trust_for(info.task_queue).keys is None:
            self._creating = info.continued_run_id is None and input.snapshot is None
        else:
            self._creating = not carried_in(raw)
        if self._creating:
            input = EntityInput(input.definition, input.create, short_replies=input.short_replies)
        self._creation_decided = not self._creating
        self._short_for = info.workflow_id if input.short_replies else None
        self._creation_error: ApplicationError | None = None
        self._lock = asyncio.Lock()
        # Carried state within its bounds (a raw start may carry any, without a key ring).
        self._recent = carried_replies(input, self.options.remember_commands)
        self._outbox = Outbox(input.outbox)
        #: Commands the validator decoded and parsed, for the handler (by update id).
        self._parsed: dict[str, tuple[DispatchRequest, Command]] = {}
        self._raw_replies: bool | None = None
        self._run_number = input.run_number
        self._max_history_events = input.max_history_events or self.options.max_history_events
        self._hook_lock = asyncio.Lock()
        self._hook_waits = 0
        #: The run loop decided to continue-as-new: new commands wait for the next run.
        self._draining = False
        #: Requests (and their expected replies) the validator let into this task; the
        #: replies this task sends (see _admission).
        self._admitted = TaskBudget(LIMITS.max_task_admitted_bytes)
        self._replies = TaskBudget(LIMITS.max_task_reply_bytes)
        self._reply_estimate = 0
        # Carried across continue-as-new; the hook primitives reach it as HookHost.hook_inbox.
        self._inbox = HookInbox(input.hook_state.inbox)
        # Raised from ``run``: from here, the never-started run would warn "never awaited".
        self._load_error: ApplicationError | None = None
        try:
            self._workflow, self._version = self._load(input)
        except ApplicationError as exc:
            self._load_error = exc

    def _load(self, input: EntityInput) -> tuple[Workflow, int]:
        definition = self.router.definition
        if input.snapshot is not None:
            snapshot = input.snapshot
            pipeline = self.options.migrations
            if pipeline is not None and snapshot.get("model_version", 1) < pipeline.target_version:
                migrated = migrate(pipeline, snapshot)
                if not migrated.ok or migrated.snapshot is None:
                    raise ApplicationError(
                        f"cannot migrate snapshot: {migrated.error}", non_retryable=True
                    )
                snapshot = migrated.snapshot
            restored = definition.deserialize(snapshot)
            if not restored.ok or restored.workflow is None:
                raise ApplicationError(
                    f"cannot restore snapshot: {restored.error}", non_retryable=True
                )
            return restored.workflow, int(snapshot.get("version", 1))
        if input.create is not None:
            problem = json_problem(input.create.data, "data")
            if problem is not None:
                raise ApplicationError(f"cannot create entity: {problem}", non_retryable=True)
            try:
                created = definition.create_workflow(
                    workflow.info().workflow_id,
                    initial_state=input.create.initial_state,
                    data=input.create.data,
                    # Not workflow.now(): a first task with no commands is folded into the
                    # next one when a worker without the entity in cache rebuilds it, so
                    # now() here would give another time than the first worker saw.
                    now=workflow.info().workflow_start_time,
                )
            except (UnknownNameError, ValidationError) as exc:
                raise ApplicationError(f"cannot create entity: {exc}", non_retryable=True) from None
            size = len(to_json(definition.serialize(created, version=1)))
            if size > LIMITS.max_reply_bytes:
                raise ApplicationError(
                    f"cannot create entity: its state is too large: {size} bytes, limit "
                    f"{LIMITS.max_reply_bytes}",
                    non_retryable=True,
                )
            return created, 1
        raise ApplicationError("entity input needs 'create' or 'snapshot'", non_retryable=True)

    # -- run loop ------------------------------------------------------------------------

    async def run(self, input: EntityInput | RawValue) -> None:
        """Deliver reactor commands; continue-as-new before history grows large."""
        if self._load_error is not None:
            raise self._load_error
        refused = self._creation_refusal()
        if refused is not None:
            raise refused
        while True:
            await workflow.wait_condition(lambda: bool(self._outbox) or self._history_is_long())
            while self._outbox:
                item = self._outbox.first()
                try:
                    await self._deliver(item)
                except ActivityError as exc:
                    # Delivery failed for good (the target does not exist or is closed):
                    # the entity that emitted the event must not fail because of it.
                    workflow.logger.warning(
                        "reactor command %s to %r not delivered: %s",
                        item.command_id,
                        item.workflow_id,
                        exc.cause or exc,
                    )
                self._outbox.pop_first()
            if self._history_is_long():
                self._draining = True
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() and not self._lock.locked()
                )
                if self._outbox:
                    continue
                workflow.continue_as_new(self._carry_over())

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._max_history_events
        )

    def _carry_over(self) -> EntityInput:
        definition = self.router.definition
        carried = EntityInput(
            definition=definition.name,
            snapshot=dict(definition.serialize(self._workflow, version=self._version)),
            outbox=list(self._outbox.items),
            hook_state=HookState(inbox=self._inbox.to_state()),
            run_number=self._run_number + 1,
            # The next run takes this worker's bound: configuration changes apply from there.
            max_history_events=self.options.max_history_events,
            short_replies=True,
        )
        # Within LIMITS.max_carry_bytes: the remembered replies get what the rest leaves.
        budget = max(0, LIMITS.max_carry_bytes - len(to_json(carried)))
        carried.recent, carried.recent_packed = remembered_within(self._recent, budget)
        return carried

    async def _deliver(self, item: ReactorDelivery) -> None:
        await workflow.execute_activity(
            DELIVER_ACTIVITY,
            item,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=self.options.delivery_retry,
        )

    def _creation_refusal(self) -> ApplicationError | None:
        """Why this run's creation is refused (the run then fails, holding no state), once
        decided; None if it is allowed or the run is a continuation. Decided on first need:
        the start's first command may run before ``run``."""
        if not self._creation_decided:
            self._creation_error = creation_refusal(self.router, self._workflow)
            self._creation_decided = True
        return self._creation_error

    # -- hooks (the entity is a HookHost) ------------------------------------------------

    @workflow.signal(name=HOOK_SIGNAL)
    def receive_hook_signal(self, answer: RawValue) -> None:
        """An answer (or final failure) for a ``wait_for``/``exec_hook`` in this entity."""
        self._inbox.receive_raw(answer)

    @workflow.signal(name=HOOK_REQUEST_SIGNAL)
    async def receive_hook_request(self, request: RawValue) -> None:
        """Start a hook on behalf of another workflow (a sealed signal)."""
        await receive_hook_request(request)

    @workflow.update(name=HOOK_REQUEST_UPDATE)
    async def request_hook(self, request: HookRequest) -> str:
        """Start a hook a client asked for; its id."""
        return await start_hook_for_client(request)

    @request_hook.validator
    def validate_hook_request(self, request: HookRequest) -> None:
        """Refuse a client's hook request the trust policy does not allow."""
        self._refuse_if_not_admitted()
        authorize_hook_request(request)

    def hook_inbox(self) -> HookInbox:
        """The hook answers received and not yet consumed."""
        return self._inbox

    def committed(self) -> tuple[Workflow, int]:
        """The committed workflow and its version (1 at creation, +1 per applied command)."""
        return self._workflow, self._version

    def begin_hook_wait(self) -> None:
        """A dispatch holding the lock starts waiting for a hook: let hooks' commands in."""
        self._hook_waits += 1

    def end_hook_wait(self) -> None:
        """The waiting dispatch woke up."""
        self._hook_waits -= 1

    # -- queries ---------------------------------------------------------------------------

    @workflow.query(name=SNAPSHOT_QUERY)
    def snapshot(self) -> dict[str, Any]:
        """The current snapshot, ``version`` included."""
        if self._load_error is not None:
            raise self._load_error
        refused = self._creation_refusal()
        if refused is not None:
            raise refused
        return dict(self.router.definition.serialize(self._workflow, version=self._version))

    # -- commands --------------------------------------------------------------------------

    # A DispatchRequest taken raw (see _DISPATCH_REQUEST); a DispatchReply sent as its JSON.
    @workflow.update(name=DISPATCH_UPDATE)
    async def dispatch(self, request: RawValue) -> DispatchReply:
        """Run one command through the router; commands run one at a time."""
        command_id = _current_update_id()
        remembered = self._recent.get(command_id)
        if remembered is not None:
            self._parsed.pop(command_id, None)
            return await self._reply(remembered, None)
        parsed = self._parsed.pop(command_id, None)
        decoded = parsed[0] if parsed is not None else dispatch_request(request)
        # A hook's command while the lock holder awaits a hook runs now (else: deadlock).
        reentrant = decoded.via_hook is not None and self._hook_waits > 0
        async with self._hook_lock if reentrant else self._lock:
            remembered = self._recent.get(command_id)
            if remembered is not None:
                return await self._reply(remembered, None)
            command = parsed[1] if parsed is not None else None
            reply, serialized = await self._dispatch_locked(command_id, decoded, command)
            self._remember(command_id, reply if serialized is None else serialized)
        return await self._reply(reply, serialized)

    async def _reply(self, reply: Remembered, serialized: bytes | None) -> DispatchReply:
        """Send ``reply`` (or its JSON) from this workflow task, or from the next if this
        one's replies are already at their budget (a 1 ms timer ends the task)."""
        serialized = reply if isinstance(reply, bytes) else serialized
        size = len(serialized) if serialized is not None else len(to_json(reply))
        # The patch keeps histories from before the budget replaying as they were recorded.
        # Replies that waited wake in the same task: each checks again (one always fits).
        while not self._replies.fits(size) and workflow.patched(REPLY_BUDGET_PATCH):
            await workflow.sleep(NEXT_TASK)
        self._replies.spend(size)
        if serialized is not None:
            if self._raw_replies is None:
                self._raw_replies = is_pydantic_json(workflow.payload_converter())
            if self._raw_replies:
                return cast(
                    DispatchReply, RawValue(Payload(metadata=JSON_METADATA, data=serialized))
                )
        return remembered_reply(reply)

    @dispatch.validator
    def validate_dispatch(self, request: RawValue) -> None:
        """Refuse, leaving no history, what breaks a rule or a limit whatever the entity's
        state, and what the entity cannot take right now (``BUSY``)."""
        self._refuse_if_not_admitted()
        command_id = _current_update_id()
        # Every request is measured and decoded, a retried command id too: it is echoed
        # back like any other, and its reply sent again.
        decoded, size = admit_request(request)
        remembered = self._recent.get(command_id)
        if remembered is not None:
            cost = size + len(reply_json(remembered))
            if not self._admitted.fits(cost):
                raise refusal(busy("the entity has taken as many commands as one step carries"))
            self._admitted.spend(cost)
            return
        problem = request_problem(decoded, size) or via_hook_problem(decoded, command_id)
        if problem is not None:
            raise refusal(problem)
        definition = self.router.definition
        try:
            command = definition.parse_command({"type": decoded.type, "payload": decoded.payload})
        except UnknownNameError as exc:
            raise refusal(RouterFailure("UNKNOWN_COMMAND", str(exc))) from None
        except ValidationError as exc:
            message = f"Invalid command payload: {issue_messages(exc.issues)}"
            raise refusal(ValidationFailure("command", exc.issues, message)) from None
        expected = decoded.expected_version
        if expected is not None and expected < self._version:
            raise refusal(self._conflict(expected))
        if self._draining:
            # New commands wait for the next run: under a steady stream, handlers would
            # never all finish, and history would grow until the server terminates the run.
            raise refusal(busy("the entity is continuing as new"))
        cost = size + self._reply_estimate
        if not self._admitted.fits(cost):
            raise refusal(busy("the entity has taken as many commands as one step carries"))
        if self.options.reactors is not None and self._outbox.full():
            raise refusal(busy("the entity's reactor commands wait for delivery"))
        self._admitted.spend(cost)
        # Validators do not run on replay, so this is a cache the handler can do without.
        self._parsed[command_id] = (decoded, command)

    async def _dispatch_locked(
        self, command_id: str, request: DispatchRequest, parsed: Command | None
    ) -> tuple[DispatchReply, bytes | None]:
        """The reply, and its JSON if it was serialized (to check its size) on the way."""
        definition = self.router.definition
        if request.expected_version is not None and request.expected_version != self._version:
            error = error_to_wire(self._conflict(request.expected_version))
            return DispatchReply(ok=False, error=error), None
        command: Any = parsed or {"type": request.type, "payload": request.payload}
        result = await self._run_router(command)
        if not result.ok or result.workflow is None:
            return result_to_reply(result, definition, self._version), None
        # Serialized before committing: what cannot be sent fails this command, not each task.
        try:
            reply, serialized = reply_and_json(
                result, definition, self._version + 1, self._short_for
            )
        except Exception as exc:
            failure = UnexpectedFailure(exc, f"the command's result cannot be serialized: {exc}")
            return self._failure_reply(failure), None
        size = len(serialized)
        if size > LIMITS.max_reply_bytes:
            message = (
                f"the command's result is too large: {size} bytes, limit {LIMITS.max_reply_bytes}"
            )
            return self._failure_reply(RouterFailure(TOO_LARGE, message)), None
        if may_hold_non_finite(serialized):
            problem = json_problem(reply.snapshot, "result") or json_problem(reply.events, "events")
            if problem is not None:
                message = f"the command's result is not JSON: {problem}"
                return self._failure_reply(UnexpectedFailure(ValueError(message), message)), None
        reactions = self._reactions(command_id, result)
        if reactions and not self._outbox.takes(reactions):
            # Room frees up as the run loop delivers; a command cannot be refused for good
            # after it was accepted (Temporal answers its id again with the same reply).
            await workflow.wait_condition(
                lambda: self._outbox.takes(reactions), timeout=_OUTBOX_WAIT
            )
            if not self._outbox.takes(reactions):
                message = (
                    "the entity's reactor commands wait for delivery; the command was not "
                    "applied: send it again later, with a new command id"
                )
                return self._failure_reply(RouterFailure("OUTBOX_FULL", message)), None
        previous_state = self._workflow.state
        self._workflow = result.workflow
        self._version += 1
        self._reply_estimate = size
        if result.workflow.state != previous_state and self.options.search_attributes:
            workflow.upsert_search_attributes([ROUTER_STATE.value_set(result.workflow.state)])
        self._outbox.add(reactions)
        return reply, serialized

    def _refuse_if_not_admitted(self) -> None:
        """In a validator: refuse while the entity failed to load or its creation is refused."""
        if self._load_error is not None:
            raise self._load_error
        refused = self._creation_refusal()
        if refused is not None:
            raise refusal(RouterFailure("FORBIDDEN", refused.message))

    def _failure_reply(self, failure: UnexpectedFailure | RouterFailure) -> DispatchReply:
        return result_to_reply(
            DispatchResult.failure(failure), self.router.definition, self._version
        )

    async def _run_router(self, command: Any) -> DispatchResult:
        dispatching = self.router.dispatch(self._workflow, command, now=workflow.now())
        timeout = self.options.dispatch_timeout
        if timeout is None:
            return await dispatching
        try:
            return await asyncio.wait_for(dispatching, timeout=timeout.total_seconds())
        except TimeoutError as exc:
            return DispatchResult.failure(
                UnexpectedFailure(exc, f"dispatch did not finish within {timeout}")
            )

    def _reactions(self, command_id: str, result: DispatchResult) -> list[ReactorDelivery]:
        reactors = self.options.reactors
        if reactors is None or not result.events:
            return []
        return reactor_deliveries(reactors, self.router, command_id, result.events)

    def _conflict(self, expected: int) -> RouterFailure:
        return RouterFailure(
            "VERSION_CONFLICT",
            f"expected version {expected}, entity is at version {self._version}",
        )

    def _remember(self, command_id: str, reply: Remembered) -> None:
        self._recent[command_id] = reply
        while len(self._recent) > self.options.remember_commands:
            self._recent.popitem(last=False)


#: How long a command waits for room in the reactor outbox before it fails.
_OUTBOX_WAIT = timedelta(seconds=30)


def _current_update_id() -> str:
    info = workflow.current_update_info()
    if info is None:  # pragma: no cover - only reachable by misuse
        raise RuntimeError("not inside an update")
    return info.id


_class_numbers = itertools.count(1)
#: The names entity_workflow_class() gives its classes start with this.
_CLASS_PREFIX = "Entity_"
_classes: dict[tuple[Any, ...], type[EntityWorkflow]] = {}


def entity_workflow_class(
    router: WorkflowRouter, options: EntityOptions | None = None
) -> type[EntityWorkflow]:
    """The Temporal workflow class hosting ``router``; its type name is the definition name.

    The same router and options always give the same class, so installing a plugin twice
    registers nothing twice.
    """
    options = options or EntityOptions()
    key = (
        id(router),
        options.max_history_events,
        options.remember_commands,
        options.dispatch_timeout,
        options.search_attributes,
        id(options.reactors),
        id(options.migrations),
    )
    existing = _classes.get(key)
    if existing is not None and existing.router is router:
        return existing

    safe = re.sub(r"\W", "_", router.definition.name)
    name = f"{_CLASS_PREFIX}{safe}_{next(_class_numbers)}"

    # temporalio refuses run methods of local classes; these functions are given the
    # qualified names of methods of a module-level class before they are decorated.
    # `self` stays unannotated: temporalio would otherwise count it as a workflow argument.
    # The input arrives undecoded (see _ENTITY_INPUT); the payload is an EntityInput.
    def __init__(self, input: RawValue) -> None:  # type: ignore[no-untyped-def]
        EntityWorkflow.__init__(self, input)

    async def run(self, input: RawValue) -> None:  # type: ignore[no-untyped-def]
        await EntityWorkflow.run(self, input)

    for method in (__init__, run):
        method.__qualname__ = f"{name}.{method.__name__}"
    namespace = {
        "__init__": workflow.init(__init__),
        "run": workflow.run(run),
        "__module__": __name__,
        "__qualname__": name,
        "router": router,
        "options": options,
    }
    Entity = type(name, (EntityWorkflow,), namespace)
    globals()[name] = Entity
    cls = workflow.defn(name=router.definition.name)(Entity)
    _classes[key] = cls
    return cls


if not TYPE_CHECKING:  # a module __getattr__ would make type checkers accept any name

    def __getattr__(name: str) -> Any:
        # A sandbox that re-imports this module instead of passing it through gets a copy
        # without the classes entity_workflow_class() made at run time, and temporalio's
        # "Failed validating workflow" would say only "cannot import name". An ImportError
        # raised here is what `from ... import` shows, so it can name the fix.
        if name.startswith(_CLASS_PREFIX) and workflow.unsafe.in_sandbox():
            raise ImportError(
                f"entity workflow class {name} is made at run time in {__name__}, which this "
                "worker's sandbox re-imports: pass 'temporal_router.workflows' through the "
                "sandbox (RouterPlugin does; a workflow_runner set after it, by the "
                "application or another plugin, replaces its pass-through)",
                name=__name__,
            )
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
