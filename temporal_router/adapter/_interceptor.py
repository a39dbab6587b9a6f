"""The interceptor ``RouterPlugin`` installs on clients and workers.

**Caller context.** The client side writes the current :class:`~temporal_router.Caller`
(from :func:`~temporal_router.caller_context` or ``RouterClient(context=...)``) into the
``temporal-router-caller`` header of every workflow start, signal, query and update, and
the credential ``RouterClient`` made for the call into ``temporal-router-credential``. The
worker side establishes each inbound call's caller by its :class:`TrustPolicy`
(``adapter/_trust.py``: a verified credential, a worker-sealed header, or, without a
verifier, the header as sent) and makes it current for that call, so the entity's router
sees it as ``ctx.caller``. A call without a caller is anonymous: it never inherits the
run's creator. The outbound side copies the current caller (sealed, with the policy's key
ring) onto child workflows (hooks), activities, signals and continue-as-new, so a hook
three levels down still knows who started the chain.

**Internal messages.** With a key ring, the hook signals a workflow sends
(``__temporal_router_signal`` answers, ``__temporal_router_hook`` requests) carry a seal
over the signal, its target and its argument, and a receiving worker drops an unsealed or
forged one with a warning (``workflows/_trust.py``). Headers are not encoded by the payload codec unless the client was
connected with ``header_codec_behavior=HeaderCodecBehavior.CODEC`` (``RouterPlugin`` does
that when ``encrypt_headers=True``).

**Hook plumbing.** Every workflow gets the ``__temporal_router_hook`` signal handler, so
other workflows and clients can hook into it; a hooked workflow (last argument
``{"signal": id, "$durable": True}``) that fails for good reports the failure to its parent
under that signal id, so the parent's ``exec_hook`` raises ``HookFailed`` instead of waiting
forever ("for good": non-retryable, or the last attempt of its retry policy). The report
goes where the hook's answers go (``answer_target``: the workflow that asked for the hook).
On continue-as-new of a workflow other than an entity (entities carry theirs in their
input), the hook answers received but not yet consumed go to the next run in the
``temporal_router.inbox`` memo.

**Ordering.** Temporal runs interceptors in list order, outermost first: the client's, then
the worker's own. ``RouterPlugin`` appends this interceptor after any the application passed
directly, then the interceptors of :class:`~temporal_router.adapter.RouterExtension` objects
after it, so extensions see the caller context. Router middleware runs innermost, inside the
entity's ``dispatch`` update handler: global, then state, then inline middleware, then the
handler. ``tests/adapter/test_interceptors.py`` pins this order.

The interceptor only reads and writes headers and, on a final hook failure, signals the
parent; adding or removing it keeps histories of successful runs replayable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, NoReturn

import temporalio.api.common.v1
import temporalio.client
import temporalio.converter
import temporalio.worker
from pydantic_core import to_json
from temporalio import activity, workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from ..router import Caller, RouterFailure, current_caller, reset_current_caller, set_current_caller
from ..workflows import (
    HOOK_REQUEST_SIGNAL,
    HOOK_SIGNAL,
    LIMITS,
    SHARED_QUERY,
    SHARED_SIGNAL,
    SNAPSHOT_QUERY,
    HookAnswer,
    HookRequest,
    SharedChange,
)

# The hook plumbing, admission and trust context the interceptor runs inside every
# workflow: worker-side internals of the workflows package, not part of its public API.
from ..workflows._admission import refusal, too_large
from ..workflows._failures import run_workflow
from ..workflows._inbox import inbox_memo_for_continue_as_new
from ..workflows._requests import install_hook_request_handler
from ..workflows._shared import install_shared_state
from ..workflows._trust import CARRY_SEAL_HEADER, SEAL_HEADER, Admission, KeyRing, using_trust
from ._credentials import CREDENTIAL_HEADER
from ._trust import (
    CALLER_HEADER,
    TrustPolicy,
    caller_from_headers,
    carried_caller,
    establish_caller,
    sealed_caller_headers,
    start_origin,
)

__all__ = [
    "CALLER_HEADER",
    "CARRY_SEAL_HEADER",
    "RouterInterceptor",
    "caller_from_headers",
    "caller_size",
    "headers_size",
    "outgoing_credential",
]

_converter = temporalio.converter.PayloadConverter.default
_logger = logging.getLogger(__name__)

Headers = Mapping[str, temporalio.api.common.v1.Payload]

#: Makes the credential of each client call: ``(purpose, workflow id, update id) -> token``
#: (set by RouterClient around its calls).
CredentialFactory = Callable[[str, str, str | None], str | None]
outgoing_credential: ContextVar[CredentialFactory | None] = ContextVar(
    "temporal_router_outgoing_credential", default=None
)
#: The patch after which a run checks the seals of internal signals.
SEALED_MESSAGES_PATCH = "temporal-router-sealed-messages"
#: Signals only this library's code sends, and the type of their one argument.
_INTERNAL_SIGNALS: dict[str, type] = {
    HOOK_SIGNAL: HookAnswer,
    HOOK_REQUEST_SIGNAL: HookRequest,
    SHARED_SIGNAL: SharedChange,
}


def caller_size(caller: Caller) -> int:
    """The size of ``caller`` as its header carries it."""
    return _converter.to_payload(caller.to_dict()).ByteSize()


def headers_size(headers: Headers | None) -> int:
    """The size of all ``headers``, names included."""
    return sum(len(name) + payload.ByteSize() for name, payload in (headers or {}).items())


def _canonical(signal: str, arg: Any) -> bytes:
    """The bytes a seal of an internal signal covers: its argument as JSON."""
    if isinstance(arg, RawValue):
        arg = workflow.payload_converter().from_payload(arg.payload, _INTERNAL_SIGNALS[signal])
    return to_json(arg)


def _seal_header(keys: KeyRing, *parts: bytes | str) -> temporalio.api.common.v1.Payload:
    return temporalio.api.common.v1.Payload(
        metadata={"encoding": b"binary/plain"}, data=keys.seal(*parts).encode()
    )


# -- client side ------------------------------------------------------------------------------


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    """Adds the caller (sealed, in this worker's activities) and the credential."""

    keys: ClassVar[KeyRing | None] = None

    def _headers(
        self, headers: Headers, where: str, purpose: str, workflow_id: str, update_id: str | None
    ) -> dict[str, Any]:
        # Only calls an activity of this worker makes carry its seal: a client process
        # that happens to hold the keys must still prove its callers with credentials.
        keys = self.keys if activity.in_activity() else None
        merged = sealed_caller_headers(headers, current_caller(), keys, where)
        factory = outgoing_credential.get()
        if factory is not None and CREDENTIAL_HEADER not in merged:
            credential = factory(purpose, workflow_id, update_id)
            if credential is not None:
                merged[CREDENTIAL_HEADER] = _converter.to_payload(credential)
        return merged

    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> Any:
        # No worker seals a client's start: its caller needs a credential.
        input.headers = self._headers(input.headers, "", "start", input.id, None)
        return await super().start_workflow(input)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        where = f"signal/{input.id}/{input.signal}"
        input.headers = self._headers(input.headers, where, "signal", input.id, None)
        await super().signal_workflow(input)

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> Any:
        input.headers = self._headers(input.headers, f"query/{input.id}", "query", input.id, None)
        return await super().query_workflow(input)

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput) -> Any:
        where = f"update/{input.id}/{input.update_id}" if input.update_id else ""
        input.headers = self._headers(input.headers, where, "update", input.id, input.update_id)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> Any:
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = self._headers(start.headers, "", "start", start.id, None)
        where = f"update/{start.id}/{update.update_id}" if update.update_id else ""
        update.headers = self._headers(update.headers, where, "update", start.id, update.update_id)
        return await super().start_update_with_start_workflow(input)


