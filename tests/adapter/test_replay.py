"""Recorded entity histories replay through ``Replayer(plugins=[RouterPlugin(...)])``, and
non-deterministic changes to the entity are caught.

The histories were recorded once by ``python -m tests.histories.record_entity`` (see its
docstring for what each contains).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from temporal_router.adapter import RouterPlugin
from temporal_router.workflows._messages import DELIVER_ACTIVITY

from ..histories._hook_history import HOOK_WORKFLOWS, build_history_router
from ..histories._plain_request import Kid, Sleeper
from ..histories.record_entity import (
    BASIC,
    BASIC_ID,
    CONTINUED,
    CONTINUED_ID,
    CONTINUED_MAX_HISTORY,
    ORDER_ID,
    REACTOR,
)
from ..histories.record_hooks import HOOKS_CONTINUED, HOOKS_ID, HOOKS_MAX_HISTORY, HOOKS_SECOND
from ._routers import TASK, build_reactor_routers, build_task_router


def _load(path: Path, workflow_id: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(workflow_id, path.read_text())


def _types(history: WorkflowHistory) -> list[int]:
    return [event.event_type for event in history.events]


def _count(history: WorkflowHistory, event_type: int) -> int:
    return _types(history).count(event_type)


def _replayer(plugin: RouterPlugin) -> Replayer:
    return Replayer(workflows=[], plugins=[plugin])


def _reactor_plugin(*, with_reactors: bool = True) -> RouterPlugin:
    orders, shipping, reactors = build_reactor_routers()
    return RouterPlugin(orders, shipping, reactors=reactors if with_reactors else None)


async def test_basic_history_replays() -> None:
    history = _load(BASIC, BASIC_ID)
    # What was recorded: 11 accepted commands (the validator's rejection and the retried
    # command id left no event), two transitions upserting RouterState, still running.
    assert history.events[0].workflow_execution_started_event_attributes.workflow_type.name == (
        TASK.name
    )
    assert _count(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) == 11
    assert _count(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) == 11
    assert _count(history, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) == 2
    assert _count(history, EventType.EVENT_TYPE_TIMER_STARTED) == 0

    result = await _replayer(RouterPlugin(build_task_router())).replay_workflow(history)

    assert result.replay_failure is None


async def test_history_ending_in_continue_as_new_replays() -> None:
    history = _load(CONTINUED, CONTINUED_ID)
    assert _types(history)[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW

    plugin = RouterPlugin(build_task_router(), max_history_events=CONTINUED_MAX_HISTORY)
    result = await _replayer(plugin).replay_workflow(history)

    assert result.replay_failure is None


async def test_history_with_reactor_delivery_replays() -> None:
    history = _load(REACTOR, ORDER_ID)
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == [DELIVER_ACTIVITY]
    assert _count(history, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) == 1

    result = await _replayer(_reactor_plugin()).replay_workflow(history)

    assert result.replay_failure is None


async def test_handler_that_starts_a_timer_is_non_deterministic() -> None:
    plugin = RouterPlugin(build_task_router(timer_in_start=True))
    with pytest.raises(NondeterminismError, match="Timer"):
        await _replayer(plugin).replay_workflow(_load(BASIC, BASIC_ID))


async def test_dropping_the_reactors_is_non_deterministic() -> None:
    with pytest.raises(NondeterminismError, match="ActivityTaskScheduled"):
        await _replayer(_reactor_plugin(with_reactors=False)).replay_workflow(
            _load(REACTOR, ORDER_ID)
        )


async def test_continue_as_new_bound_is_part_of_the_replayed_decision() -> None:
    """A first run reads the worker's bound during replay, so changing ``max_history_events``
    moves where such a run ends: here the recorded continue-as-new at event ~100 is no
    longer issued. (Continued runs carry the bound they started with in their input, so a
    new bound applies to them only from their next run.) Change the bound of running first
    runs only together with a worker versioning strategy."""
    plugin = RouterPlugin(build_task_router(), max_history_events=10 * CONTINUED_MAX_HISTORY)
    with pytest.raises(NondeterminismError, match="ContinuedAsNew"):
        await _replayer(plugin).replay_workflow(_load(CONTINUED, CONTINUED_ID))


# -- histories recorded before the Temporal half was split (workflows/ apart from adapter/) --


def _hooks_plugin() -> RouterPlugin:
    return RouterPlugin(
        build_history_router(), max_history_events=HOOKS_MAX_HISTORY, workflows=HOOK_WORKFLOWS
    )


async def test_hooked_entity_run_that_continued_as_new_replays() -> None:
    """An entity whose handler waited on ``exec_hook`` while the hook dispatched to it, with
    a hook answer nobody had consumed yet carried across continue-as-new."""
    history = _load(HOOKS_CONTINUED, HOOKS_ID)
    types = _types(history)
    assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert _count(history, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 2
    assert _count(history, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == 2
    carried = json.loads(
        history.events[-1]
        .workflow_execution_continued_as_new_event_attributes.input.payloads[0]
        .data
    )
    assert carried["hook_state"]["inbox"]["signals"] == {"reminder-1": [{"reminder": "pay"}]}

    result = await _replayer(_hooks_plugin()).replay_workflow(history)

    assert result.replay_failure is None


async def test_hooked_entity_second_run_replays_from_the_carried_input() -> None:
    """The next run starts from the input the old code wrote (snapshot, remembered replies,
    hook inbox) and hooks again."""
    history = _load(HOOKS_SECOND, HOOKS_ID)
    assert _count(history, EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) == 1

    result = await _replayer(_hooks_plugin()).replay_workflow(history)

    assert result.replay_failure is None


async def test_a_hook_request_delivered_with_the_start_replays_in_its_recorded_order() -> None:
    recorded = Path(__file__).parent.parent / "histories" / "plain_hook_request_at_start.json"
    history = _load(recorded, "sleeper")
    types = [e.event_type for e in history.events]
    timer = types.index(EventType.EVENT_TYPE_TIMER_STARTED)
    child = types.index(EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert timer < child  # what a replay must reproduce
    replayer = Replayer(
        workflows=[], plugins=[RouterPlugin(build_task_router(), workflows=[Sleeper, Kid])]
    )
    await replayer.replay_workflow(history)
