"""RouterPlugin: sandbox hygiene with a strict import policy, and installing it more than once."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from temporal_router.adapter import (
    PASSTHROUGH_MODULES,
    RouterClient,
    RouterInterceptor,
    RouterPlugin,
)
from temporal_router.testing import DevServer
from temporal_router.workflows._entity import EntityWorkflow, entity_workflow_class

from ._routers import TASK, build_task_router

STRICT = workflow.SandboxImportNotificationPolicy.RAISE_ON_UNINTENTIONAL_PASSTHROUGH


def _strict_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_import_notification_policy(STRICT)
    )


async def _exercise(client: Client, task_queue: str, entity: str) -> None:
    """Create an entity, move it and read it back (bounded: a failing workflow task would
    otherwise make the calls wait forever)."""
    tasks = RouterClient(client, TASK, task_queue=task_queue)

    async def run() -> None:
        await tasks.create(entity, initial_state="Todo", data={"title": "plugin"})
        result = await tasks.dispatch(entity, {"type": "Start", "payload": {"assignee": "ada"}})
        assert result.ok, result.error
        invalid = await tasks.dispatch(entity, {"type": "Start", "payload": {"assignee": ""}})
        assert invalid.error is not None
        assert invalid.error.category == "validation"
        snapshot = await tasks.get(entity)
        assert (snapshot.state, snapshot.version) == ("Doing", 2)

    await asyncio.wait_for(run(), 30)


def _entity_types(workflows: Sequence[Any]) -> list[type[EntityWorkflow]]:
    return [
        w
        for w in workflows
        if isinstance(w, type)
        and issubclass(w, EntityWorkflow)
        and w.router.definition.name == TASK.name
    ]


def _router_interceptors(*interceptor_lists: Any) -> int:
    return sum(isinstance(i, RouterInterceptor) for lst in interceptor_lists for i in lst)


async def test_strict_sandbox_runner_keeps_its_policy_and_runs_entities(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    client = await Client.connect(temporal_dev_server.target, plugins=[RouterPlugin(router)])
    worker = Worker(client, task_queue=task_queue, workflow_runner=_strict_runner())

    runner = worker.config(active_config=True)["workflow_runner"]
    assert isinstance(runner, SandboxedWorkflowRunner)
    # The plugin added its pass-through to the given runner instead of replacing it.
    assert runner.restrictions.import_notification_policy == STRICT
    assert set(PASSTHROUGH_MODULES) <= set(runner.restrictions.passthrough_modules)
    assert set(SandboxRestrictions.default.passthrough_modules) <= set(
        runner.restrictions.passthrough_modules
    )

    async with worker:
        await _exercise(client, task_queue, f"{task_queue}-strict")


async def test_strict_policy_is_enforced_without_our_pass_through() -> None:
    """The control for the test above: the same strict runner, without the library passed
    through, refuses the entity module's imports."""
    from temporalio.worker.workflow_sandbox._restrictions import UnintentionalPassthroughError

    router = build_task_router()
    entity = entity_workflow_class(router)
    runner = _strict_runner()
    with pytest.raises(UnintentionalPassthroughError, match="temporal_router"):
        runner.prepare_workflow(workflow._Definition.must_from_class(entity))


async def test_plugin_on_client_and_worker_registers_everything_once(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    plugin = RouterPlugin(router)
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin, plugin])
    # temporalio itself warns about the same plugin type on both; it must be harmless.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The same plugin type", UserWarning)
        worker = Worker(client, task_queue=task_queue, plugins=[plugin])

    config = worker.config(active_config=True)
    assert _entity_types(config["workflows"]) == [plugin.entity_workflow(TASK.name)]
    activities = config["activities"]
    assert len(activities) == len(set(map(id, activities)))
    assert (
        _router_interceptors(
            client.config(active_config=True)["interceptors"], config["interceptors"]
        )
        == 1
    )
    assert client.data_converter.payload_converter_class is PydanticPayloadConverter

    async with worker:
        await _exercise(client, task_queue, f"{task_queue}-twice")


async def test_two_plugins_for_the_same_router_share_one_entity_class(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    first, second = RouterPlugin(router), RouterPlugin(router)
    assert first.entity_workflow(TASK.name) is second.entity_workflow(TASK.name)
    assert entity_workflow_class(router) is entity_workflow_class(router)

    client = await Client.connect(temporal_dev_server.target, plugins=[first, second])
    worker = Worker(client, task_queue=task_queue)
    config = worker.config(active_config=True)
    assert len(_entity_types(config["workflows"])) == 1
    assert (
        _router_interceptors(
            client.config(active_config=True)["interceptors"], config["interceptors"]
        )
        == 1
    )

    async with worker:
        await _exercise(client, task_queue, f"{task_queue}-shared")


def test_a_sandbox_that_reimports_the_entity_module_names_the_fix() -> None:
    # temporalio's default restrictions re-import temporal_router.workflows._entity, whose
    # fresh copy lacks the entity classes made at run time.
    entity = entity_workflow_class(build_task_router())
    runner = SandboxedWorkflowRunner()
    with pytest.raises(ImportError, match=r"pass 'temporal_router\.workflows' through"):
        runner.prepare_workflow(workflow._Definition.must_from_class(entity))


def test_outside_a_sandbox_a_missing_entity_class_is_a_plain_attribute_error() -> None:
    from temporal_router.workflows import _entity

    missing = "Entity_Nobody_999"
    assert not hasattr(_entity, missing)
    with pytest.raises(AttributeError, match=missing):
        getattr(_entity, missing)
