"""Where a workflow keeps the hook answers it received, and how an entity hosts hooks.

Answers arrive by signal (:data:`HOOK_SIGNAL`) and wait in the workflow's :class:`HookInbox`
until ``wait_for`` consumes them; answers received but not yet consumed are carried across
continue-as-new. An entity keeps its inbox itself (it is a :class:`HookHost`, and carries the
inbox in its input); any other workflow gets one on first use, kept here, carried in the
``temporal_router.inbox`` memo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic_core import to_json
from temporalio import workflow
from temporalio.common import RawValue

from ..router import Workflow
from ._admission import TaskBudget
from ._errors import HookFailed
from ._limits import LIMITS, json_problem
from ._messages import (
    HOOK_SIGNAL,
    INBOX_MEMO,
    REFUSED_ENCODING,
    HookAnswer,
    HookFailure,
    InboxState,
)

__all__ = ["HookHost", "HookInbox", "inbox", "inbox_memo_for_continue_as_new"]

#: A hook failure's message is kept this long, at most.
_MAX_FAILURE_MESSAGE = 1_000


class HookInbox:
    """Signals received by one workflow, by signal id; each wait consumes one.

    Bounded (:data:`~temporal_router.workflows.LIMITS`): an answer over
    ``max_answer_bytes``, or one that is not JSON this library accepts, becomes a failure
    (its wait raises ``HookFailed`` saying why), and a failure's message is cut short;
    answers and failures are kept up to ``max_inbox_answers`` and ``max_inbox_bytes``, and
    past that dropped with a warning, except the first answer to a wait in progress.
    """

    def __init__(self, state: InboxState | None = None) -> None:
        self.signals: dict[str, list[Any]] = {}
        self.sizes: dict[str, list[int]] = {}
        self.failures: dict[str, HookFailure] = {}
        self.bytes = 0
        #: Signal ids a wait is in progress for.
        self.waiting: set[str] = set()
        #: The hook arguments this workflow task starts children with (see _requests).
        self.starts = TaskBudget(LIMITS.max_task_reply_bytes)
        # Carried state is held to the same bounds (a raw start may carry any).
        state = state or InboxState()
        for signal_id, answers in state.signals.items():
            for data in answers:
                self._keep(HookAnswer(signal_id, data), len(to_json(data)), quiet=True)
        for signal_id, failure in state.failures.items():
            self._keep(HookAnswer(signal_id, error=failure), 0, quiet=True)

    def receive(self, answer: HookAnswer, size: int | None = None) -> None:
        """Keep one answer (or final failure) until a wait consumes it; ``size`` is its
        encoded size if known."""
        if answer.error is None:
            size = len(to_json(answer.data)) if size is None else size
            problem = (
                f"its answer is too large: {size} bytes, limit {LIMITS.max_answer_bytes}"
                if size > LIMITS.max_answer_bytes
                else json_problem(answer.data, "answer")
            )
            if problem is not None:
                answer = HookAnswer(answer.id, error=HookFailure(answer.id, "Refused", problem))
        self._keep(answer, size or 0, quiet=False)

    def _keep(self, answer: HookAnswer, size: int, *, quiet: bool) -> None:
        if answer.error is not None:
            error = answer.error
            message = str(error.message)[:_MAX_FAILURE_MESSAGE]
            answer = HookAnswer(
                answer.id,
                error=HookFailure(str(error.hook_id)[:200], str(error.type)[:200], message),
            )
            size = len(to_json(answer.error))
        first_for_a_wait = answer.id in self.waiting and not self.ready(answer.id)
        if not first_for_a_wait and (
            self.count() >= LIMITS.max_inbox_answers or self.bytes + size > LIMITS.max_inbox_bytes
        ):
            if not quiet:
                workflow.logger.warning(
                    "dropped an answer for %r: the inbox holds %d answers (%d bytes), limits "
                    "%d and %d",
                    answer.id[:200],
                    self.count(),
                    self.bytes,
                    LIMITS.max_inbox_answers,
                    LIMITS.max_inbox_bytes,
                )
            return
        if answer.error is not None:
            old = self.failures.get(answer.id)
            if old is not None:
                self.bytes -= len(to_json(old))
            self.failures[answer.id] = answer.error
        else:
            self.signals.setdefault(answer.id, []).append(answer.data)
            self.sizes.setdefault(answer.id, []).append(size)
        self.bytes += size

    def receive_raw(self, value: RawValue) -> None:
        """The :data:`HOOK_SIGNAL` handler: decode, then :meth:`receive`.

        A payload that is not a :class:`HookAnswer` is dropped with a warning: a stray
        signal must not fail the workflow task (which would retry it forever).
        """
        if value.payload.metadata.get("encoding") == REFUSED_ENCODING:
            workflow.logger.warning("dropped a %s signal the payload codec refused", HOOK_SIGNAL)
            return
        try:
            answer: object = workflow.payload_converter().from_payload(value.payload, HookAnswer)
        except Exception as exc:
            answer = exc
        if not isinstance(answer, HookAnswer) or not isinstance(answer.id, str):
            # The type only: a message would echo the payload into the worker's log.
            workflow.logger.warning(
                "dropped a malformed %s signal (%s)", HOOK_SIGNAL, type(answer).__name__
            )
            return
        self.receive(answer, value.payload.ByteSize())

    def count(self) -> int:
        """Answers and failures kept."""
        return sum(len(v) for v in self.signals.values()) + len(self.failures)

    def ready(self, signal_id: str) -> bool:
        """True if a wait on ``signal_id`` can return (an answer or a failure is here)."""
        return bool(self.signals.get(signal_id)) or signal_id in self.failures

    def take(self, signal_id: str) -> Any:
        """Consume the oldest answer for ``signal_id``, or raise its failure."""
        queue = self.signals.get(signal_id)
        if queue:
            data = queue.pop(0)
            self.bytes -= self.sizes[signal_id].pop(0)
            if not queue:
                del self.signals[signal_id]
                del self.sizes[signal_id]
            return data
        error = self.failures.pop(signal_id)
        self.bytes -= len(to_json(error))
        raise HookFailed(error.hook_id or signal_id, error.message or "failed")

    def to_state(self) -> InboxState:
        """What to carry across continue-as-new."""
        return InboxState(
            signals={k: list(v) for k, v in self.signals.items()}, failures=dict(self.failures)
        )

    def is_empty(self) -> bool:
        """True if no answer and no failure waits here."""
        return not (self.signals or self.failures)


@runtime_checkable
class HookHost(Protocol):
    """A workflow that hosts hooks itself: the entity workflow.

    Its handlers wait for hooks while holding the entity's one-at-a-time lock; while one
    waits, commands from the entity's own hooks apply at once, and the waiting handler
    continues from the state they left.
    """

    def hook_inbox(self) -> HookInbox:
        """The inbox, carried across continue-as-new by the host."""
        ...

    def committed(self) -> tuple[Workflow, int]:
        """The committed workflow and its version."""
        ...

    def begin_hook_wait(self) -> None:
        """A dispatch holding the lock starts waiting for a hook: let hooks' commands in."""
        ...

    def end_hook_wait(self) -> None:
        """The waiting dispatch woke up."""
        ...


