"""Hooks as child workflows that signal back: the behaviours of the hook primitives.

Everything runs on the real dev server. The hooked and hooking workflows are in
``_hook_workflows``; the entity router is in ``_hook_entities``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType, ParentClosePolicy
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHistory
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from temporal_router.adapter import RouterPlugin
from temporal_router.testing import DevServer, unique_task_queue
from temporal_router.workflows import HOOK_SIGNAL, HookConfig

from ._hook_entities import account_router
from ._hook_support import (
    Env,
    child_starts,
    decoded_child_args,
    eventually,
    hook_client,
    ok_data,
    started_result,
    status_of,
    unexpected,
    wait_status,
)
from ._hook_workflows import (
    ALL_WORKFLOWS,
    ENTITY_HOOK,
    BatchParent,
    CanIdsParent,
    CanWaitParent,
    EarlySignalsParent,
    ExecHookParent,
    ExecHookParentHookingTwice,
    FireAndForgetParent,
    ReplayStableParent,
    SelfHooker,
)

HISTORIES = Path(__file__).parent.parent / "histories"
STORED_HISTORY = HISTORIES / "exec_hook_parent.json"
SIGNAL_ID = re.compile(
    r"^durable-hook-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("hooks")
    async with hook_client(temporal_dev_server.target, [queue, ENTITY_HOOK], account_router) as c:
        yield Env(c, queue)


# -- 1. hook() starts a child, fire-and-forget, ABANDON, returns the hook id ------------------


async def test_hook_starts_the_child_fire_and_forget_and_it_outlives_the_parent(env: Env) -> None:
    parent_id = env.wid("ff")
    hook_id = await env.run(
        FireAndForgetParent, env.child({"wait_release": True, "tag": "ff"}), id=parent_id
    )
    # The parent completed while its hook still waits: fire-and-forget, and ABANDON.
    assert await status_of(env.client, parent_id) == WorkflowExecutionStatus.COMPLETED
    assert await status_of(env.client, hook_id) == WorkflowExecutionStatus.RUNNING
    assert hook_id.startswith(f"{parent_id}-hook-")

    [start] = await child_starts(env.client.get_workflow_handle(parent_id))
    assert start.workflow_id == hook_id
    assert start.workflow_type.name == "HookChild"
    assert start.task_queue.name == env.task_queue
    assert start.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON
    assert await decoded_child_args(env.client, start) == [{"wait_release": True, "tag": "ff"}]

    child = env.client.get_workflow_handle(hook_id)
    description = await child.describe()
    assert description.parent_id == parent_id
    await child.signal("release")
    result = await child.result()
    assert result["parent"] == parent_id
    assert result["info"] is None  # plain hook(): no signal info appended
    assert await status_of(env.client, hook_id) == WorkflowExecutionStatus.COMPLETED


async def test_hook_with_entity_runs_that_type_on_that_queue(env: Env) -> None:
    parent_id = env.wid("entity")
    hook_id = await env.run(
        FireAndForgetParent, {"entity": ENTITY_HOOK, "args": [{"tag": "e"}]}, id=parent_id
    )
    result = await env.client.get_workflow_handle(hook_id).result()
    assert result["workflow_type"] == ENTITY_HOOK
    assert result["task_queue"] == ENTITY_HOOK
    [start] = await child_starts(env.client.get_workflow_handle(parent_id))
    assert (start.workflow_type.name, start.task_queue.name) == (ENTITY_HOOK, ENTITY_HOOK)


async def test_hook_ids_are_unique_across_continue_as_new_and_children_outlive_each_run(
    env: Env,
) -> None:
    parent_id = env.wid("can-ids")
    ids = await env.run(CanIdsParent, env.child({"wait_release": True}), 3, [], id=parent_id)
    assert len(ids) == 3
    assert len(set(ids)) == 3
    assert all(i.startswith(f"{parent_id}-hook-") for i in ids)
    # Every run of the parent is closed; the hooks of every run still run (ABANDON on CAN).
    for hook_id in ids:
        assert await status_of(env.client, hook_id) == WorkflowExecutionStatus.RUNNING
    for hook_id in ids:
        await env.client.get_workflow_handle(hook_id).signal("release")
    for hook_id in ids:
        result = await env.client.get_workflow_handle(hook_id).result()
        assert result["parent"] == parent_id


# -- 2. replay: the same ids, and no second start ----------------------------------------------


async def test_hook_ids_are_stable_across_replay_and_replay_starts_nothing(
    temporal_dev_server: DevServer,
) -> None:
    # No workflow cache: every workflow task (and the query after completion) replays the
    # whole history from the start, so any id drift or second start would show.
    queue = unique_task_queue("hooks-nocache")
    async with hook_client(
        temporal_dev_server.target,
        [queue],
        account_router,
        worker_kwargs={"max_cached_workflows": 0},
    ) as client:
        parent_id = f"replay-{uuid.uuid4().hex[:10]}"
        target = {"task_queue": queue, "workflow_name": "HookChild", "args": [{"tag": "r"}]}
        handle = await client.start_workflow(
            ReplayStableParent.run, args=[target, 3, 3], id=parent_id, task_queue=queue
        )
        for _ in range(3):
            await handle.signal(ReplayStableParent.go)
            await asyncio.sleep(0.05)
        ids = await handle.result()
        replayed_ids = await handle.query(ReplayStableParent.hook_ids)

        starts = await child_starts(handle)
        assert [s.workflow_id for s in starts] == ids
        assert replayed_ids == ids
        assert len(set(ids)) == 3
        for hook_id in ids:
            child = client.get_workflow_handle(hook_id)
            assert (await child.result())["parent"] == parent_id
            runs = [e async for e in client.list_workflows(f"WorkflowId = '{hook_id}'")]
            assert len(runs) <= 1  # visibility may lag, but never shows a second run
        history = await handle.fetch_history()

    result = await Replayer(
        workflows=[], plugins=[RouterPlugin(account_router, workflows=ALL_WORKFLOWS)]
    ).replay_workflow(history)
    assert result.replay_failure is None


async def test_recorded_history_with_hooks_replays_without_starting_them_again(env: Env) -> None:
    stored = WorkflowHistory.from_json("exec-hook-parent", STORED_HISTORY.read_text())
    kinds = [e.event_type for e in stored.events]
    assert kinds.count(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 1
    assert kinds.count(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) >= 1

    plugin = RouterPlugin(account_router, workflows=ALL_WORKFLOWS)
    result = await Replayer(workflows=[], plugins=[plugin]).replay_workflow(stored)
    assert result.replay_failure is None

    # The check has teeth: code that would start the hook a second time does not replay.
    other = RouterPlugin(account_router, workflows=[ExecHookParentHookingTwice])
    failed = await Replayer(workflows=[], plugins=[other]).replay_workflow(
        stored, raise_on_replay_failure=False
    )
    assert failed.replay_failure is not None
    assert "nondetermin" in str(failed.replay_failure).lower()


async def test_entity_history_with_exec_hook_replays(env: Env) -> None:
    entity = await env.new_account()
    result = await env.accounts.dispatch(
        entity, {"type": "Exec", "payload": {"spec": {"tag": "replay"}}}
    )
    assert result.ok, result.error
    history = await env.client.get_workflow_handle(entity).fetch_history()
    assert (
        len(
            [
                e
                for e in history.events
                if e.HasField("start_child_workflow_execution_initiated_event_attributes")
            ]
        )
        == 1
    )
    replayed = await Replayer(
        workflows=[], plugins=[RouterPlugin(account_router, workflows=ALL_WORKFLOWS)]
    ).replay_workflow(history)
    assert replayed.replay_failure is None


# -- 3. the loop guard --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [{}, {"workflow_name": "HookChild"}, {"args": [{"tag": "loop"}]}],
    ids=["nothing", "name-only", "args-only"],
)
async def test_hook_without_queue_or_entity_is_rejected_before_any_command(
    env: Env, target: dict[str, Any]
) -> None:
    parent_id = env.wid("loop")
    with pytest.raises(WorkflowFailureError) as caught:
        await env.run(FireAndForgetParent, target, id=parent_id)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "HookLoopError"
    assert cause.non_retryable
    message = str(cause)
    assert "'FireAndForgetParent'" in message  # the calling workflow type
    assert f"'{env.task_queue}'" in message  # and its queue
    assert "infinite loop" in message
    assert "task_queue=" in message
    assert "workflow_name=" in message
    assert "entity=" in message
    assert await child_starts(env.client.get_workflow_handle(parent_id)) == []


@pytest.mark.parametrize("mode", ["explicit", "queue-only"])
async def test_naming_the_same_queue_and_type_explicitly_is_allowed(env: Env, mode: str) -> None:
    parent_id = env.wid("self")
    hook_id = await env.run(SelfHooker, 1, mode, id=parent_id)
    assert await env.client.get_workflow_handle(hook_id).result() == "leaf"
    [start] = await child_starts(env.client.get_workflow_handle(parent_id))
    assert (start.workflow_type.name, start.task_queue.name) == ("SelfHooker", env.task_queue)


# -- 4. HookConfig -> the child's retry policy ---------------------------------------------------


def _policy(start: Any) -> dict[str, Any]:
    policy = start.retry_policy
    return {
        "initial_interval": policy.initial_interval.ToTimedelta().total_seconds(),
        "backoff_coefficient": policy.backoff_coefficient,
        "maximum_interval": policy.maximum_interval.ToTimedelta().total_seconds(),
        "maximum_attempts": policy.maximum_attempts,
    }


@pytest.mark.parametrize(
    "config",
    [
        {
            "maximum_attempts": 5,
            "backoff_coefficient": 3,
            "initial_interval": "2s",
            "maximum_interval": "1m",
        },
        HookConfig(
            maximum_attempts=5,
            backoff_coefficient=3,
            initial_interval=2,
            maximum_interval="1 minute",
        ),
    ],
    ids=["mapping", "HookConfig"],
)
async def test_hook_config_becomes_the_child_retry_policy(env: Env, config: Any) -> None:
    parent_id = env.wid("config")
    wire = (
        config
        if isinstance(config, dict)
        else {
            "maximum_attempts": config.maximum_attempts,
            "backoff_coefficient": config.backoff_coefficient,
            "initial_interval": config.initial_interval,
            "maximum_interval": config.maximum_interval,
        }
    )
    hook_id = await env.run(FireAndForgetParent, env.child({}, config=wire), id=parent_id)
    [start] = await child_starts(env.client.get_workflow_handle(parent_id))
    assert start.HasField("retry_policy")
    assert _policy(start) == {
        "initial_interval": 2.0,
        "backoff_coefficient": 3.0,
        "maximum_interval": 60.0,
        "maximum_attempts": 5,
    }
    await env.client.get_workflow_handle(hook_id).result()


async def test_hook_without_config_starts_the_child_without_retry_policy(env: Env) -> None:
    parent_id = env.wid("noconfig")
    await env.run(FireAndForgetParent, env.child({}), id=parent_id)
    [start] = await child_starts(env.client.get_workflow_handle(parent_id))
    assert not start.HasField("retry_policy")


async def test_hook_config_travels_with_requests_into_other_workflows(env: Env) -> None:
    entity = await env.new_account()
    config = HookConfig(maximum_attempts=2, backoff_coefficient=1.5, initial_interval="250ms")
    hook_id = await env.accounts.hook(
        entity, task_queue=env.task_queue, workflow_name="HookChild", args=[{}], config=config
    )
    await started_result(env.client, hook_id)
    [start] = await child_starts(env.client.get_workflow_handle(entity))
    assert start.workflow_id == hook_id
    assert start.retry_policy.maximum_attempts == 2
    assert start.retry_policy.backoff_coefficient == 1.5
    assert start.retry_policy.initial_interval.ToTimedelta().total_seconds() == 0.25


# -- 5. exec_hook --------------------------------------------------------------------------------


async def test_exec_hook_appends_exactly_the_signal_info_and_returns_the_signalled_data(
    env: Env,
) -> None:
    parent_id = env.wid("exec")
    out = await env.run(ExecHookParent, env.child({"tag": "x"}), id=parent_id)
    answer = out["answer"]
    [start] = await child_starts(env.client.get_workflow_handle(parent_id))
    args = await decoded_child_args(env.client, start)
    assert len(args) == 2
    assert args[0] == {"tag": "x"}
    info = args[-1]
    assert set(info) == {"signal", "$durable"}
    assert info["$durable"] is True
    assert SIGNAL_ID.match(info["signal"]), info["signal"]
    # The answer is the data the hook signalled (its facts), under that signal id.
    assert answer["info"] == info
    assert answer["tag"] == "x"
    assert answer["workflow_id"] == start.workflow_id
    assert answer["parent"] == parent_id


async def test_exec_hook_uses_the_given_signal_id(env: Env) -> None:
    parent_id = env.wid("exec-sid")
    out = await env.run(
        ExecHookParent, env.child({"tag": "y"}, signal_id="my-signal"), id=parent_id
    )
    assert out["answer"]["info"] == {"signal": "my-signal", "$durable": True}


async def test_default_signal_ids_differ_per_exec_hook(env: Env) -> None:
    outs = await asyncio.gather(*(env.run(ExecHookParent, env.child({})) for _ in range(3)))
    signal_ids = {o["answer"]["info"]["signal"] for o in outs}
    assert len(signal_ids) == 3


async def test_signals_that_arrive_before_the_wait_are_kept_and_each_wait_takes_one(
    env: Env,
) -> None:
    parent_id = env.wid("early")
    handle = await env.client.start_workflow(
        EarlySignalsParent.run, env.task_queue, id=parent_id, task_queue=env.task_queue
    )

    async def both_signals_in_history() -> bool:
        evs = (await handle.fetch_history()).events
        names = [
            e.workflow_execution_signaled_event_attributes.signal_name
            for e in evs
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        return names.count(HOOK_SIGNAL) == 2

    await eventually(both_signals_in_history)
    await handle.signal(EarlySignalsParent.go)
    out = await handle.result()
    assert out["first"] == 1
    assert out["second"] == 2
    assert out["third"]["error"] == "HookTimeoutError"
    assert out["third"]["signal_id"] == "early"


async def test_exec_hook_timeout_raises_hook_timeout_error(env: Env) -> None:
    started = time.monotonic()
    out = await env.run(ExecHookParent, env.child({"silent": True}, timeout="1s"))
    assert out["error"] == "HookTimeoutError"
    assert out["timeout_seconds"] == 1.0
    assert SIGNAL_ID.match(out["signal_id"])
    assert "within 1s" in out["message"]
    assert time.monotonic() - started < 15


async def test_exec_hook_timeout_in_an_entity_handler_is_an_unexpected_error(env: Env) -> None:
    entity = await env.new_account()
    result = await env.accounts.dispatch(
        entity, {"type": "Exec", "payload": {"spec": {"silent": True}, "timeout": 1}}
    )
    error, _message = unexpected(result)
    assert "HookTimeoutError" in error
    # The entity is still usable: its lock was released.
    note = await env.accounts.dispatch(entity, {"type": "Note", "payload": {"text": "after"}})
    assert note.ok, note.error


# -- 6. exec_hook_batch -------------------------------------------------------------------------


async def test_exec_hook_batch_returns_each_answer_under_its_key(env: Env) -> None:
    items = [
        {"key": "a", **env.child({"tag": "A"})},
        {"key": "b", **env.child({"tag": "B", "sleep": 0.2})},
        {"key": "c", **env.child({"tag": "C"}, signal_id="batch-c")},
    ]
    out = await env.run(BatchParent, items)
    answers = out["answers"]
    assert set(answers) == {"a", "b", "c"}
    assert {k: v["tag"] for k, v in answers.items()} == {"a": "A", "b": "B", "c": "C"}
    assert answers["c"]["info"]["signal"] == "batch-c"
    assert len({v["info"]["signal"] for v in answers.values()}) == 3
    assert len({v["workflow_id"] for v in answers.values()}) == 3


async def test_exec_hook_batch_in_an_entity_handler(env: Env) -> None:
    entity = await env.new_account()
    items = [{"key": k, "hook": {"args": [{"tag": k}]}} for k in ("x", "y")]
    result = await env.accounts.dispatch(entity, {"type": "Batch", "payload": {"items": items}})
    assert result.ok, result.error
    [answers] = ok_data(result).answers
    assert {k: v["tag"] for k, v in answers.items()} == {"x": "x", "y": "y"}
    assert all(v["parent"] == entity for v in answers.values())


async def test_exec_hook_batch_rejects_duplicate_keys(env: Env) -> None:
    out = await env.run(BatchParent, [{"key": "a", **env.child()}, {"key": "a", **env.child()}])
    assert out["error"] == "ValueError"
    assert "unique" in out["message"]


# -- 7. hooking into other workflows and from outside --------------------------------------------


async def test_hook_into_another_workflow_is_started_by_the_target(env: Env) -> None:
    target = env.wid("target")
    waiting = await env.client.start_workflow(
        ReplayStableParent.run,
        args=[env.child(), 0, 1],
        id=target,
        task_queue=env.task_queue,
    )
    caller_id = env.wid("caller")
    hook_id = await env.run(
        FireAndForgetParent, env.child({"tag": "into"}, workflow_id=target), id=caller_id
    )
    assert hook_id.startswith(f"{target}-hook-")
    result = await started_result(env.client, hook_id)
    assert result["parent"] == target
    assert (await env.client.get_workflow_handle(hook_id).describe()).parent_id == target
    # The target started it; the caller only asked.
    assert await child_starts(env.client.get_workflow_handle(caller_id)) == []
    assert [s.workflow_id for s in await child_starts(waiting)] == [hook_id]
    await waiting.signal(ReplayStableParent.go)
    await waiting.result()


async def test_exec_hook_into_another_workflow_answers_the_caller(env: Env) -> None:
    target = await env.new_account("target")
    caller = await env.new_account("caller")
    result = await env.accounts.dispatch(
        caller,
        {"type": "Exec", "payload": {"spec": {"tag": "via"}, "workflow_id": target, "timeout": 20}},
    )
    assert result.ok, result.error
    [answer] = ok_data(result).answers
    assert answer["tag"] == "via"
    assert answer["parent"] == target  # the target hosts the hook ...
    [start] = await child_starts(env.client.get_workflow_handle(target))
    assert start.workflow_id == answer["workflow_id"]
    assert await child_starts(env.client.get_workflow_handle(caller)) == []


async def test_router_client_hook_is_started_by_the_target_entity(env: Env) -> None:
    entity = await env.new_account()
    hook_id = await env.accounts.hook(
        entity, task_queue=env.task_queue, workflow_name="HookChild", args=[{"tag": "outside"}]
    )
    assert hook_id.startswith(f"{entity}-hook-")
    result = await started_result(env.client, hook_id)
    assert result["parent"] == entity
    assert result["tag"] == "outside"

    # The same hook id again starts nothing new.
    again = await env.accounts.hook(
        entity,
        task_queue=env.task_queue,
        workflow_name="HookChild",
        args=[{"tag": "outside"}],
        hook_id=hook_id,
    )
    assert again == hook_id
    # The request is an Update whose id is the hook id: the entity answers a repeat from
    # Temporal's record of the first, and starts nothing.
    starts = await child_starts(env.client.get_workflow_handle(entity))
    assert [s.workflow_id for s in starts] == [hook_id]
    runs = [w.run_id async for w in env.client.list_workflows(f"WorkflowId = '{hook_id}'")]
    assert len(runs) == 1


async def test_router_client_hook_with_entity_shorthand(env: Env) -> None:
    entity = await env.new_account()
    hook_id = await env.accounts.hook(entity, entity=ENTITY_HOOK, args=[{"tag": "short"}])
    result = await started_result(env.client, hook_id)
    assert (result["workflow_type"], result["task_queue"]) == (ENTITY_HOOK, ENTITY_HOOK)


# -- 8. many hosts at once ------------------------------------------------------------------------


async def test_fifty_hosts_each_get_only_their_own_answer(env: Env) -> None:
    entities = [env.wid(f"many{i}") for i in range(50)]
    started = time.monotonic()
    results = await asyncio.gather(
        *(
            env.accounts.dispatch(
                e,
                {"type": "Exec", "payload": {"spec": {"tag": e}, "timeout": 60}},
                create={"initial_state": "Open", "data": {}},
            )
            for e in entities
        )
    )
    elapsed = time.monotonic() - started
    for entity, result in zip(entities, results, strict=True):
        assert result.ok, (entity, result.error)
        [answer] = ok_data(result).answers
        assert answer["tag"] == entity
        assert answer["parent"] == entity
        assert answer["workflow_id"].startswith(f"{entity}-hook-")
    assert len({ok_data(r).answers[0]["info"]["signal"] for r in results}) == 50
    print(f"50 concurrent exec_hook round trips: {elapsed:.2f}s")


async def test_one_exec_hook_round_trip_time(env: Env) -> None:
    entity = await env.new_account()
    times = []
    for _ in range(5):
        started = time.monotonic()
        result = await env.accounts.dispatch(entity, {"type": "Exec", "payload": {"spec": {}}})
        times.append(time.monotonic() - started)
        assert result.ok, result.error
    times.sort()
    print(f"exec_hook round trip through an entity: median {times[2] * 1000:.0f} ms")
    assert times[2] < 5.0


# -- 9. continue-as-new while a hook is in flight --------------------------------------------------


async def _first_run_child(env: Env, parent_id: str) -> str:
    async def started() -> list[Any]:
        return await child_starts(env.client.get_workflow_handle(parent_id))

    [start] = await eventually(started)
    return str(start.workflow_id)


@pytest.mark.parametrize(
    "answer_first", [False, True], ids=["answer-after-can", "answer-before-can"]
)
async def test_parent_that_continues_as_new_still_gets_the_answer(
    env: Env, answer_first: bool
) -> None:
    parent_id = env.wid("can-wait")
    handle = await env.client.start_workflow(
        CanWaitParent.run,
        args=[env.task_queue, "can-answer"],
        id=parent_id,
        task_queue=env.task_queue,
    )
    first_run = handle.result_run_id
    hook_id = await _first_run_child(env, parent_id)
    child = env.client.get_workflow_handle(hook_id)
    if answer_first:
        # The answer reaches run 1 before it continues-as-new.
        await child.signal("release")
        await child.result()
        run1 = env.client.get_workflow_handle(parent_id, run_id=first_run)

        async def answered() -> bool:
            evs = (await run1.fetch_history()).events
            return any(
                e.workflow_execution_signaled_event_attributes.signal_name == HOOK_SIGNAL
                for e in evs
            )

        await eventually(answered)
        await handle.signal(CanWaitParent.go)
    else:
        await handle.signal(CanWaitParent.go)
        await wait_status(env.client, hook_id, WorkflowExecutionStatus.RUNNING)
        await child.signal("release")
    out = await env.client.get_workflow_handle(parent_id).result()
    assert out["run"] == 3
    assert out["answer"]["tag"] == "in-flight"
    assert out["answer"]["workflow_id"] == hook_id
    assert out["again"]["error"] == "HookTimeoutError"  # consumed once, not carried again
    described = await env.client.get_workflow_handle(parent_id).describe()
    assert described.run_id != first_run


# -- the stored history ---------------------------------------------------------------------------


async def record_stored_history(client: Client, task_queue: str) -> None:
    """Regenerate ``tests/histories/exec_hook_parent.json``: run this with a client made by
    ``_hook_support.hook_client(server.target, ["stored-history"], account_router)``. Only
    needed if ``ExecHookParent`` or ``HookChild`` change on purpose."""
    handle = await client.start_workflow(
        ExecHookParent.run,
        {"task_queue": task_queue, "workflow_name": "HookChild", "args": [{"tag": "stored"}]},
        id="exec-hook-parent",
        task_queue=task_queue,
    )
    await handle.result()
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    STORED_HISTORY.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
