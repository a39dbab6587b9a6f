"""Plain workflows for the hook and interceptor tests.

They live at module level in their own module because the workflow sandbox re-imports the
module of every workflow class it runs; temporal_router is imported passed-through so that
the sandbox sees the same hook primitives and caller context as the worker.

Hooked workflows (children) take a ``spec`` dict saying what to do, and ``info``, the
``{"signal": id, "$durable": True}`` that ``exec_hook`` appends (None for plain ``hook``).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporal_router import current_caller
    from temporal_router.workflows import (
        HookError,
        HookFailed,
        HookTimeoutError,
        dispatch_to_host,
        exec_hook,
        exec_hook_batch,
        hook,
        host_snapshot,
        signal,
        wait_for,
    )
    from temporal_router.workflows._hooks import signal_info

__all__ = [
    "ALL_WORKFLOWS",
    "ENTITY_HOOK",
    "BatchParent",
    "CallerAfterCan",
    "CanIdsParent",
    "CanWaitParent",
    "EarlySignalsParent",
    "EntityHook",
    "ExecHookParent",
    "ExecHookParentHookingTwice",
    "FireAndForgetParent",
    "HookChild",
    "HostEnricher",
    "NoInfoChild",
    "ReplayStableParent",
    "RetryParent",
    "SelfHooker",
    "UncaughtHookParent",
    "WhoAmI",
]

#: Name of the workflow type (and task queue) that ``hook(entity=ENTITY_HOOK)`` targets.
ENTITY_HOOK = "tr-hook-entity-target"


def _error(exc: BaseException) -> dict[str, Any]:
    out: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    for attr in ("hook_id", "signal_id", "timeout_seconds"):
        if hasattr(exc, attr):
            out[attr] = getattr(exc, attr)
    return out


class _Releasable:
    def __init__(self) -> None:
        self.released = False

    @workflow.signal
    def release(self) -> None:
        self.released = True


async def _child_body(owner: _Releasable, spec: dict[str, Any], info: Any) -> dict[str, Any]:
    wf = workflow.info()
    attempt = wf.attempt
    if spec.get("report_attempts"):
        await signal("attempt", {"attempt": attempt, "at": workflow.now().timestamp()})
    for signal_id, data in spec.get("signals", []):
        await signal(signal_id, data)
    if spec.get("wait_release"):
        await workflow.wait_condition(lambda: owner.released)
    if spec.get("sleep"):
        await workflow.sleep(spec["sleep"])
    if spec.get("hang"):
        await workflow.wait_condition(lambda: False)
    fail = spec.get("fail")
    if fail == "plain":
        raise RuntimeError("a plain bug in the hook")
    if fail == "non_retryable":
        raise ApplicationError("card declined", non_retryable=True)
    if fail == "retryable" or (fail == "until" and attempt < spec["succeed_on"]):
        raise ApplicationError(f"attempt {attempt} failed")
    caller = current_caller()
    answer = {
        "tag": spec.get("tag"),
        "info": info,
        "workflow_id": wf.workflow_id,
        "workflow_type": wf.workflow_type,
        "task_queue": wf.task_queue,
        "parent": wf.parent.workflow_id if wf.parent else None,
        "caller": caller.identity if caller else None,
        "attempt": attempt,
    }
    if isinstance(info, dict) and info.get("signal") and not spec.get("silent"):
        await signal(info["signal"], answer)
    return answer


@workflow.defn(name="HookChild")
class HookChild(_Releasable):
    """The general hooked workflow: answers its ``info`` signal with facts about itself."""

    @workflow.run
    async def run(self, spec: dict[str, Any], info: Any = None) -> dict[str, Any]:
        return await _child_body(self, spec, info)


@workflow.defn(name=ENTITY_HOOK)
class EntityHook(_Releasable):
    """Same as HookChild, registered under the name ``hook(entity=ENTITY_HOOK)`` resolves to."""

    @workflow.run
    async def run(self, spec: dict[str, Any], info: Any = None) -> dict[str, Any]:
        return await _child_body(self, spec, info)


@workflow.defn(name="HostEnricher")
class HostEnricher:
    """Reads its host entity, sends it commands through its router, then answers."""

    @workflow.run
    async def run(self, spec: dict[str, Any], info: Any = None) -> None:
        host = spec.get("host")
        before = await host_snapshot(host)
        replies = []
        for command in spec.get("commands", []):
            reply = await dispatch_to_host(command, workflow_id=host)
            replies.append(dataclasses.asdict(reply))
        after = await host_snapshot(host)
        caller = current_caller()
        answer = {
            "before": before,
            "after": after,
            "replies": replies,
            "caller": caller.identity if caller else None,
        }
        if isinstance(info, dict) and info.get("signal"):
            await signal(info["signal"], answer, workflow_id=spec.get("answer_to"))


@workflow.defn(name="WhoAmI")
class WhoAmI:
    """A chain of hooks ``depth`` deep; the last one answers with the caller it sees."""

    @workflow.run
    async def run(self, depth: int, info: Any = None) -> None:
        if depth > 0:
            answer = await exec_hook(
                task_queue=workflow.info().task_queue, workflow_name="WhoAmI", args=[depth - 1]
            )
        else:
            caller = current_caller()
            answer = {
                "identity": caller.identity if caller else None,
                "roles": list(caller.roles) if caller else [],
                "depth_ids": [],
            }
        answer["depth_ids"] = [workflow.info().workflow_id, *answer["depth_ids"]]
        await signal(info["signal"], answer)


@workflow.defn(name="FireAndForgetParent")
class FireAndForgetParent:
    """Starts one hook and returns its id at once (``target`` = the kwargs of ``hook``)."""

    @workflow.run
    async def run(self, target: dict[str, Any]) -> Any:
        try:
            return await hook(**target)
        except HookError as exc:
            if isinstance(exc, ApplicationError):  # HookLoopError: let it fail the workflow
                raise
            return _error(exc)


@workflow.defn(name="ExecHookParent")
class ExecHookParent:
    """``exec_hook(**target)``; returns the answer, or the hook error as a dict."""

    @workflow.run
    async def run(self, target: dict[str, Any]) -> Any:
        try:
            return {"answer": await exec_hook(**target)}
        except HookError as exc:
            return _error(exc)


@workflow.defn(name="ExecHookParent")
class ExecHookParentHookingTwice:
    """A changed ``ExecHookParent`` that starts a second hook first: its replay must fail."""

    @workflow.run
    async def run(self, target: dict[str, Any]) -> Any:
        await hook(**{k: v for k, v in target.items() if k not in ("signal_id", "timeout")})
        return {"answer": await exec_hook(**target)}


@workflow.defn(name="BatchParent")
class BatchParent:
    """``exec_hook_batch(items)``; returns the dict, or the error."""

    @workflow.run
    async def run(self, items: list[dict[str, Any]]) -> Any:
        try:
            return {"answers": await exec_hook_batch(items)}
        except (HookError, ValueError) as exc:
            return _error(exc)


@workflow.defn(name="ReplayStableParent")
class ReplayStableParent:
    """Starts ``count`` hooks, then takes ``gos`` signals (one workflow task each).

    The ``hook_ids`` query answers with the ids this instance computed: on a worker without
    a cache every task, and every query after completion, replays the whole history.
    """

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.gos = 0

    @workflow.run
    async def run(self, target: dict[str, Any], count: int, gos: int) -> list[str]:
        for _ in range(count):
            self.ids.append(await hook(**target))
        await workflow.wait_condition(lambda: self.gos >= gos)
        return self.ids

    @workflow.signal
    def go(self) -> None:
        self.gos += 1

    @workflow.query
    def hook_ids(self) -> list[str]:
        return self.ids


@workflow.defn(name="EarlySignalsParent")
class EarlySignalsParent:
    """Starts a hook that signals ``early`` twice, waits for ``go``, then waits on ``early``
    three times (the third with a short timeout)."""

    def __init__(self) -> None:
        self.go_received = False

    @workflow.run
    async def run(self, task_queue: str) -> dict[str, Any]:
        await hook(
            task_queue=task_queue,
            workflow_name="HookChild",
            args=[{"signals": [["early", 1], ["early", 2]]}],
        )
        await workflow.wait_condition(lambda: self.go_received)
        first = await wait_for("early")
        second = await wait_for("early")
        try:
            third: Any = await wait_for("early", timeout="1s")
        except HookTimeoutError as exc:
            third = _error(exc)
        return {"first": first, "second": second, "third": third}

    @workflow.signal
    def go(self) -> None:
        self.go_received = True


@workflow.defn(name="CanWaitParent")
class CanWaitParent:
    """Run 1 starts a hook with a known signal id, waits for ``go``, continues-as-new;
    run 2 waits for the hook's answer and continues-as-new; run 3 waits again (in vain)."""

    def __init__(self) -> None:
        self.go_received = False

    @workflow.run
    async def run(
        self, task_queue: str, signal_id: str, run: int = 1, answer: Any = None
    ) -> dict[str, Any]:
        if run == 1:
            await hook(
                task_queue=task_queue,
                workflow_name="HookChild",
                args=[{"wait_release": True, "tag": "in-flight"}, signal_info(signal_id)],
            )
            await workflow.wait_condition(lambda: self.go_received)
            workflow.continue_as_new(args=[task_queue, signal_id, 2])
        if run == 2:
            answer = await wait_for(signal_id, timeout="30s")
            # Run 3 must not see the consumed answer again.
            workflow.continue_as_new(args=[task_queue, signal_id, 3, answer])
        try:
            again: Any = await wait_for(signal_id, timeout="1s")
        except HookTimeoutError as exc:
            again = _error(exc)
        return {"run": run, "answer": answer, "again": again}

    @workflow.signal
    def go(self) -> None:
        self.go_received = True


