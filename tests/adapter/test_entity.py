"""Entities on a real dev server: create, dispatch, get, list, concurrency, exactly-once,
update-with-start and migrations."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from temporal_router import DispatchResult, ValidationError
from temporal_router.adapter import RouterClient, RouterPlugin
from temporal_router.testing import DevServer
from temporal_router.workflows._messages import CreateSpec, EntityInput

from ._routers import (
    TASK,
    Appended,
    Doing,
    Started,
    Todo,
    build_migration_routers,
    build_task_router,
    history_length,
    hosted,
)


async def _poll_listing(
    tasks: RouterClient, wanted: set[str], state: str | None, *, deadline_s: float = 20.0
) -> set[str]:
    """Our ids in ``tasks.list(state)``, polled until they are ``wanted`` (visibility lags)."""
    deadline = time.monotonic() + deadline_s
    while True:
        found = {e.id async for e in tasks.list(state) if e.id in wanted or e.id.startswith("lst")}
        if found == wanted or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_create_dispatch_get(temporal_dev_server: DevServer, task_queue: str) -> None:
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-t1"

        created = await tasks.create(entity, initial_state="Todo", data={"title": "write tests"})
        assert (created.id, created.state, created.data) == (
            entity,
            "Todo",
            Todo(title="write tests"),
        )
        assert created.definition_name == TASK.name

        result = await tasks.dispatch(entity, {"type": "Start", "payload": {"assignee": "ada"}})
        assert result.ok, result.error
        assert result.workflow is not None
        assert result.workflow.state == "Doing"
        assert result.workflow.data == Doing(title="write tests", assignee="ada")
        assert [(e.type, e.data) for e in result.events] == [("Started", Started(by="ada"))]

        result = await tasks.dispatch(entity, {"type": "Append", "payload": {"n": 7}})
        assert result.ok, result.error
        assert [(e.type, e.data) for e in result.events] == [("Appended", Appended(n=7))]

        snapshot = await tasks.get(entity)
        assert (snapshot.id, snapshot.state, snapshot.version, snapshot.model_version) == (
            entity,
            "Doing",
            3,
            1,
        )
        assert snapshot.data == Doing(title="write tests", assignee="ada", items=[7])
        assert snapshot.created_at == created.created_at
        assert snapshot.updated_at > snapshot.created_at
        assert snapshot.workflow == result.workflow

        # The id is taken; the entity is untouched.
        with pytest.raises(WorkflowAlreadyStartedError):
            await tasks.create(entity, initial_state="Todo", data={"title": "again"})
        assert (await tasks.get(entity)).version == 3


async def test_create_refuses_invalid_data_before_sending(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-bad"
        with pytest.raises(ValidationError):
            await tasks.create(entity, initial_state="Todo", data={"title": 12})
        with pytest.raises(ValidationError):
            await tasks.dispatch(
                entity,
                {"type": "Start", "payload": {"assignee": "ada"}},
                create={"initial_state": "Todo", "data": {}},
            )
        with pytest.raises(RPCError) as info:
            await client.get_workflow_handle(entity).describe()
        assert info.value.status == RPCStatusCode.NOT_FOUND


async def test_list_by_state_through_visibility(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        ids = [f"{task_queue}-l{i}" for i in range(3)]
        for entity in ids:
            await tasks.create(entity, initial_state="Todo", data={"title": entity})
        started = await tasks.dispatch(ids[0], {"type": "Start", "payload": {"assignee": "bo"}})
        assert started.ok, started.error

        everything = await _poll_listing(tasks, set(ids), None)
        doing = await _poll_listing(tasks, {ids[0]}, "Doing")
        todo = await _poll_listing(tasks, set(ids[1:]), "Todo")
        assert everything == set(ids)
        assert doing == {ids[0]}
        assert todo == set(ids[1:])

        listing = {e.id: e async for e in tasks.list("Doing") if e.id == ids[0]}
        entry = listing[ids[0]]
        assert (entry.state, entry.definition_name) == ("Doing", TASK.name)
        assert entry.run_id
        assert entry.start_time is not None


async def test_concurrent_dispatches_to_one_entity(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-c"
        await tasks.create(entity, initial_state="Todo", data={"title": "many"})

        results = await asyncio.gather(
            *(tasks.dispatch(entity, {"type": "Append", "payload": {"n": n}}) for n in range(100))
        )

        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        final = await tasks.get(entity)
        assert final.version == 101
        assert sorted(final.data.items) == list(range(100))
        # Each reply saw exactly the commands applied before it, in the final order.
        replies: list[tuple[int, list[int]]] = []
        for n, result in enumerate(results):
            assert result.workflow is not None
            data: Any = result.workflow.data
            items: list[int] = data.items
            assert items[-1] == n
            replies.append((len(items), items))
        assert sorted(length for length, _ in replies) == list(range(1, 101))
        for length, items in replies:
            assert items == final.data.items[:length]


async def test_flood_beyond_the_servers_in_flight_update_limit(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    """The server admits 10 in-flight updates per workflow and bounces the rest; a client
    that does not queue them itself still loses none (it retries with the same id)."""
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue, max_in_flight_per_entity=100)
        entity = f"{task_queue}-f"
        await tasks.create(entity, initial_state="Todo", data={"title": "flood"})

        results = await asyncio.gather(
            *(tasks.dispatch(entity, {"type": "Append", "payload": {"n": n}}) for n in range(100))
        )

        assert all(r.ok for r in results), [r.error for r in results if not r.ok]
        final = await tasks.get(entity)
        assert final.version == 101
        assert sorted(final.data.items) == list(range(100))


async def test_retried_command_id_is_applied_once(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-x"
        await tasks.create(entity, initial_state="Todo", data={"title": "once"})
        append_1 = {"type": "Append", "payload": {"n": 1}}

        first = await tasks.dispatch(entity, append_1, command_id="cmd-1")
        assert first.ok, first.error
        again = await tasks.dispatch(entity, append_1, command_id="cmd-1")
        # A retry whose payload differs still gets the first reply: the id is the command.
        different = await tasks.dispatch(
            entity, {"type": "Append", "payload": {"n": 2}}, command_id="cmd-1"
        )
        concurrent = await asyncio.gather(
            *(tasks.dispatch(entity, append_1, command_id="cmd-1") for _ in range(10))
        )

        for retry in [again, different, *concurrent]:
            assert retry == first
        snapshot = await tasks.get(entity)
        assert snapshot.version == 2
        assert snapshot.data.items == [1]

        # A new id is a new command.
        other = await tasks.dispatch(entity, append_1, command_id="cmd-2")
        assert other.ok
        assert (await tasks.get(entity)).data.items == [1, 1]


async def test_dispatch_with_create_starts_then_reuses(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-u"

        first = await tasks.dispatch(
            entity,
            {"type": "Append", "payload": {"n": 1}},
            create={"initial_state": "Todo", "data": {"title": "first"}},
        )
        assert first.ok, first.error
        run_id = (await client.get_workflow_handle(entity).describe()).run_id

        second = await tasks.dispatch(
            entity,
            {"type": "Append", "payload": {"n": 2}},
            create={"initial_state": "Todo", "data": {"title": "second"}},
        )
        assert second.ok, second.error
        assert second.workflow is not None
        assert second.workflow.data == Todo(title="first", items=[1, 2])

        snapshot = await tasks.get(entity)
        assert snapshot.version == 3
        assert (await client.get_workflow_handle(entity).describe()).run_id == run_id
        # Retried update-with-start: same command id, nothing applied twice.
        retried = await tasks.dispatch(
            entity,
            {"type": "Append", "payload": {"n": 2}},
            create={"initial_state": "Todo", "data": {"title": "third"}},
            command_id="with-start",
        )
        retried_again = await tasks.dispatch(
            entity,
            {"type": "Append", "payload": {"n": 2}},
            create={"initial_state": "Todo", "data": {"title": "third"}},
            command_id="with-start",
        )
        assert retried == retried_again
        assert (await tasks.get(entity)).version == 4


async def _start_from_snapshot(
    client: Client, task_queue: str, entity: str, snapshot: dict[str, Any], definition: str
) -> None:
    await client.start_workflow(
        definition,
        EntityInput(definition, snapshot=snapshot),
        id=entity,
        task_queue=task_queue,
    )


async def test_older_snapshot_is_migrated_on_load(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    v1, v2, pipeline = build_migration_routers()
    entity = f"{task_queue}-p"
    old = v1.definition.create_workflow(entity, initial_state="Active", data={"name": "Ada"})
    snapshot = dict(v1.definition.serialize(old, version=7))
    assert snapshot["model_version"] == 1

    async with hosted(temporal_dev_server.target, task_queue, v2, migrations=[pipeline]) as client:
        profiles = RouterClient(client, v2, task_queue=task_queue)
        await _start_from_snapshot(client, task_queue, entity, snapshot, v2.definition.name)

        loaded = await profiles.get(entity)
        assert (loaded.model_version, loaded.version) == (2, 7)
        assert loaded.data.model_dump() == {"name": "Ada", "email": "ada@example.com"}
        assert loaded.created_at == old.created_at

        renamed = await profiles.dispatch(entity, {"type": "Rename", "payload": {"name": "Bo"}})
        assert renamed.ok, renamed.error
        after = await profiles.get(entity)
        assert after.version == 8
        assert after.data.model_dump() == {"name": "Bo", "email": "ada@example.com"}


async def test_older_snapshot_without_migrations_fails_the_load(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    v1, v2, _ = build_migration_routers()
    entity = f"{task_queue}-p"
    old = v1.definition.create_workflow(entity, initial_state="Active", data={"name": "Ada"})
    snapshot = dict(v1.definition.serialize(old))

    async with hosted(temporal_dev_server.target, task_queue, v2) as client:
        await _start_from_snapshot(client, task_queue, entity, snapshot, v2.definition.name)
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(client.get_workflow_handle(entity).result(), 20)
        assert "cannot restore snapshot" in str(info.value.cause)
        assert "email" in str(info.value.cause)
        result: DispatchResult = await RouterClient(client, v2, task_queue=task_queue).dispatch(
            entity, {"type": "Rename", "payload": {"name": "Bo"}}
        )
        assert result.error is not None
        assert (result.error.category, getattr(result.error, "code", None)) == (
            "router",
            "NOT_FOUND",
        )
        assert await history_length(client, entity) > 0


async def test_created_at_is_the_same_when_a_worker_without_the_entity_in_cache_rebuilds_it(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    """The first workflow task of an entity issues no command; a worker that rebuilds the
    entity from history folds it into the next task, where ``workflow.now()`` is later."""
    router = build_task_router()
    plugin = RouterPlugin(router)
    client = await Client.connect(temporal_dev_server.target, plugins=[plugin])
    async with Worker(client, task_queue=task_queue, max_cached_workflows=0):
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-uncached"
        created = await tasks.create(entity, initial_state="Todo", data={"title": "t"})
        await asyncio.sleep(1.2)
        result = await tasks.dispatch(entity, {"type": "Start", "payload": {"assignee": "ada"}})
        assert result.ok, result.error
        assert result.workflow is not None
        assert result.workflow.created_at == created.created_at
        assert result.workflow.updated_at > created.created_at


async def test_replies_are_short_for_entities_this_version_creates_and_full_otherwise(
    temporal_dev_server: DevServer, task_queue: str
) -> None:
    """The reply's short form (no ``id``, no ``model_version`` of 1) is decided by the run's
    input, so a run recorded before it replays with the replies it sent; the client restores
    both forms to the same result."""
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        short, full = f"{task_queue}-short", f"{task_queue}-full"
        await tasks.create(short, initial_state="Todo", data={"title": "t"})
        # As a client before short replies started it: no short_replies in the input.
        await client.start_workflow(
            tasks.workflow_type,
            EntityInput(TASK.name, create=CreateSpec("Todo", {"title": "t"})),
            id=full,
            task_queue=task_queue,
        )
        results = {}
        for entity in (short, full):
            results[entity] = await tasks.dispatch(
                entity, {"type": "Start", "payload": {"assignee": "ada"}}
            )
            assert results[entity].ok, results[entity].error
        for entity, has_id in ((short, False), (full, True)):
            history = await client.get_workflow_handle(entity).fetch_history()
            replies = [
                e.workflow_execution_update_completed_event_attributes.outcome.success
                for e in history.events
                if e.HasField("workflow_execution_update_completed_event_attributes")
            ]
            assert len(replies) == 1
            data = replies[0].payloads[0].data
            assert (b'"id":' in data, b'"model_version"' in data) == (has_id, has_id), data
            workflow = results[entity].workflow
            assert workflow is not None
            assert (workflow.id, workflow.state) == (entity, "Doing")
