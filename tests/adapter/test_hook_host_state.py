"""Hooks that share their host's state: read it with host_snapshot, change it only through
the host's router with dispatch_to_host, then answer; the waiting handler sees the change.

``RECORD`` (from ``_hook_entities``) lists what the host's middleware and ``dispatch:end``
lifecycle hook saw, so a command that bypassed the router would be missing from it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from temporalio.client import Client

from temporal_router.adapter import RouterClient
from temporal_router.testing import DevServer, unique_task_queue

from ._hook_entities import RECORD, account_router
from ._hook_support import eventually, hook_client, ok_data, started_result, unexpected


class Env:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue
        self.accounts = RouterClient(client, account_router, task_queue=task_queue)

    async def new_account(self, prefix: str = "host") -> str:
        entity = f"{prefix}-{uuid.uuid4().hex[:10]}"
        await self.accounts.create(entity, initial_state="Open", data={})
        return entity

    async def enrich(self, entity: str, spec: dict[str, Any], **payload: Any) -> Any:
        return await self.accounts.dispatch(
            entity,
            {
                "type": "Exec",
                "payload": {
                    "workflow_name": "HostEnricher",
                    "spec": spec,
                    "timeout": 30,
                    **payload,
                },
            },
        )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def env(temporal_dev_server: DevServer) -> AsyncIterator[Env]:
    queue = unique_task_queue("hook-host")
    async with hook_client(temporal_dev_server.target, [queue], account_router) as client:
        yield Env(client, queue)


def _note(text: str) -> dict[str, Any]:
    return {"type": "Note", "payload": {"text": text}}


async def test_hook_reads_the_host_changes_it_through_the_router_and_the_handler_sees_it(
    env: Env,
) -> None:
    entity = await env.new_account()
    result = await env.enrich(entity, {"commands": [_note("from-hook")]})
    assert result.ok, result.error

    [answer] = ok_data(result).answers
    # The hook read the committed host while the handler was waiting ...
    assert answer["before"]["state"] == "Open"
    assert answer["before"]["data"]["notes"] == []
    assert answer["before"]["version"] == 1
    # ... changed it by a command the host's router ran ...
    [reply] = answer["replies"]
    assert reply["ok"] is True
    assert reply["snapshot"]["data"]["notes"] == ["from-hook"]
    assert answer["after"]["data"]["notes"] == ["from-hook"]
    assert answer["after"]["version"] == 2
    # ... and the handler, woken by the answer, continued from the changed state.
    assert ok_data(result).seen_at_wake == [["from-hook"]]
    assert ok_data(result).notes == ["from-hook"]
    assert (await env.accounts.get(entity)).version == 3

    # Middleware and lifecycle hooks ran for the hook's command, inside the Exec dispatch.
    assert RECORD[entity] == [
        "middleware:Exec",
        "middleware:Note",
        "dispatch:end:Note:ok",
        "dispatch:end:Exec:ok",
    ]


async def test_commands_from_hooks_are_validated_like_any_other(env: Env) -> None:
    entity = await env.new_account()
    commands = [
        {"type": "Note", "payload": {}},  # invalid payload
        {"type": "Teleport", "payload": {}},  # unknown command
        _note("valid"),
    ]
    result = await env.enrich(entity, {"commands": commands})
    assert result.ok, result.error
    [answer] = ok_data(result).answers
    invalid, unknown, valid = answer["replies"]
    assert invalid["ok"] is False
    assert invalid["error"]["category"] == "validation"
    assert invalid["error"]["source"] == "command"
    assert unknown["ok"] is False
    assert unknown["error"]["category"] == "router"
    assert unknown["error"]["code"] == "UNKNOWN_COMMAND"
    assert valid["ok"] is True
    assert ok_data(result).notes == ["valid"]
    # Rejected commands never reached the router's middleware.
    assert RECORD[entity] == [
        "middleware:Exec",
        "middleware:Note",
        "dispatch:end:Note:ok",
        "dispatch:end:Exec:ok",
    ]


async def test_several_hook_commands_apply_in_order_while_the_handler_waits(env: Env) -> None:
    entity = await env.new_account()
    result = await env.enrich(entity, {"commands": [_note("one"), _note("two"), _note("three")]})
    assert result.ok, result.error
    [answer] = ok_data(result).answers
    assert [r["snapshot"]["version"] for r in answer["replies"]] == [2, 3, 4]
    assert ok_data(result).seen_at_wake == [["one", "two", "three"]]
    assert (await env.accounts.get(entity)).version == 5


async def test_a_handler_with_changes_before_the_wait_fails_if_the_host_changed(
    env: Env,
) -> None:
    entity = await env.new_account()
    result = await env.enrich(entity, {"commands": [_note("from-hook")]}, note_before="mine")
    _, message = unexpected(result)
    assert "changed while this dispatch was waiting" in message
    # The hook's command stands; the handler's provisional change was not applied.
    snapshot = await env.accounts.get(entity)
    assert snapshot.data.notes == ["from-hook"]
    assert snapshot.version == 2


async def test_a_handler_with_changes_keeps_them_if_the_host_did_not_change(env: Env) -> None:
    entity = await env.new_account()
    result = await env.enrich(entity, {"commands": []}, note_before="mine")
    assert result.ok, result.error
    assert ok_data(result).notes == ["mine"]


async def test_a_hook_started_from_outside_changes_its_host_through_the_router(env: Env) -> None:
    entity = await env.new_account()
    hook_id = await env.accounts.hook(
        entity,
        task_queue=env.task_queue,
        workflow_name="HostEnricher",
        args=[{"commands": [_note("outside")]}],
    )
    await started_result(env.client, hook_id)
    snapshot = await env.accounts.get(entity)
    assert snapshot.data.notes == ["outside"]
    assert RECORD[entity] == ["middleware:Note", "dispatch:end:Note:ok"]


async def test_a_hook_run_by_another_entity_uses_that_host_and_answers_the_asker(
    env: Env,
) -> None:
    host = await env.new_account("host")
    asker = await env.new_account("asker")
    result = await env.enrich(asker, {"commands": [_note("hosted")]}, workflow_id=host)
    assert result.ok, result.error
    [answer] = ok_data(result).answers
    assert answer["before"]["id"] == host
    assert ok_data(result).notes == []  # the asker was not changed
    assert ok_data(result).seen_at_wake == [[]]

    async def host_noted() -> bool:
        notes: list[str] = (await env.accounts.get(host)).data.notes
        return notes == ["hosted"]

    await eventually(host_noted)
    assert RECORD[host] == ["middleware:Note", "dispatch:end:Note:ok"]