@workflow.defn(name="CanIdsParent")
class CanIdsParent:
    """Starts one hook per run for ``runs`` runs (continuing-as-new between); returns the ids."""

    @workflow.run
    async def run(self, target: dict[str, Any], runs: int, ids: list[str]) -> list[str]:
        ids = [*ids, await hook(**target)]
        if len(ids) < runs:
            workflow.continue_as_new(args=[target, runs, ids])
        return ids


@workflow.defn(name="SelfHooker")
class SelfHooker:
    """Hooks its own type on its own queue, named explicitly, ``depth`` times."""

    @workflow.run
    async def run(self, depth: int, mode: str) -> str:
        if depth == 0:
            return "leaf"
        info = workflow.info()
        kwargs: dict[str, Any] = {"task_queue": info.task_queue, "args": [depth - 1, mode]}
        if mode == "explicit":
            kwargs["workflow_name"] = "SelfHooker"
        return await hook(**kwargs)


@workflow.defn(name="RetryParent")
class RetryParent:
    """``exec_hook`` on a child that fails every attempt and reports each attempt first;
    returns the failure and every attempt report."""

    @workflow.run
    async def run(self, task_queue: str, config: dict[str, Any]) -> dict[str, Any]:
        try:
            outcome: Any = await exec_hook(
                task_queue=task_queue,
                workflow_name="HookChild",
                args=[{"report_attempts": True, "fail": "retryable"}],
                config=config,
            )
        except HookFailed as exc:
            outcome = _error(exc)
        attempts = []
        while True:
            try:
                attempts.append(await wait_for("attempt", timeout=timedelta(seconds=1)))
            except HookTimeoutError:
                break
        return {"outcome": outcome, "attempts": attempts}


