"""The interceptor ``RouterPlugin`` installs on clients and workers.

**Caller context.** The client side writes the current :class:`~temporal_router.Caller`
(from :func:`~temporal_router.caller_context` or ``RouterClient(context=...)``) into the
``temporal-router-caller`` header of every workflow start, signal, query and update. The
worker side reads it back in every inbound call (workflow run, signal, query, update
validator and handler, activity) and makes it current for that call, so the entity's router
sees it as ``ctx.caller``; the outbound side copies it onto child workflows (hooks),
activities, signals and continue-as-new, so a hook three levels down still knows who
started the chain. Headers are not encoded by the payload codec unless the client was
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
from collections.abc import Mapping
from typing import Any, NoReturn

import temporalio.api.common.v1
import temporalio.client
import temporalio.converter
import temporalio.worker
from temporalio import activity, workflow

from ..router import Caller, current_caller, reset_current_caller, set_current_caller

# The hook plumbing the interceptor runs inside every workflow: worker-side internals of the
# workflows package, not part of its public API.
from ..workflows import LIMITS
from ..workflows._admission import refusal, too_large
from ..workflows._hooks import install_hook_request_handler, run_workflow
from ..workflows._inbox import inbox_memo_for_continue_as_new

__all__ = [
    "CALLER_HEADER",
    "RouterInterceptor",
    "caller_from_headers",
    "caller_size",
    "headers_size",
    "with_caller_header",
]

#: The header that carries the caller context.
CALLER_HEADER = "temporal-router-caller"

_converter = temporalio.converter.PayloadConverter.default
_logger = logging.getLogger(__name__)

Headers = Mapping[str, temporalio.api.common.v1.Payload]


def caller_from_headers(headers: Headers | None) -> Caller | None:
    """The caller in ``headers``, or None (a malformed or oversized header is ignored, and
    logged: it must not fail the workflow task, nor travel on to children and activities)."""
    if not headers or CALLER_HEADER not in headers:
        return None
    size = headers[CALLER_HEADER].ByteSize()
    if size > LIMITS.max_caller_bytes:
        log = workflow.logger if workflow.in_workflow() else _logger
        log.warning(
            "ignoring a %s header of %d bytes, limit %d",
            CALLER_HEADER,
            size,
            LIMITS.max_caller_bytes,
        )
        return None
    try:
        data = _converter.from_payload(headers[CALLER_HEADER], dict)
        return Caller.from_dict(data)
    except Exception:  # a bad header must not fail the workflow task (or the activity)
        log = workflow.logger if workflow.in_workflow() else _logger
        log.warning("ignoring malformed %s header", CALLER_HEADER)
        return None


def caller_size(caller: Caller) -> int:
    """The size of ``caller`` as its header carries it."""
    return _converter.to_payload(caller.to_dict()).ByteSize()


def headers_size(headers: Headers | None) -> int:
    """The size of all ``headers``, names included."""
    return sum(len(name) + payload.ByteSize() for name, payload in (headers or {}).items())


def with_caller_header(headers: Headers | None, caller: Caller | None) -> dict[str, Any]:
    """``headers`` plus the caller header (an explicit header already there wins)."""
    merged = dict(headers or {})
    if caller is not None and CALLER_HEADER not in merged:
        merged[CALLER_HEADER] = _converter.to_payload(caller.to_dict())
    return merged


# -- client side ------------------------------------------------------------------------------


class _ClientOutbound(temporalio.client.OutboundInterceptor):
    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> Any:
        input.headers = with_caller_header(input.headers, current_caller())
        return await super().start_workflow(input)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        input.headers = with_caller_header(input.headers, current_caller())
        await super().signal_workflow(input)

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> Any:
        input.headers = with_caller_header(input.headers, current_caller())
        return await super().query_workflow(input)

    async def start_workflow_update(self, input: temporalio.client.StartWorkflowUpdateInput) -> Any:
        input.headers = with_caller_header(input.headers, current_caller())
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> Any:
        caller = current_caller()
        start, update = input.start_workflow_input, input.update_workflow_input
        start.headers = with_caller_header(start.headers, caller)
        update.headers = with_caller_header(update.headers, caller)
        return await super().start_update_with_start_workflow(input)


# -- worker side: workflows ---------------------------------------------------------------------


class _WorkflowInbound(temporalio.worker.WorkflowInboundInterceptor):
    # One instance per workflow instance (rebuilt on replay): per-run state lives here.
    _start: tuple[Caller | None] | None = None
    #: The caller header an update's validator decoded, and its caller: the handler of the
    #: same update, which runs next, gets the same header object and takes it from here.
    _validated: tuple[temporalio.api.common.v1.Payload, Caller | None] | None = None

    def init(self, outbound: temporalio.worker.WorkflowOutboundInterceptor) -> None:
        super().init(_WorkflowOutbound(outbound, self))

    @property
    def _start_caller(self) -> Caller | None:
        # Read from the run's start headers, not in execute_workflow: Temporal runs signal
        # and update handlers of the first activation before the workflow function starts.
        if self._start is None:
            self._start = (caller_from_headers(workflow.info().headers),)
        return self._start[0]

    def caller(self) -> Caller | None:
        return current_caller() or self._start_caller

    async def execute_workflow(self, input: temporalio.worker.ExecuteWorkflowInput) -> Any:
        install_hook_request_handler()
        token = set_current_caller(self._start_caller)
        try:
            return await run_workflow(
                input.run_fn,
                input.args,
                lambda: super(_WorkflowInbound, self).execute_workflow(input),
            )
        finally:
            reset_current_caller(token)

    async def handle_signal(self, input: temporalio.worker.HandleSignalInput) -> None:
        token = set_current_caller(caller_from_headers(input.headers) or self._start_caller)
        try:
            await super().handle_signal(input)
        finally:
            reset_current_caller(token)

    async def handle_query(self, input: temporalio.worker.HandleQueryInput) -> Any:
        token = set_current_caller(caller_from_headers(input.headers) or self._start_caller)
        try:
            return await super().handle_query(input)
        finally:
            reset_current_caller(token)

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        size = headers_size(input.headers)
        if size > LIMITS.max_header_bytes:
            raise refusal(too_large("headers of the command", size, LIMITS.max_header_bytes))
        header = input.headers.get(CALLER_HEADER) if input.headers else None
        caller = caller_from_headers(input.headers) if header is not None else None
        token = set_current_caller(caller or self._start_caller)
        try:
            super().handle_update_validator(input)
        finally:
            reset_current_caller(token)
        if header is not None:  # accepted: its handler runs next
            self._validated = (header, caller)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        header = input.headers.get(CALLER_HEADER) if input.headers else None
        validated, self._validated = self._validated, None
        if header is None:
            caller = None
        elif validated is not None and validated[0] is header:
            caller = validated[1]
        else:  # no validator ran (replay, or a handler without one)
            caller = caller_from_headers(input.headers)
        token = set_current_caller(caller or self._start_caller)
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

    def _headers(self, headers: Headers) -> dict[str, Any]:
        return with_caller_header(headers, self._inbound.caller())

    def continue_as_new(self, input: temporalio.worker.ContinueAsNewInput) -> NoReturn:
        # Without this the next run starts with no headers: Temporal drops them on CAN.
        input.headers = with_caller_header(input.headers, self._inbound._start_caller)
        input.memo = inbox_memo_for_continue_as_new(input.memo)
        super().continue_as_new(input)

    async def signal_child_workflow(
        self, input: temporalio.worker.SignalChildWorkflowInput
    ) -> None:
        input.headers = self._headers(input.headers)
        await super().signal_child_workflow(input)

    async def signal_external_workflow(
        self, input: temporalio.worker.SignalExternalWorkflowInput
    ) -> None:
        input.headers = self._headers(input.headers)
        await super().signal_external_workflow(input)

    def start_activity(self, input: temporalio.worker.StartActivityInput) -> Any:
        input.headers = self._headers(input.headers)
        return super().start_activity(input)

    async def start_child_workflow(self, input: temporalio.worker.StartChildWorkflowInput) -> Any:
        input.headers = self._headers(input.headers)
        return await super().start_child_workflow(input)

    def start_local_activity(self, input: temporalio.worker.StartLocalActivityInput) -> Any:
        input.headers = self._headers(input.headers)
        return super().start_local_activity(input)


# -- worker side: activities --------------------------------------------------------------------


class _ActivityInbound(temporalio.worker.ActivityInboundInterceptor):
    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        token = set_current_caller(caller_from_headers(input.headers))
        try:
            return await super().execute_activity(input)
        finally:
            reset_current_caller(token)


class RouterInterceptor(temporalio.client.Interceptor, temporalio.worker.Interceptor):
    """Caller-context propagation and hook plumbing; see the module docstring.

    ``RouterPlugin`` installs one on the client (and so, once, on every worker built from
    it). Installing ``RouterPlugin`` twice still installs one.
    """

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        """See base class."""
        return _ClientOutbound(next)

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        """See base class."""
        return _ActivityInbound(next)

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[temporalio.worker.WorkflowInboundInterceptor] | None:
        """See base class."""
        return _WorkflowInbound


def activity_caller() -> Caller | None:
    """The caller of the current activity (same as :func:`current_caller` inside one)."""
    activity.info()  # raises outside an activity
    return current_caller()
