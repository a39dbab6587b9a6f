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
  calls :func:`report_hook_failure` to tell the waiting parent.
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
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from pydantic_core import to_json
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
)

from ..router import track_current_context
from ._config import HookConfig, parse_duration
from ._errors import HookLoopError, HookRequestError, HookTargetError, HookTimeoutError
from ._failures import answer_target
from ._inbox import HookHost, inbox
from ._limits import LIMITS, json_problem
from ._messages import (
    HOOK_REQUEST_SIGNAL,
    HOOK_SIGNAL,
    HOST_DISPATCH_ACTIVITY,
    HOST_SNAPSHOT_ACTIVITY,
    STOP_HOOK_ACTIVITY,
    DispatchReply,
    HookAnswer,
    HookRequest,
    HostCommand,
)
from ._requests import detach, wait_for_start_budget

#: The context of the running dispatch. Only this module reads it, so importing it is
#: what makes dispatches publish it (in-memory routers skip that cost).
current_context = track_current_context()

__all__ = [
    "dispatch_to_host",
    "exec_hook",
    "exec_hook_batch",
    "hook",
    "host_snapshot",
    "signal",
    "signal_info",
    "stop_hook",
    "wait_for",
]


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
    problem = json_problem(list(args), "args")
    size = len(to_json(list(args))) if problem is None else 0
    if problem is None and size > LIMITS.max_command_bytes:
        problem = f"args of the hook too large: {size} bytes, limit {LIMITS.max_command_bytes}"
    if problem is not None:
        raise HookRequestError(f"cannot start hook {name!r}: {problem}")
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
    await wait_for_start_budget(list(args))
    handle = await workflow.start_child_workflow(
        name,
        args=list(args),
        id=hook_id,
        task_queue=queue,
        parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        retry_policy=resolved.retry_policy() if resolved else None,
    )
    detach(handle)
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
    # Inside an entity's dispatch, the entity lets its own hooks' commands in while this
    # handler waits, and the handler continues from the state they left.
    ctx = current_context.get(None)
    hosted = ctx is not None and isinstance(host, HookHost)
    if hosted:
        version_before = host.committed()[1]
        host.begin_hook_wait()
    box.waiting.add(signal_id)
    try:
        await workflow.wait_condition(lambda: box.ready(signal_id), timeout=limit)
    except TimeoutError:
        raise HookTimeoutError(signal_id, limit.total_seconds() if limit else 0.0) from None
    finally:
        box.waiting.discard(signal_id)
        if hosted:
            host.end_hook_wait()
    if hosted and ctx is not None:
        committed, version = host.committed()
        if version != version_before:
            ctx.rebase(committed)
    return box.take(signal_id)


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
    hook_id = await hook(
        task_queue=task_queue,
        workflow_name=workflow_name,
        entity=entity,
        workflow_id=workflow_id,
        args=[*args, signal_info(sid)],
        config=config,
    )
    try:
        return await wait_for(sid, timeout)
    except HookTimeoutError:
        await stop_hook(hook_id, f"its waiter {workflow.info().workflow_id!r} timed out")
        raise
    except asyncio.CancelledError:
        # Cancelled (a dispatch timeout, the waiter's own cancellation): nothing may be
        # awaited here, so the stop goes out without waiting for it.
        detach(_start_stop(hook_id, f"its waiter {workflow.info().workflow_id!r} was cancelled"))
        raise


#: The patch that made a waiter that gives up stop its hook (histories from before have none).
STOP_HOOKS_PATCH = "temporal-router-stop-abandoned-hooks"


async def stop_hook(hook_id: str, reason: str) -> None:
    """Terminate the hooked workflow ``hook_id``: nobody waits for it any more, so it must
    not stay Running (retrying, or waiting for something) for good. Waited for, so that a
    workflow that ends right after still stops it; a failure to stop is logged."""
    handle = _start_stop(hook_id, reason)
    if handle is None:
        return
    try:
        await handle
    except ActivityError as exc:
        workflow.logger.warning("could not stop hook %s: %s", hook_id, exc.cause or exc)


def _start_stop(hook_id: str, reason: str) -> Any:
    if not workflow.patched(STOP_HOOKS_PATCH):
        return None
    return workflow.start_activity(
        STOP_HOOK_ACTIVITY,
        args=[hook_id, reason],
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RetryPolicy(maximum_attempts=3),
    )


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
            HOOK_SIGNAL, HookAnswer(signal_id, data)
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
    item = HostCommand(
        workflow_id=host,
        command_id=cid,
        type=command["type"],
        payload=dict(command.get("payload") or {}),
        via_hook=workflow.info().workflow_id,
    )
    reply: DispatchReply = await workflow.execute_activity(
        HOST_DISPATCH_ACTIVITY,
        item,
        start_to_close_timeout=timedelta(seconds=60),
        result_type=DispatchReply,
    )
    return reply