@workflow.defn(name="CallerAfterCan")
class CallerAfterCan:
    """Returns the caller each run sees after continuing-as-new ``runs - 1`` times."""

    @workflow.run
    async def run(self, runs: int, seen: list[Any]) -> list[Any]:
        caller = current_caller()
        seen = [*seen, caller.identity if caller else None]
        if len(seen) < runs:
            workflow.continue_as_new(args=[runs, seen])
        return seen


@workflow.defn(name="NoInfoChild")
class NoInfoChild:
    """A hooked workflow written without the extra last argument ``exec_hook`` passes."""

    @workflow.run
    async def run(self, spec: dict[str, Any]) -> None:
        del spec


@workflow.defn(name="UncaughtHookParent")
class UncaughtHookParent:
    """``exec_hook(**target)`` with no ``try``: a hook error must fail this workflow."""

    @workflow.run
    async def run(self, target: dict[str, Any]) -> Any:
        return await exec_hook(**target)


ALL_WORKFLOWS: list[type] = [
    NoInfoChild,
    UncaughtHookParent,
    HookChild,
    EntityHook,
    HostEnricher,
    WhoAmI,
    FireAndForgetParent,
    ExecHookParent,
    BatchParent,
    ReplayStableParent,
    EarlySignalsParent,
    CanWaitParent,
    CanIdsParent,
    SelfHooker,
    RetryParent,
    CallerAfterCan,
]
