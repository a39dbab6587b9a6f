"""Admission control of the entity's ``dispatch`` Update: what it refuses, and how.

The validator refuses, before anything reaches history, a request that breaks an input rule
or a size limit (``validation``) and a command the entity cannot take right now (``router``
/ ``BUSY``, retryable: ``RouterClient`` retries it with backoff). Its bookkeeping is free to
differ on replay, since validators do not run then.

A handler's reply is bounded in size, and the replies of one workflow task in sum
(:class:`TaskBudget`): a reply that would push its task past the budget is sent in the
next task. That bookkeeping only reads what replay sees the same (the task each handler
runs in, the replies' sizes), so it is deterministic.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError as PydanticValidationError
from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from ..router import (
    CreationRequest,
    PipelineError,
    RouterFailure,
    ValidationFailure,
    Workflow,
    WorkflowRouter,
)
from ._entity_io import dispatch_request
from ._limits import LIMITS, id_problem, json_problem
from ._messages import REFUSED_ENCODING, REJECTION_TYPE, DispatchRequest, error_to_wire
from ._trust import current_admission, current_keys, current_trust

__all__ = [
    "BUSY",
    "NEXT_TASK",
    "REPLY_BUDGET_PATCH",
    "TOO_LARGE",
    "TaskBudget",
    "admit_request",
    "busy",
    "creation_refusal",
    "invalid",
    "may_hold_non_finite",
    "refusal",
    "request_problem",
    "too_large",
    "undecodable",
    "via_hook_problem",
]

#: ``router`` code of a command refused for its size (or its result's).
TOO_LARGE = "TOO_LARGE"
#: ``router`` code of a command the entity cannot take right now; retry it later.
BUSY = "BUSY"


#: How long a reply waits when its workflow task's replies are at their budget: any timer
#: ends the task, and the reply goes with the next one.
NEXT_TASK = timedelta(milliseconds=1)
REPLY_BUDGET_PATCH = "temporal-router-reply-budget"


def may_hold_non_finite(serialized: bytes) -> bool:
    """True if JSON written with ``inf_nan_mode="constants"`` may hold NaN or an infinity
    (a cheap scan; strings that contain the words give a false alarm, checked precisely)."""
    return b"NaN" in serialized or b"Infinity" in serialized


def refusal(error: PipelineError) -> ApplicationError:
    """What the validator raises to refuse a command: its error travels as the detail."""
    wire = error_to_wire(error)
    # BENIGN: a refused command is an expected outcome, not a failure to log and alert on
    # (Temporal's OpenTelemetry interceptor then leaves the ValidateUpdate span unmarked).
    return ApplicationError(
        wire.message,
        wire,
        type=REJECTION_TYPE,
        non_retryable=True,
        category=ApplicationErrorCategory.BENIGN,
    )


def invalid(field: str, message: str, *, kind: str = "value_error") -> ValidationFailure:
    """A ``validation`` failure about one field of the request."""
    issue = {"type": kind, "loc": (field,), "msg": message, "input": None}
    return ValidationFailure("command", [issue], f"Invalid command: {message}")


def too_large(what: str, size: int, limit: int) -> ValidationFailure:
    """A ``validation`` failure for a request over a size limit (issue type ``too_large``)."""
    return invalid(
        what.split(" ")[0], f"{what} too large: {size} bytes, limit {limit}", kind="too_large"
    )


def request_problem(request: DispatchRequest, size: int) -> ValidationFailure | None:
    """The input rules and the size limit of one command's request, as the validator and
    ``RouterClient`` apply them; None if the request passes."""
    if size > LIMITS.max_command_bytes:
        return too_large("payload of the command", size, LIMITS.max_command_bytes)
    version = request.expected_version
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 0 <= version < 2**63
    ):
        return invalid(
            "expected_version",
            f"expected_version must be an int from 0 to 2**63-1, got {str(version)[:40]!r}",
        )
    problem = json_problem(request.payload, "payload")
    if problem is not None:
        return invalid("payload", problem)
    if request.via_hook is not None and id_problem(request.via_hook, "via_hook") is not None:
        return invalid("via_hook", "via_hook must be a workflow id")
    return None


def undecodable(exc: BaseException) -> str:
    """Why a request could not be decoded, in a line that does not echo the request."""
    cause = exc.__cause__ or exc
    if isinstance(cause, PydanticValidationError) and cause.errors():
        reason = str(cause.errors()[0].get("msg", ""))
    else:
        reason = type(cause).__name__
    if "recursion limit" in reason:
        reason = f"payload: nested deeper than {LIMITS.max_depth} levels"
    return f"the request is not a dispatch request: {reason[:200]}"


def creation_refusal(router: WorkflowRouter, created: Workflow) -> ApplicationError | None:
    """Why the creation of ``created`` is refused, or None: decided from the start's caller
    as the worker admitted it (``_trust``) and the router's creation guards, the same
    inputs on replay as live."""
    admission, trust = current_admission(), current_trust()
    problem: str | None = None
    if admission.refused is not None:
        problem = f"the start's credential was refused: {admission.refused}"
    elif admission.creator is None and trust.require_caller:
        problem = "creating an entity needs a verified caller"
    else:
        failure = router.check_creation(
            CreationRequest(
                workflow_id=created.id,
                initial_state=created.state,
                data=created.data,
                caller=admission.creator,
            )
        )
        if failure is not None:
            problem = failure.message
    if problem is None:
        return None
    return ApplicationError(
        f"creation refused: {problem}", type="CreationRefused", non_retryable=True
    )


def admit_request(request: RawValue) -> tuple[DispatchRequest, int]:
    """The ``dispatch`` argument decoded, with its size; refusals raised as the validator
    raises them (the codec refused it, it is too large, it does not decode)."""
    if request.payload.metadata.get("encoding") == REFUSED_ENCODING:
        message = "the payload codec refused the request (not encrypted with a worker's key)"
        raise refusal(invalid("request", message))
    size = request.payload.ByteSize()
    if size > LIMITS.max_command_bytes:  # before decoding a byte of it
        raise refusal(too_large("payload of the command", size, LIMITS.max_command_bytes))
    try:
        return dispatch_request(request), size
    except Exception as exc:
        raise refusal(invalid("request", undecodable(exc))) from None


def via_hook_problem(request: DispatchRequest, command_id: str) -> RouterFailure | None:
    """Why a command's ``via_hook`` (passing the entity's lock) is not believed: with a
    key ring, it needs the seal of a worker's key."""
    keys = current_keys()
    if request.via_hook is None or keys is None:
        return None
    if keys.verify(
        request.seal, "via_hook", workflow.info().workflow_id, command_id, request.via_hook
    ):
        return None
    return RouterFailure("UNAUTHENTICATED", "via_hook needs the seal of a worker's key")


class TaskBudget:
    """Bytes one workflow task has spent on something, reset when the next task starts.

    Tasks are told apart by the history length at their start, which is the same on replay.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._task = -1
        self._used = 0

    def _current(self) -> int:
        task = workflow.info().get_current_history_length()
        if task != self._task:
            self._task, self._used = task, 0
        return self._used

    def fits(self, size: int) -> bool:
        """True if ``size`` more bytes fit this task (the first item always fits)."""
        used = self._current()
        return used == 0 or used + size <= self.limit

    def spend(self, size: int) -> None:
        """Count ``size`` bytes against this task."""
        self._used = self._current() + size


def busy(message: str) -> RouterFailure:
    """A ``router`` / ``BUSY`` failure: retry the same command later."""
    return RouterFailure(BUSY, message)