# -- worker side: workflows ---------------------------------------------------------------------


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    # One instance per workflow instance (rebuilt on replay): per-run state lives here.
    policy: ClassVar[TrustPolicy] = TrustPolicy()
    _admitted: Admission | None = None
    #: The caller an update's validator established, for its handler (by update id).
    _validated: tuple[str, Caller | None] | None = None

    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        self.trust = self.policy.worker_trust()
        super().init(_WorkflowOutbound(outbound, self))
        # The Update handler now, not when the workflow function starts: a client's hook
        # request can arrive with the start, and Temporal runs the first activation's
        # updates before the workflow function, refusing those without a handler. The
        # signal handler waits for execute_workflow (see install_hook_request_handler).
        install_hook_request_handler(signal=False)

    @property
    def admission(self) -> Admission:
        # From the run's start headers, when first needed: Temporal runs signal and update
        # handlers of the first activation before the workflow function starts. Verified
        # live; a replay reads the caller the start was admitted with.
        if self._admitted is None:
            info = workflow.info()
            creator, refused = establish_caller(
                self.policy,
                info.headers,
                workflow_id=info.workflow_id,
                command_id=None,
                verify=not workflow.unsafe.is_replaying(),
                where=start_origin(info),
                purpose="start",
            )
            self._admitted = Admission(creator, refused)
        return self._admitted

    def _caller(
        self, headers: Headers | None, command_id: str | None, verify: bool, where: str
    ) -> Caller | None:
        caller, _ = establish_caller(
            self.policy,
            headers,
            workflow_id=workflow.info().workflow_id,
            command_id=command_id,
            verify=verify,
            where=where,
            purpose="update" if command_id is not None else "query",
        )
        return caller

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        admission = self.admission
        with using_trust(self.trust, admission):
            if admission.refused is not None:
                raise ApplicationError(
                    f"the start's credential was refused: {admission.refused}",
                    type="Unauthenticated",
                    non_retryable=True,
                )
            install_hook_request_handler()
            install_shared_state()
            token = set_current_caller(admission.creator)
            try:
                return await run_workflow(
                    input.run_fn,
                    input.args,
                    lambda: super(_WorkflowInbound, self).execute_workflow(input),
                )
            finally:
                reset_current_caller(token)

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        keys = self.trust.keys
        # The patch keeps histories recorded before the workers had keys replaying.
        if (
            keys is not None
            and input.signal in _INTERNAL_SIGNALS
            and workflow.patched(SEALED_MESSAGES_PATCH)
        ):
            seal = input.headers.get(SEAL_HEADER) if input.headers else None
            try:
                parts = (
                    input.signal,
                    workflow.info().workflow_id,
                    _canonical(input.signal, input.args[0]),
                )
                sealed = keys.verify(
                    seal.data.decode(errors="replace") if seal else None, "signal", *parts
                )
            except Exception:
                sealed = False
            if not sealed:
                workflow.logger.warning("dropped a %s signal without a worker's seal", input.signal)
                return
        where = f"signal/{workflow.info().workflow_id}/{input.signal}"
        caller = carried_caller(self.policy, input.headers, where)
        with using_trust(self.trust, self.admission):
            token = set_current_caller(caller)
            try:
                await super().handle_signal(input)
            finally:
                reset_current_caller(token)

    async def handle_query(self, input: temporalio.worker.HandleQueryInput) -> Any:
        # Queries are never replayed: a credential is checked each time.
        caller = self._caller(
            input.headers, None, verify=True, where=f"query/{workflow.info().workflow_id}"
        )
        protected = (SNAPSHOT_QUERY, SHARED_QUERY)
        if self.policy.protect_snapshots and input.query in protected and caller is None:
            raise ApplicationError(
                "the snapshot is protected: query it with a verified caller's credential",
                type="Unauthenticated",
                non_retryable=True,
            )
        with using_trust(self.trust, self.admission):
            token = set_current_caller(caller)
            try:
                return await super().handle_query(input)
            finally:
                reset_current_caller(token)

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        size = headers_size(input.headers)
        if size > LIMITS.max_header_bytes:
            raise refusal(too_large("headers of the command", size, LIMITS.max_header_bytes))
        caller, problem = establish_caller(
            self.policy,
            input.headers,
            workflow_id=workflow.info().workflow_id,
            command_id=input.id,
            verify=True,
            where=f"update/{workflow.info().workflow_id}/{input.id}",
            purpose="update",
        )
        if problem is not None:
            raise refusal(RouterFailure("UNAUTHENTICATED", f"credential refused: {problem}"))
        if caller is None and self.policy.require_caller:
            raise refusal(
                RouterFailure("UNAUTHENTICATED", "this entity needs a verified caller's credential")
            )
        with using_trust(self.trust, self.admission):
            token = set_current_caller(caller)
            try:
                super().handle_update_validator(input)
            finally:
                reset_current_caller(token)
        self._validated = (input.id, caller)  # accepted: its handler runs next

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        validated, self._validated = self._validated, None
        if validated is not None and validated[0] == input.id:
            caller = validated[1]
        else:  # no validator ran: a replay of an update accepted before
            where = f"update/{workflow.info().workflow_id}/{input.id}"
            caller = self._caller(input.headers, input.id, verify=False, where=where)
        with using_trust(self.trust, self.admission):
            token = set_current_caller(caller)
            try:
                return await super().handle_update_handler(input)
            finally:
                reset_current_caller(token)