#: Where a workflow that is not a host keeps its inbox: on its own instance, which lives as
#: long as the run does in this worker (a weak map would need hashable instances).
_INBOX_ATTRIBUTE = "_temporal_router_inbox"


def _plain_inbox(instance: Any) -> HookInbox | None:
    box = getattr(instance, _INBOX_ATTRIBUTE, None)
    return box if isinstance(box, HookInbox) else None


def inbox() -> HookInbox:
    """The current workflow's inbox, registering the signal handler on first use.

    Signals that arrived before the handler existed are buffered by Temporal and delivered
    when it is registered, so nothing is lost by registering lazily.
    """
    instance = workflow.instance()
    if isinstance(instance, HookHost):
        return instance.hook_inbox()
    box = _plain_inbox(instance)
    if box is None:
        box = HookInbox(workflow.memo_value(INBOX_MEMO, None, type_hint=InboxState))
        setattr(instance, _INBOX_ATTRIBUTE, box)
        if workflow.get_signal_handler(HOOK_SIGNAL) is None:
            workflow.set_signal_handler(HOOK_SIGNAL, box.receive_raw)
    return box


def inbox_memo_for_continue_as_new(memo: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The memo for continue-as-new that carries this run's unconsumed answers.

    ``memo`` is the one the workflow passes (None: Temporal copies the current memo). Hosts
    carry their inbox in their input: their memo is left alone.
    """
    instance = workflow.instance()
    if isinstance(instance, HookHost):
        return memo
    box = _plain_inbox(instance)
    current = workflow.memo()
    if box is None:
        # Never touched in this run: the carried state (if any) is still current.
        if memo is not None and INBOX_MEMO in current and INBOX_MEMO not in memo:
            return {**memo, INBOX_MEMO: current[INBOX_MEMO]}
        return memo
    if box.is_empty() and INBOX_MEMO not in current:
        return memo
    # Always written once present, even empty: a consumed answer must not come back.
    base = dict(current) if memo is None else dict(memo)
    base[INBOX_MEMO] = box.to_state()
    return base
