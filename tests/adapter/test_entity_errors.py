"""Every error category of a dispatch, across the wire, on a real dev server.

Rejections that need no state (unknown command, invalid payload, a stale expected version)
are made by the Update's validator and must leave no trace in the entity's history.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError

from temporal_router import (
    DependencyFailure,
    DispatchResult,
    DomainFailure,
    RemoteError,
    RouterFailure,
    UnexpectedFailure,
    ValidationFailure,
)
from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer
from temporal_router.workflows._messages import EntityInput

from ._routers import NotAllowed, build_task_router, history_length, hosted


@dataclass
class Hosted:
    client: Client
    tasks: RouterClient
    entity: str


@pytest_asyncio.fixture
async def hosted_task(temporal_dev_server: DevServer, task_queue: str) -> AsyncIterator[Hosted]:
    """An ``AdapterTask`` entity in ``Todo`` (version 1), with a worker running."""
    router = build_task_router()
    async with hosted(temporal_dev_server.target, task_queue, router) as client:
        tasks = RouterClient(client, router, task_queue=task_queue)
        entity = f"{task_queue}-e"
        await tasks.create(entity, initial_state="Todo", data={"title": "errors"})
        yield Hosted(client, tasks, entity)


async def _version(h: Hosted) -> int:
    return (await h.tasks.get(h.entity)).version


async def _rejected_without_history(
    h: Hosted, command: dict[str, object], **kw: object
) -> DispatchResult:
    """Dispatch ``command``; assert it wrote no history event and changed nothing."""
    before = await history_length(h.client, h.entity)
    version = await _version(h)
    result = await h.tasks.dispatch(h.entity, command, **kw)  # type: ignore[arg-type]
    assert not result.ok
    assert await history_length(h.client, h.entity) == before
    assert await _version(h) == version
    return result


async def test_invalid_payload_is_rejected_without_history(hosted_task: Hosted) -> None:
    result = await _rejected_without_history(
        hosted_task, {"type": "Start", "payload": {"assignee": ""}}
    )
    error = result.error
    assert isinstance(error, ValidationFailure)
    assert (error.category, error.source) == ("validation", "command")
    assert [issue["loc"] for issue in error.issues] == [["assignee"]]
    assert "assignee" in error.message

    missing = await _rejected_without_history(hosted_task, {"type": "Append", "payload": {}})
    assert isinstance(missing.error, ValidationFailure)
    assert missing.error.issues[0]["type"] == "missing"


async def test_unknown_command_is_rejected_without_history(hosted_task: Hosted) -> None:
    result = await _rejected_without_history(hosted_task, {"type": "Teleport", "payload": {}})
    assert isinstance(result.error, RouterFailure)
    assert (result.error.category, result.error.code) == ("router", "UNKNOWN_COMMAND")
    assert "Teleport" in result.error.message


async def test_malformed_command_fails_on_the_client(hosted_task: Hosted) -> None:
    result = await _rejected_without_history(hosted_task, {"payload": {}})
    assert isinstance(result.error, ValidationFailure)
    assert result.error.source == "command"


async def test_stale_expected_version_is_rejected_without_history(hosted_task: Hosted) -> None:
    h = hosted_task
    first = await h.tasks.dispatch(h.entity, {"type": "Append", "payload": {"n": 1}})
    assert first.ok
    result = await _rejected_without_history(
        h, {"type": "Append", "payload": {"n": 2}}, expected_version=1
    )
    assert isinstance(result.error, RouterFailure)
    assert result.error.code == "VERSION_CONFLICT"
    assert "expected version 1" in result.error.message
    assert "version 2" in result.error.message


async def test_expected_version_checked_against_the_current_version(hosted_task: Hosted) -> None:
    h = hosted_task
    # Ahead of the entity: only the handler can tell (the validator lets it through).
    ahead = await h.tasks.dispatch(
        h.entity, {"type": "Append", "payload": {"n": 1}}, expected_version=5
    )
    assert isinstance(ahead.error, RouterFailure)
    assert ahead.error.code == "VERSION_CONFLICT"
    assert await _version(h) == 1

    # Two writers that both read version 1: exactly one wins.
    racing = await asyncio.gather(
        *(
            h.tasks.dispatch(h.entity, {"type": "Append", "payload": {"n": n}}, expected_version=1)
            for n in range(5)
        )
    )
    assert sum(r.ok for r in racing) == 1
    for loser in (r for r in racing if not r.ok):
        assert isinstance(loser.error, RouterFailure)
        assert loser.error.code == "VERSION_CONFLICT"
    snapshot = await h.tasks.get(h.entity)
    assert snapshot.version == 2
    assert len(snapshot.data.items) == 1


async def test_no_handler(hosted_task: Hosted) -> None:
    h = hosted_task
    before = await history_length(h.client, h.entity)
    result = await h.tasks.dispatch(h.entity, {"type": "Archive", "payload": {}})
    # Refused by the router in the handler, not the validator: that is recorded.
    assert await history_length(h.client, h.entity) > before
    assert isinstance(result.error, RouterFailure)
    assert (result.error.category, result.error.code) == ("router", "NO_HANDLER")
    assert "Archive" in result.error.message
    assert "Todo" in result.error.message
    assert await _version(h) == 1


async def test_domain_error_carries_parsed_data(hosted_task: Hosted) -> None:
    h = hosted_task
    await h.tasks.dispatch(h.entity, {"type": "Append", "payload": {"n": 3}})
    result = await h.tasks.dispatch(h.entity, {"type": "Finish", "payload": {}})
    error = result.error
    assert isinstance(error, DomainFailure)
    assert (error.category, error.code) == ("domain", "NotAllowed")
    assert error.data == NotAllowed(reason="not started", limit=1)
    assert isinstance(error.data, NotAllowed)
    assert await _version(h) == 2


async def test_dependency_failure_comes_back_as_remote_error(hosted_task: Hosted) -> None:
    h = hosted_task
    result = await h.tasks.dispatch(
        h.entity, {"type": "Explode", "payload": {"kind": "dependency"}}
    )
    error = result.error
    assert isinstance(error, DependencyFailure)
    assert (error.category, error.name) == ("dependency", "mailer")
    assert isinstance(error.error, RemoteError)
    assert error.error.type_name == "ConnectionError"
    assert "mail server refused ada@example.com" in str(error.error)
    assert await _version(h) == 1


async def test_unexpected_failure_comes_back_as_remote_error(hosted_task: Hosted) -> None:
    h = hosted_task
    result = await h.tasks.dispatch(
        h.entity, {"type": "Explode", "payload": {"kind": "unexpected"}}
    )
    error = result.error
    assert isinstance(error, UnexpectedFailure)
    assert error.category == "unexpected"
    assert isinstance(error.error, RemoteError)
    assert error.error.type_name == "RuntimeError"
    assert str(error.error) == "RuntimeError: boom"
    # The entity survives a handler bug.
    after = await h.tasks.dispatch(h.entity, {"type": "Append", "payload": {"n": 1}})
    assert after.ok
    assert await _version(h) == 2


async def test_not_found(hosted_task: Hosted) -> None:
    h = hosted_task
    result = await h.tasks.dispatch(f"{h.entity}-missing", {"type": "Append", "payload": {"n": 1}})
    assert isinstance(result.error, RouterFailure)
    assert (result.error.category, result.error.code) == ("router", "NOT_FOUND")
    assert f"{h.entity}-missing" in result.error.message


async def test_snapshot_in_an_unknown_state_is_refused_at_load(hosted_task: Hosted) -> None:
    """``UNKNOWN_STATE`` cannot reach a client from an entity.

    The router returns it for a workflow whose state the definition does not declare. An
    entity only ever holds workflows that passed ``definition.deserialize`` (or creation),
    which refuses unknown states, so the only way to get one in is a snapshot, and the
    entity refuses it at load: the run fails (non-retryable) naming the state, and later
    dispatches get ``NOT_FOUND``.
    """
    h = hosted_task
    entity = f"{h.entity}-unknown-state"
    snapshot = dict(
        await h.client.get_workflow_handle(h.entity).query("snapshot", result_type=dict)
    )
    snapshot.update(id=entity, state="Archived")
    await h.client.start_workflow(
        "AdapterTask",
        EntityInput("AdapterTask", snapshot=snapshot),
        id=entity,
        task_queue=h.tasks.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as info:
        await asyncio.wait_for(h.client.get_workflow_handle(entity).result(), 20)
    assert "Unknown state: Archived" in str(info.value.cause)

    result = await h.tasks.dispatch(entity, {"type": "Append", "payload": {"n": 1}})
    assert isinstance(result.error, RouterFailure)
    assert result.error.code == "NOT_FOUND"