class _WorkflowOutbound(temporalio.worker.WorkflowOutboundInterceptor):
    def __init__(
        self, next: temporalio.worker.WorkflowOutboundInterceptor, inbound: _WorkflowInbound
    ) -> None:
        super().__init__(next)
        self._inbound = inbound

    def _headers(
        self, headers: Headers, where: str, caller: Caller | None = None
    ) -> dict[str, Any]:
        keys = self._inbound.trust.keys
        return sealed_caller_headers(headers, caller or current_caller(), keys, where)

    def _sealed(self, signal: str, target: str, args: Any, headers: Headers) -> dict[str, Any]:
        merged = self._headers(headers, f"signal/{target}/{signal}")
        keys = self._inbound.trust.keys
        if keys is not None and signal in _INTERNAL_SIGNALS and args:
            merged[SEAL_HEADER] = _seal_header(
                keys, "signal", signal, target, _canonical(signal, args[0])
            )
        return merged

    def _activity(self, name: str) -> str:
        return f"activity/{workflow.info().workflow_id}/{name}"

    def continue_as_new(self, input: temporalio.worker.ContinueAsNewInput) -> NoReturn:
        # Without this the next run starts with no headers: Temporal drops them on CAN.
        info = workflow.info()
        where = f"start/{info.workflow_id}/{input.workflow or info.workflow_type}/{info.run_id}"
        input.headers = self._headers(input.headers, where, self._inbound.admission.creator)
        keys = self._inbound.trust.keys
        if keys is not None and input.args:
            # What the next run carries in is this run's, not a client's (an entity checks).
            input.headers[CARRY_SEAL_HEADER] = _seal_header(
                keys, "carry", info.workflow_id, info.run_id, to_json(input.args[0])
            )
        input.memo = inbox_memo_for_continue_as_new(input.memo)
        super().continue_as_new(input)

    async def signal_child_workflow(
        self, input: temporalio.worker.SignalChildWorkflowInput
    ) -> None:
        input.headers = self._sealed(
            input.signal, input.child_workflow_id, input.args, input.headers
        )
        await super().signal_child_workflow(input)

    async def signal_external_workflow(
        self, input: temporalio.worker.SignalExternalWorkflowInput
    ) -> None:
        input.headers = self._sealed(input.signal, input.workflow_id, input.args, input.headers)
        await super().signal_external_workflow(input)

    def start_activity(self, input: temporalio.worker.StartActivityInput) -> Any:
        input.headers = self._headers(input.headers, self._activity(input.activity))
        return super().start_activity(input)

    async def start_child_workflow(self, input: temporalio.worker.StartChildWorkflowInput) -> Any:
        where = f"start/{input.id}/{input.workflow}/{workflow.info().run_id}"
        input.headers = self._headers(input.headers, where)
        return await super().start_child_workflow(input)

    def start_local_activity(self, input: temporalio.worker.StartLocalActivityInput) -> Any:
        input.headers = self._headers(input.headers, self._activity(input.activity))
        return super().start_local_activity(input)


