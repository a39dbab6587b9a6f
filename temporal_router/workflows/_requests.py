"""Hook requests: another workflow (by sealed signal) or a client (by Update) asks a workflow
to start a hook as its own child.

A client's request goes through the validator :func:`authorize_hook_request`, which the
worker's trust policy governs (``TrustPolicy.client_hooks``); a workflow's request is a
signal its worker seals (``_trust``).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from temporalio import workflow
from temporalio.common import RawValue, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from ..router import RouterFailure, current_caller
from ._admission import NEXT_TASK, invalid, refusal
from ._config import HookConfig
from ._inbox import inbox
from ._limits import LIMITS, id_problem, json_problem
from ._messages import HOOK_REQUEST_SIGNAL, HOOK_REQUEST_UPDATE, REPLY_TO_MEMO, HookRequest
from ._trust import current_trust

__all__ = [
    "authorize_hook_request",
    "detach",
    "hook_request_problem",
    "install_hook_request_handler",
    "receive_hook_request",
    "start_hook_for_client",
    "start_requested_hook",
    "wait_for_start_budget",
]


def detach(handle: Any) -> None:
    """Fire-and-forget: nobody awaits the handle (a hook's outcome reaches waiters by
    signal); retrieve its exception so asyncio does not log it as never retrieved."""
    if handle is None:
        return

    def consume(done: Any) -> None:
        if not done.cancelled():
            done.exception()

    handle.add_done_callback(consume)


def hook_request_problem(request: object) -> str | None:
    """Why ``request`` cannot be started, whoever sent it; None if it can.

    Checked before anything is started: the server would refuse a child with an empty type
    or an over-long id, and the worker a completion with oversized arguments, and either
    refusal would fail the workflow task on every retry.
    """
    if not isinstance(request, HookRequest):
        return f"not a hook request ({type(request).__name__})"
    for field_name in ("hook_id", "task_queue", "workflow_name"):
        problem = id_problem(getattr(request, field_name), field_name)
        if problem is not None:
            return problem
    if request.reply_to is not None:
        problem = id_problem(request.reply_to, "reply_to")
        if problem is not None:
            return problem
    problem = json_problem(request.args, "args")
    if problem is not None:
        return problem
    size = len(to_json(request.args))
    if size > LIMITS.max_command_bytes:
        return f"args of the hook too large: {size} bytes, limit {LIMITS.max_command_bytes}"
    try:
        config = HookConfig.coerce(request.config)
        if config is not None:
            config.retry_policy()
    except (TypeError, ValueError, OverflowError) as exc:
        return f"config: {exc}"
    return None


async def receive_hook_request(raw: RawValue) -> None:
    """The ``__temporal_router_hook`` signal handler: decode, check, start.

    A request that is not one, or that cannot be started, is dropped with a warning: raised
    here, in a signal handler, it would fail the workflow task on every retry.
    """
    try:
        request: object = workflow.payload_converter().from_payload(raw.payload, HookRequest)
    except Exception as exc:
        request = exc
    problem = hook_request_problem(request)
    if problem is not None:
        workflow.logger.warning("dropped a %s signal: %s", HOOK_REQUEST_SIGNAL, problem)
        return
    assert isinstance(request, HookRequest)
    await start_requested_hook(request)


#: The patch that bounds the hook arguments one workflow task starts children with.
HOOK_START_BUDGET_PATCH = "temporal-router-hook-start-budget"


async def wait_for_start_budget(args: list[Any]) -> None:
    """Wait until this workflow task can carry a child start with ``args``: past the budget,
    the start goes with the next task (a 1 ms timer ends this one)."""
    size = len(to_json(args))
    budget = inbox().starts
    while not budget.fits(size) and workflow.patched(HOOK_START_BUDGET_PATCH):
        await workflow.sleep(NEXT_TASK)
    budget.spend(size)


async def start_requested_hook(request: HookRequest) -> None:
    """Start the child a checked :class:`HookRequest` asks for; a duplicate is a no-op."""
    config = HookConfig.coerce(request.config)
    await wait_for_start_budget(request.args)
    try:
        handle = await workflow.start_child_workflow(
            request.workflow_name,
            args=list(request.args),
            id=request.hook_id,
            task_queue=request.task_queue,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            retry_policy=config.retry_policy() if config else None,
            # A repeated request must not run a finished hook again.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={REPLY_TO_MEMO: request.reply_to} if request.reply_to else None,
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("hook %s already started", request.hook_id)
        return
    detach(handle)


def authorize_hook_request(request: HookRequest) -> None:
    """The validator of a client's hook request (``HOOK_REQUEST_UPDATE``): refuses, leaving
    no history, a request the worker's trust policy does not allow or that breaks a limit."""
    trust = current_trust()
    caller = current_caller()
    if (trust.verifies_callers or trust.require_caller) and caller is None:
        raise refusal(RouterFailure("UNAUTHENTICATED", "a hook request needs a verified caller"))
    allowed = trust.client_hooks
    if allowed is None and trust.verifies_callers:
        allowed = frozenset()
    if allowed is not None and request.workflow_name not in allowed:
        raise refusal(
            RouterFailure(
                "FORBIDDEN",
                f"a client may not ask for hook workflow {request.workflow_name!r} "
                "(TrustPolicy.client_hooks lists those it may)",
            )
        )
    if request.reply_to is not None:
        raise refusal(invalid("reply_to", "a client's hook request cannot name reply_to"))
    problem = hook_request_problem(request)
    if problem is not None:
        raise refusal(invalid(problem.split(":")[0].split(" ")[0], problem))


async def start_hook_for_client(request: HookRequest) -> str:
    """The handler of ``HOOK_REQUEST_UPDATE``: start the hook; its id."""
    await start_requested_hook(request)
    return request.hook_id


def install_hook_request_handler(*, signal: bool = True) -> None:
    """Let other workflows (by sealed signal) and clients (by Update) hook into the current
    workflow.

    The Update handler can be installed before the first activation (an Update without a
    handler is refused and leaves no history, so installing it earlier changes no recorded
    history); the signal handler only when the workflow function starts (``signal=True``):
    earlier, a hook request delivered with the start would start its child before the
    workflow's own first commands, and histories recorded the other way would not replay.
    """
    if signal and workflow.get_signal_handler(HOOK_REQUEST_SIGNAL) is None:
        workflow.set_signal_handler(HOOK_REQUEST_SIGNAL, receive_hook_request)
    if workflow.get_update_handler(HOOK_REQUEST_UPDATE) is None:
        workflow.set_update_handler(
            HOOK_REQUEST_UPDATE, start_hook_for_client, validator=authorize_hook_request
        )
