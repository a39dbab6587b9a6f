"""Durable hooks: work that runs beside a workflow as a child workflow and signals back.

The HotMesh hook primitive, on Temporal:

- :func:`hook` starts the hooked workflow as a child (``ParentClosePolicy.ABANDON``, so it
  outlives the caller's run and continue-as-new) and returns its workflow id, the hook id:
  deterministic, stable across replay, unique across continue-as-new. Replay never starts it
  again: starting a child is a command Temporal matches on replay.
- :func:`exec_hook` is ``hook`` + :func:`wait_for`: the signal id (given, or
  ``durable-hook-<uuid>`` from ``workflow.uuid4()``) goes to the hooked workflow as its last
  argument, ``{"signal": id, "$durable": True}``; the hooked workflow answers with
  :func:`signal`, addressed to its parent by workflow id (so the answer reaches the parent's
  newest run after continue-as-new), and ``exec_hook`` returns the answer's data.
- Signals that arrive before their wait are kept; each wait consumes one. Answers that
  arrived but were not yet consumed are carried across continue-as-new (entities carry them
  in their input; other workflows in the ``temporal_router.inbox`` memo, which the payload
  codec encodes like any payload).
- A hook started for another workflow (``hook(workflow_id=...)`` from a workflow) runs as
  the target's child, so its host is the target, but its answers (and its final failure)
  go to the workflow that asked, which is the one waiting in ``exec_hook``.

Deliberate differences from HotMesh:

- ``HookConfig`` is honoured: it becomes the child's retry policy (HotMesh ignores it).
  ``maximum_attempts`` counts *all* attempts, as in Temporal (HotMesh counts retries), and
  ``initial_interval`` is the delay before the first retry.
- A hook that fails for good makes ``exec_hook`` raise :class:`HookFailed` (HotMesh waits
  forever). The hooked workflow's worker must run the ``RouterPlugin`` interceptor, which
  reports the final failure to the waiting parent.
- ``wait_for`` and ``exec_hook`` take a ``timeout``; when it passes they raise
  :class:`HookTimeoutError` (HotMesh returns ``False``).
- The loop guard raises a non-retryable error before any command is issued (HotMesh throws a
  retryable error, then silently continues on the re-run).

Inside an entity (a router handler), a handler waiting in ``wait_for``/``exec_hook`` keeps the
entity's dispatch lock, except for commands its own hooks send to the host with
:func:`dispatch_to_host`: those apply at once, and when the handler wakes, its context shows
the new state (if the handler had no uncommitted changes; otherwise the dispatch fails).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from ..router import HookFailed, HookTargetError, HookTimeoutError
from ..router._context import track_current_context
from ..workflows._messages import DispatchReply, DispatchRequest

#: The context of the running dispatch. Only this module reads it, so importing it is
#: what makes dispatches publish it (in-memory routers skip that cost).
current_context = track_current_context()

__all__ = [
    "HOOK_REQUEST_SIGNAL",
    "HOOK_SIGNAL",
    "HOST_DISPATCH_ACTIVITY",
    "HOST_SNAPSHOT_ACTIVITY",
    "INBOX_MEMO",
    "REPLY_TO_MEMO",
    "HookConfig",
    "HookInbox",
    "HookLoopError",
    "HookRequest",
    "answer_target",
    "dispatch_to_host",
    "exec_hook",
    "exec_hook_batch",
    "hook",
    "host_dispatch_activity",
    "host_snapshot",
    "host_snapshot_activity",
    "inbox",
    "inbox_memo_for_continue_as_new",
    "parse_duration",
    "signal",
    "signal_info",
    "start_requested_hook",
    "wait_for",
]

#: The signal that carries hook answers (and final failures) to the waiting workflow.
HOOK_SIGNAL = "__temporal_router_signal"
#: The signal that asks a workflow to start a hook on behalf of someone else.
HOOK_REQUEST_SIGNAL = "__temporal_router_hook"
HOST_SNAPSHOT_ACTIVITY = "temporal_router.host_snapshot"
HOST_DISPATCH_ACTIVITY = "temporal_router.host_dispatch"
#: Memo key of a hook started on request: the workflow its answers go to.
REPLY_TO_MEMO = "temporal_router.reply_to"
#: Memo key that carries unconsumed answers of a plain workflow across continue-as-new.
INBOX_MEMO = "temporal_router.inbox"

_UNITS = {
    "ms": 0.001,
    "msec": 0.001,
    "millisecond": 0.001,
    "milliseconds": 0.001,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
    "w": 604800.0,
    "week": 604800.0,
    "weeks": 604800.0,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_duration(value: timedelta | float | int | str, *, name: str = "duration") -> timedelta:
    """A ``timedelta`` from a ``timedelta``, seconds, or a string like ``"1m"``/``"5 seconds"``.

    A bare number string is seconds. Negative or unparseable values raise ``ValueError``.

    Example::

        parse_duration("1m") == timedelta(minutes=1)
        parse_duration(2.5) == timedelta(seconds=2.5)
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError(f"{name}: expected a duration, got {value!r}")
    elif isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or (unit and unit not in _UNITS):
            raise ValueError(
                f"{name}: cannot read {value!r}; use seconds or strings like '500ms', '5s', "
                "'1m', '2 hours', '1 day'"
            )
        seconds = float(match.group(1)) * (_UNITS[unit] if unit else 1.0)
    else:
        raise ValueError(f"{name}: expected timedelta, seconds or a string, got {value!r}")
    if seconds < 0:
        raise ValueError(f"{name}: must not be negative, got {value!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class HookConfig:
    """Retry settings of a hooked workflow; they become the child's ``RetryPolicy``.

    ``maximum_attempts`` counts all attempts (1 = no retry, 0 = unlimited), as in Temporal;
    the delay before retry *k* is ``initial_interval * backoff_coefficient**(k-1)``, capped
    at ``maximum_interval``. Durations accept ``timedelta``, seconds or strings (``"1m"``).

    Example::

        await hook(task_queue="enrichment", workflow_name="EnrichProfile", args=[profile_id],
                   config=HookConfig(maximum_attempts=5, backoff_coefficient=2,
                                     maximum_interval="1m"))
    """

    maximum_attempts: int = 0
    backoff_coefficient: float = 2.0
    initial_interval: timedelta | float | str = timedelta(seconds=1)
    maximum_interval: timedelta | float | str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.maximum_attempts, bool) or not isinstance(self.maximum_attempts, int):
            raise ValueError(f"maximum_attempts must be an int, got {self.maximum_attempts!r}")
        if self.maximum_attempts < 0:
            raise ValueError(f"maximum_attempts must be >= 0, got {self.maximum_attempts}")
        if self.backoff_coefficient < 1:
            raise ValueError(f"backoff_coefficient must be >= 1, got {self.backoff_coefficient}")
        parse_duration(self.initial_interval, name="initial_interval")
        if self.maximum_interval is not None:
            parse_duration(self.maximum_interval, name="maximum_interval")

    @classmethod
    def coerce(cls, value: HookConfig | Mapping[str, Any] | None) -> HookConfig | None:
        """Accept a ``HookConfig``, a mapping of its fields, or None."""
        if value is None or isinstance(value, HookConfig):
            return value
        return cls(**value)

    def retry_policy(self) -> RetryPolicy:
        """The Temporal retry policy these settings mean."""
        initial = parse_duration(self.initial_interval, name="initial_interval")
        maximum = (
            parse_duration(self.maximum_interval, name="maximum_interval")
            if self.maximum_interval is not None
            else None
        )
        return RetryPolicy(
            initial_interval=initial,
            backoff_coefficient=self.backoff_coefficient,
            maximum_interval=maximum,
            maximum_attempts=self.maximum_attempts,
        )

    def to_wire(self) -> dict[str, Any]:
        """JSON-safe fields, durations in seconds."""
        return {
            "maximum_attempts": self.maximum_attempts,
            "backoff_coefficient": self.backoff_coefficient,
            "initial_interval": parse_duration(self.initial_interval).total_seconds(),
            "maximum_interval": (
                parse_duration(self.maximum_interval).total_seconds()
                if self.maximum_interval is not None
                else None
            ),
        }


