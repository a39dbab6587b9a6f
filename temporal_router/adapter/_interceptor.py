"""The worker interceptor ``RouterPlugin`` installs in every workflow it hosts.

Hook plumbing, so that any workflow on the worker can take part in hooks:

- it registers the ``__temporal_router_hook`` signal handler, so other workflows and clients
  can hook into this workflow (``hook(workflow_id=...)``, ``RouterClient.hook``);
- when a hooked workflow (one whose last argument is ``{"signal": id, "$durable": True}``)
  fails for good, it signals the failure to its parent under that signal id, so the
  parent's ``exec_hook`` raises :class:`~temporal_router.HookFailed` instead of waiting
  forever. "For good" means a non-retryable failure, or the last attempt of its retry policy.

It issues no command on the success path, so adding or removing it keeps histories of
successful runs replayable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from ._hooks import HOOK_REQUEST_SIGNAL, HOOK_SIGNAL, HookRequest, start_requested_hook

__all__ = ["RouterWorkerInterceptor"]


def _signal_id_of(args: Sequence[Any]) -> str | None:
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


async def _on_hook_request(request: HookRequest) -> None:
    await start_requested_hook(request)


class _RouterWorkflowInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if workflow.get_signal_handler(HOOK_REQUEST_SIGNAL) is None:
            workflow.set_signal_handler(HOOK_REQUEST_SIGNAL, _on_hook_request)
        try:
            return await super().execute_workflow(input)
        except FailureError as exc:
            signal_id = _signal_id_of(input.args)
            parent = workflow.info().parent
            if signal_id is not None and parent is not None and _fails_for_good(exc):
                error = {
                    "hook_id": workflow.info().workflow_id,
                    "type": type(exc).__name__,
                    "message": str(exc),
                }
                try:
                    await workflow.get_external_workflow_handle(parent.workflow_id).signal(
                        HOOK_SIGNAL, {"id": signal_id, "error": error}
                    )
                except ApplicationError:
                    workflow.logger.warning(
                        "could not report hook failure to %s", parent.workflow_id
                    )
            raise


class RouterWorkerInterceptor(Interceptor):
    """Installed once per worker by ``RouterPlugin``; see the module docstring."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        """See base class."""
        return _RouterWorkflowInbound
