"""A hooked workflow's side of a durable hook: every way it ends reaches its waiter.

The worker's interceptor runs every workflow body through :func:`run_workflow`. A hooked
workflow (``exec_hook``'s signal info is its last argument) that fails for good reports
the failure to the workflow waiting for it, whose wait raises ``HookFailed``; a failure
that its retry policy will retry is not reported.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

from ._errors import HookError
from ._messages import HOOK_SIGNAL, REPLY_TO_MEMO, HookAnswer, HookFailure

__all__ = ["answer_target", "hook_signal_id", "report_hook_failure", "run_workflow"]


def answer_target(workflow_id: str | None = None) -> str | None:
    """Where this workflow's hook answers go: ``workflow_id``, else the workflow that asked
    for this hook (``hook(workflow_id=...)``), else the parent; None outside a hook."""
    if workflow_id is not None:
        return workflow_id
    reply_to = workflow.memo_value(REPLY_TO_MEMO, None, type_hint=str)
    if reply_to:
        return str(reply_to)
    parent = workflow.info().parent
    return parent.workflow_id if parent is not None else None


def hook_signal_id(args: Sequence[Any]) -> str | None:
    """The signal id ``exec_hook`` appended to a hooked workflow's arguments, if any."""
    if not args:
        return None
    last = args[-1]
    if (
        isinstance(last, dict)
        and last.get("$durable") is True
        and isinstance(last.get("signal"), str)
    ):
        return str(last["signal"])
    return None


def _fails_for_good(exc: BaseException) -> bool:
    if isinstance(exc, ApplicationError) and exc.non_retryable:
        return True
    policy = workflow.info().retry_policy
    if policy is None:
        return True
    if isinstance(exc, ApplicationError) and exc.type in (policy.non_retryable_error_types or ()):
        return True
    return policy.maximum_attempts > 0 and workflow.info().attempt >= policy.maximum_attempts


async def report_hook_failure(args: Sequence[Any], exc: BaseException) -> None:
    """Tell the workflow waiting for this hooked workflow that it failed for good.

    Called by the worker's interceptor when a workflow run fails; does nothing unless the
    run is a hook (``exec_hook``'s signal id is its last argument) and no retry follows.
    """
    signal_id = hook_signal_id(args)
    target = answer_target()
    if signal_id is None or target is None or not _fails_for_good(exc):
        return
    failure = HookFailure(workflow.info().workflow_id, type(exc).__name__, str(exc))
    try:
        await workflow.get_external_workflow_handle(target).signal(
            HOOK_SIGNAL, HookAnswer(signal_id, error=failure)
        )
    except ApplicationError:
        workflow.logger.warning("could not report hook failure to %s", target)


async def run_workflow(
    run_fn: Callable[..., Awaitable[Any]],
    args: Sequence[Any],
    call: Callable[[], Awaitable[Any]],
) -> Any:
    """Run a workflow's body (``call``) so that durable hooks always surface.

    - An uncaught :class:`HookError` fails the workflow (a non-retryable
      ``ApplicationError`` of the same type name) instead of its task, which Temporal would
      retry forever.
    - In a hooked workflow (``exec_hook``'s signal info is its last argument), any other
      exception fails the run too (an ``ApplicationError`` named after it, retried by the
      hook's retry policy), and a final failure is reported to the waiting workflow, whose
      wait then raises :class:`HookFailed`. A run method that does not take the extra last
      argument fails at once, naming the fix.
    """
    hooked = hook_signal_id(args) is not None
    if hooked:
        try:
            inspect.signature(run_fn).bind(None, *args)
        except TypeError as exc:
            name = workflow.info().workflow_type
            failure = ApplicationError(
                f"hooked workflow {name!r} cannot take exec_hook's arguments ({exc}): give its "
                "run method one more, last parameter for the hook's signal info "
                '({"signal": id, "$durable": True}), and answer with signal(info["signal"], data)',
                type="HookSignatureError",
                non_retryable=True,
            )
            await report_hook_failure(args, failure)
            raise failure from None
    try:
        return await call()
    except HookError as exc:
        failure = ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True)
        await report_hook_failure(args, failure)
        raise failure from exc
    except FailureError as exc:
        await report_hook_failure(args, exc)
        raise
    except Exception as exc:
        if not hooked:
            raise  # a plain workflow keeps Temporal's rule: the task fails and is retried
        failure = ApplicationError(f"{type(exc).__name__}: {exc}", type=type(exc).__name__)
        await report_hook_failure(args, failure)
        raise failure from exc