@dataclass
class HookRequest:
    """A request for a workflow to start a hook (from another workflow or a client)."""

    hook_id: str
    task_queue: str
    workflow_name: str
    args: list[Any] = field(default_factory=list)
    config: dict[str, Any] | None = None
    #: The workflow that waits for the hook's answers, if not the one that starts it.
    reply_to: str | None = None


class HookLoopError(ApplicationError, HookTargetError):
    """``hook()`` without ``task_queue`` or ``entity`` would hook the calling workflow type.

    It is a non-retryable ``ApplicationError`` so that a workflow raising it fails instead of
    retrying its task forever.
    """

    def __init__(self, message: str) -> None:
        ApplicationError.__init__(self, message, type="HookLoopError", non_retryable=True)


class HookInbox:
    """Signals received by one workflow, by signal id; each wait consumes one."""

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        state = state or {}
        self.signals: dict[str, list[Any]] = {
            k: list(v) for k, v in state.get("signals", {}).items()
        }
        self.failures: dict[str, dict[str, Any]] = dict(state.get("failures", {}))

    def receive(self, payload: Mapping[str, Any]) -> None:
        """Store one ``HOOK_SIGNAL`` payload: ``{"id", "data"}`` or ``{"id", "error"}``."""
        signal_id = str(payload.get("id"))
        if payload.get("error") is not None:
            self.failures[signal_id] = dict(payload["error"])
        else:
            self.signals.setdefault(signal_id, []).append(payload.get("data"))

    def ready(self, signal_id: str) -> bool:
        """True if a wait on ``signal_id`` can return (an answer or a failure is here)."""
        return bool(self.signals.get(signal_id)) or signal_id in self.failures

    def take(self, signal_id: str) -> Any:
        """Consume the oldest answer for ``signal_id``, or raise its failure."""
        queue = self.signals.get(signal_id)
        if queue:
            data = queue.pop(0)
            if not queue:
                del self.signals[signal_id]
            return data
        error = self.failures.pop(signal_id)
        raise HookFailed(str(error.get("hook_id", signal_id)), str(error.get("message", "failed")))

    def to_state(self) -> dict[str, Any]:
        """JSON-safe state, carried across continue-as-new."""
        return {
            "signals": {k: list(v) for k, v in self.signals.items()},
            "failures": dict(self.failures),
        }


