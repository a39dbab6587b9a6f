"""The durable hook primitives' exceptions; they extend the router's one hierarchy.

.. code-block:: text

    RouterError                     (temporal_router)
    └── HookError                   a durable hook went wrong
        ├── HookTargetError         the hook target is closed or unknown, or cannot be inferred
        │   └── HookLoopError       hook() with no target would hook the caller's own type
        ├── HookRequestError        the hook's arguments or settings cannot be sent (also a
        │                           ValueError)
        ├── HookFailed              the hooked workflow failed for good
        └── HookTimeoutError        wait_for / exec_hook timed out
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from ..router import RouterError

__all__ = [
    "HookError",
    "HookFailed",
    "HookLoopError",
    "HookRequestError",
    "HookTargetError",
    "HookTimeoutError",
]


class HookError(RouterError):
    """Base class for failures of the durable hook primitives."""


class HookTargetError(HookError):
    """A hook was aimed at a closed or unknown workflow, or its target could not be inferred."""


class HookRequestError(HookError, ValueError):
    """A hook's arguments break a limit (``LIMITS.max_command_bytes``, the JSON rules), so
    the hook cannot be started; the message says which."""


class HookFailed(HookError):
    """The hooked workflow failed for good, so ``exec_hook`` will never get an answer.

    ``hook_id`` is the hooked workflow's id.

    Example::

        try:
            receipt = await exec_hook(task_queue="payments", workflow_name="Charge", args=[7])
        except HookFailed as exc:
            ctx.error("PaymentFailed", {"hook": exc.hook_id})
    """

    def __init__(self, hook_id: str, message: str) -> None:
        self.hook_id = hook_id
        super().__init__(f"Hook {hook_id} failed: {message}")


class HookTimeoutError(HookError, TimeoutError):
    """``wait_for`` or ``exec_hook`` gave up waiting for ``signal_id``."""

    def __init__(self, signal_id: str, timeout_seconds: float) -> None:
        self.signal_id = signal_id
        self.timeout_seconds = timeout_seconds
        super().__init__(f"No signal {signal_id!r} within {timeout_seconds:g}s")


class HookLoopError(ApplicationError, HookTargetError):
    """``hook()`` without ``task_queue`` or ``entity`` would hook the calling workflow type.

    It is a non-retryable ``ApplicationError`` so that a workflow raising it fails instead of
    retrying its task forever.
    """

    def __init__(self, message: str) -> None:
        ApplicationError.__init__(self, message, type="HookLoopError", non_retryable=True)