# -- worker side: activities --------------------------------------------------------------------


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    policy: ClassVar[TrustPolicy] = TrustPolicy()

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        # Activities are scheduled by workflows: their caller is the one the workflow carried.
        info = activity.info()
        where = f"activity/{info.workflow_id}/{info.activity_type}" if info.workflow_id else ""
        caller = carried_caller(self.policy, input.headers, where) if where else None
        with using_trust(self.policy.worker_trust()):
            token = set_current_caller(caller)
            try:
                return await super().execute_activity(input)
            finally:
                reset_current_caller(token)


class RouterInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Caller context, trust and hook plumbing; see the module docstring.

    ``RouterPlugin`` installs one on the client (and so, once, on every worker built from
    it). Installing ``RouterPlugin`` twice still installs one.

    Args:
        trust: Whom the worker believes (default: the namespace, for development).
    """

    def __init__(self, trust: TrustPolicy | None = None) -> None:
        self.trust = policy = trust or TrustPolicy()

        class Client(_ClientOutbound):
            keys = policy.internal_keys

        class Workflow(_WorkflowInbound):
            pass

        class Activity(_ActivityInbound):
            pass

        Workflow.policy = Activity.policy = policy
        self._client, self._workflow, self._activity = Client, Workflow, Activity

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        """See base class."""
        return self._client(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        """See base class."""
        return self._activity(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor] | None:
        """See base class."""
        return self._workflow


def activity_caller() -> Caller | None:
    """The caller of the current activity (same as :func:`current_caller` inside one)."""
    activity.info()  # raises outside an activity
    return current_caller()