_INBOX_ATTR = "_temporal_router_inbox"


def inbox() -> HookInbox:
    """The current workflow's inbox, registering the signal handler on first use.

    Signals that arrived before the handler existed are buffered by Temporal and delivered
    when it is registered, so nothing is lost by registering lazily.
    """
    instance = workflow.instance()
    existing = getattr(instance, _INBOX_ATTR, None)
    if isinstance(existing, HookInbox):
        return existing
    box = HookInbox(workflow.memo_value(INBOX_MEMO, None, type_hint=dict))
    setattr(instance, _INBOX_ATTR, box)
    if workflow.get_signal_handler(HOOK_SIGNAL) is None:
        workflow.set_signal_handler(HOOK_SIGNAL, box.receive)
    return box


def inbox_memo_for_continue_as_new(memo: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The memo for continue-as-new that carries this run's unconsumed answers.

    ``memo`` is the one the workflow passes (None: Temporal copies the current memo). Only
    used for workflows that do not carry their inbox themselves (entities do).
    """
    instance = workflow.instance()
    box = getattr(instance, _INBOX_ATTR, None)
    current = workflow.memo()
    if not isinstance(box, HookInbox):
        # Never touched in this run: the carried state (if any) is still current.
        if memo is not None and INBOX_MEMO in current and INBOX_MEMO not in memo:
            return {**memo, INBOX_MEMO: current[INBOX_MEMO]}
        return memo
    state = box.to_state()
    if not (state["signals"] or state["failures"]) and INBOX_MEMO not in current:
        return memo
    # Always written once present, even empty: a consumed answer must not come back.
    base = dict(current) if memo is None else dict(memo)
    base[INBOX_MEMO] = state
    return base


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


def _resolve_target(
    task_queue: str | None, workflow_name: str | None, entity: str | None
) -> tuple[str, str]:
    info = workflow.info()
    if task_queue is None and entity is None:
        raise HookLoopError(
            f"hook() would start another {info.workflow_type!r} on {info.task_queue!r}, the "
            "calling workflow's own type and queue (a potential infinite loop). Pass "
            "task_queue= and workflow_name= (or entity=) to target another workflow; naming "
            "this queue and type explicitly is allowed."
        )
    queue = task_queue or entity
    name = workflow_name or entity or info.workflow_type
    assert queue is not None
    return queue, name


def _detach(handle: Any) -> None:
    """Fire-and-forget: the outcome reaches waiters by signal, so nobody awaits the handle;
    retrieve its exception so asyncio does not log it as never retrieved."""

    def consume(done: Any) -> None:
        if not done.cancelled():
            done.exception()

    handle.add_done_callback(consume)


async def start_requested_hook(request: HookRequest) -> None:
    """Start the child a :class:`HookRequest` asks for; a duplicate request is a no-op."""
    config = HookConfig.coerce(request.config)
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
    _detach(handle)


async def hook(
    *,
    task_queue: str | None = None,
    workflow_name: str | None = None,
    entity: str | None = None,
    workflow_id: str | None = None,
    args: Sequence[Any] = (),
    config: HookConfig | Mapping[str, Any] | None = None,
) -> str:
    """Start a hooked workflow beside this one, fire-and-forget; return the hook id.

    Args:
        task_queue: Where the hooked workflow runs (with ``workflow_name``).
        workflow_name: The hooked workflow type. Default: ``entity``, else this workflow's
            own type (allowed only with an explicit ``task_queue``).
        entity: Shorthand for ``task_queue`` and ``workflow_name`` both.
        workflow_id: Hook into another running workflow: it starts the child itself, so the
            hook's answers go to that workflow. Default: this workflow.
        args: Positional arguments of the hooked workflow.
        config: Retry settings (:class:`HookConfig`).

    Raises:
        HookLoopError: neither ``task_queue`` nor ``entity`` was given.
        HookTargetError: ``workflow_id`` names a closed or unknown workflow.

    Example::

        hook_id = await hook(task_queue="notifications", workflow_name="SendNotification",
                             args=[user_id, "Your order has shipped"])
    """
    queue, name = _resolve_target(task_queue, workflow_name, entity)
    resolved = HookConfig.coerce(config)
    info = workflow.info()
    inbox()  # answers may come before anyone waits: keep them (and carry them on)
    hook_id = f"{workflow_id or info.workflow_id}-hook-{workflow.uuid4().hex[:16]}"
    if workflow_id is not None and workflow_id != info.workflow_id:
        request = HookRequest(
            hook_id,
            queue,
            name,
            list(args),
            resolved.to_wire() if resolved else None,
            reply_to=info.workflow_id,
        )
        try:
            await workflow.get_external_workflow_handle(workflow_id).signal(
                HOOK_REQUEST_SIGNAL, request
            )
        except ApplicationError as exc:
            raise HookTargetError(
                f"cannot hook into {workflow_id!r}: it is closed or does not exist ({exc})"
            ) from exc
        return hook_id
    handle = await workflow.start_child_workflow(
        name,
        args=list(args),
        id=hook_id,
        task_queue=queue,
        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        retry_policy=resolved.retry_policy() if resolved else None,
    )
    _detach(handle)
    return hook_id


async def wait_for(signal_id: str, timeout: timedelta | float | str | None = None) -> Any:
    """Wait for the next answer to ``signal_id`` and return its data.

    Raises:
        HookTimeoutError: ``timeout`` passed first.
        HookFailed: the hook that would answer failed for good.
    """
    box = inbox()
    limit = parse_duration(timeout, name="timeout") if timeout is not None else None
    host = workflow.instance()
    version_before = getattr(host, "version", None)
    holds_lock = _enter_wait(host)
    try:
        await workflow.wait_condition(lambda: box.ready(signal_id), timeout=limit)
    except TimeoutError:
        raise HookTimeoutError(signal_id, limit.total_seconds() if limit else 0.0) from None
    finally:
        _leave_wait(host, holds_lock)
    _rebase_after_wait(host, version_before)
    return box.take(signal_id)


def _enter_wait(host: Any) -> bool:
    """Let the host apply commands from its own hooks while this dispatch waits."""
    begin = getattr(host, "begin_hook_wait", None)
    if begin is None or current_context.get(None) is None:
        return False
    begin()
    return True


def _leave_wait(host: Any, entered: bool) -> None:
    if entered:
        host.end_hook_wait()


def _rebase_after_wait(host: Any, version_before: Any) -> None:
    ctx = current_context.get(None)
    if ctx is None or version_before is None or getattr(host, "version", None) == version_before:
        return
    ctx.rebase(host.current_workflow)


def signal_info(signal_id: str) -> dict[str, Any]:
    """The last argument ``exec_hook`` passes: ``{"signal": id, "$durable": True}``."""
    return {"signal": signal_id, "$durable": True}


async def exec_hook(
    *,
    task_queue: str | None = None,
    workflow_name: str | None = None,
    entity: str | None = None,
    workflow_id: str | None = None,
    args: Sequence[Any] = (),
    config: HookConfig | Mapping[str, Any] | None = None,
    signal_id: str | None = None,
    timeout: timedelta | float | str | None = None,
) -> Any:
    """Start a hook and wait for its answer; return the data it signalled.

    Raises:
        HookLoopError, HookTargetError: as :func:`hook`.
        HookTimeoutError: ``timeout`` passed first.
        HookFailed: the hooked workflow failed for good.

    Example::

        receipt = await exec_hook(task_queue="payments", workflow_name="ChargeCard",
                                  args=[order_id, amount], timeout="5m")
    """
    sid = signal_id or f"durable-hook-{workflow.uuid4()}"
    box = inbox()
    del box  # registered before the child can answer
    await hook(
        task_queue=task_queue,
        workflow_name=workflow_name,
        entity=entity,
        workflow_id=workflow_id,
        args=[*args, signal_info(sid)],
        config=config,
    )
    return await wait_for(sid, timeout)


async def exec_hook_batch(hooks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Start several hooks, then wait for all their answers; return ``{key: data}``.

    Each item has a ``key`` plus the keyword arguments of :func:`exec_hook`. All hooks are
    started before any wait begins.
    """
    keys = [item["key"] for item in hooks]
    if len(set(keys)) != len(keys):
        raise ValueError(f"exec_hook_batch: keys must be unique, got {keys}")
    signal_ids: list[str] = []
    starts = []
    inbox()
    for item in hooks:
        options = {k: v for k, v in item.items() if k not in ("key", "timeout", "signal_id")}
        sid = item.get("signal_id") or f"durable-hook-{workflow.uuid4()}"
        signal_ids.append(sid)
        options["args"] = [*options.get("args", ()), signal_info(sid)]
        starts.append(hook(**options))
    await asyncio.gather(*starts)
    answers = await asyncio.gather(
        *(wait_for(sid, item.get("timeout")) for sid, item in zip(signal_ids, hooks, strict=True))
    )
    return dict(zip(keys, answers, strict=True))


async def signal(signal_id: str, data: Any = None, *, workflow_id: str | None = None) -> None:
    """Answer ``signal_id`` with ``data``: to the workflow waiting for this hook (its parent,
    or the workflow that asked for it with ``hook(workflow_id=...)``), or to ``workflow_id``.

    The signal is addressed by workflow id only, so it reaches the newest run of a parent
    that continued-as-new.

    Raises:
        HookTargetError: there is no parent and no ``workflow_id``, or the target is closed.
    """
    target = answer_target(workflow_id)
    if target is None:
        raise HookTargetError(
            "signal() outside a hooked workflow needs workflow_id= (this workflow has no parent)"
        )
    try:
        await workflow.get_external_workflow_handle(target).signal(
            HOOK_SIGNAL, {"id": signal_id, "data": data}
        )
    except ApplicationError as exc:
        raise HookTargetError(f"cannot signal {target!r}: it is closed or unknown ({exc})") from exc


def _host_id(workflow_id: str | None) -> str:
    if workflow_id is not None:
        return workflow_id
    parent = workflow.info().parent
    if parent is None:
        raise HookTargetError("this workflow has no host: pass workflow_id=")
    return parent.workflow_id


async def host_snapshot(workflow_id: str | None = None) -> dict[str, Any]:
    """The snapshot of the host entity (the parent, or ``workflow_id``), read by a query."""
    result: dict[str, Any] = await workflow.execute_activity(
        HOST_SNAPSHOT_ACTIVITY,
        _host_id(workflow_id),
        start_to_close_timeout=timedelta(seconds=30),
        result_type=dict,
    )
    return result


async def dispatch_to_host(
    command: Mapping[str, Any], *, workflow_id: str | None = None, command_id: str | None = None
) -> DispatchReply:
    """Dispatch ``command`` to the host entity through its router; return the reply.

    Validation, middleware and lifecycle hooks apply as for any command. The command id
    defaults to one derived from this workflow, so activity retries apply it once.
    """
    host = _host_id(workflow_id)
    cid = command_id or f"{workflow.info().workflow_id}/{workflow.uuid4()}"
    item = {
        "workflow_id": host,
        "command_id": cid,
        "type": command["type"],
        "payload": dict(command.get("payload") or {}),
        "via_hook": workflow.info().workflow_id,
    }
    reply: DispatchReply = await workflow.execute_activity(
        HOST_DISPATCH_ACTIVITY,
        item,
        start_to_close_timeout=timedelta(seconds=60),
        result_type=DispatchReply,
    )
    return reply


@activity.defn(name=HOST_SNAPSHOT_ACTIVITY)
async def host_snapshot_activity(workflow_id: str) -> dict[str, Any]:
    """Query a host entity's snapshot."""
    from ..workflows._entity import SNAPSHOT_QUERY

    result: dict[str, Any] = (
        await activity.client()
        .get_workflow_handle(workflow_id)
        .query(SNAPSHOT_QUERY, result_type=dict)
    )
    return result


@activity.defn(name=HOST_DISPATCH_ACTIVITY)
async def host_dispatch_activity(item: dict[str, Any]) -> DispatchReply:
    """Dispatch a hook's command to its host entity (exactly once, by command id)."""
    from temporalio.client import WorkflowUpdateFailedError

    from ..workflows._entity import DISPATCH_UPDATE, REJECTION_TYPE
    from ..workflows._messages import WireError

    request = DispatchRequest(
        item["type"], item.get("payload") or {}, via_hook=item.get("via_hook")
    )
    handle = activity.client().get_workflow_handle(item["workflow_id"])
    try:
        reply: DispatchReply = await handle.execute_update(
            DISPATCH_UPDATE, request, id=item["command_id"], result_type=DispatchReply
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == REJECTION_TYPE and cause.details:
            detail = cause.details[0]
            return DispatchReply(
                ok=False, error=WireError(**detail) if isinstance(detail, dict) else detail
            )
        raise
    return reply
